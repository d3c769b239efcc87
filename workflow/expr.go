package workflow

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"

	"synclayer"
)

// nouns names the variable each trigger's data is under; "" for triggers
// that carry nothing beyond the contact.
var nouns = map[synclayer.EventType]string{
	synclayer.EventOrderCreated:          "order",
	synclayer.EventOrderUpdated:          "order",
	synclayer.EventOrderCancelled:        "order",
	synclayer.EventOrderRefunded:         "order",
	synclayer.EventContactCreated:        "",
	synclayer.EventContactUpdated:        "",
	synclayer.EventConsentChanged:        "consent",
	synclayer.EventFieldConflict:         "conflict",
	synclayer.EventCartAbandoned:         "cart",
	synclayer.EventTicketCreated:         "ticket",
	synclayer.EventTicketUpdated:         "ticket",
	synclayer.EventTicketSolved:          "ticket",
	synclayer.EventSubscriptionStarted:   "subscription",
	synclayer.EventSubscriptionCancelled: "subscription",
	synclayer.EventPaymentFailed:         "payment",
	synclayer.EventLoyaltyTierChanged:    "loyalty",
	synclayer.EventFormSubmitted:         "form",
	synclayer.EventEmailUnsubscribed:     "email",
	synclayer.EventEmailBounced:          "email",
	synclayer.EventEmailComplained:       "email",
}

// Noun returns the variable a trigger's Data is under in filters and
// templates ("order", "ticket", ...), and false for a type that is no
// trigger.
func Noun(t synclayer.EventType) (string, bool) {
	n, ok := nouns[t]
	return n, ok
}

// Triggers lists the trigger types, for messages.
func Triggers() string {
	names := slices.Sorted(maps.Keys(nouns))
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// Variables returns the names a filter on trigger t may use.
func Variables(t synclayer.EventType) []string {
	vars := []string{"contact", "event"}
	if n := nouns[t]; n != "" {
		vars = append([]string{n}, vars...)
	}
	return vars
}

// maxFilterCost bounds one filter's evaluation, which runs inside an
// ingest transaction: far below a stall (about 10 ms of work), and far
// above what the inputs need. A webhook body is up to 1 MB, and CEL
// charges about 0.1 a character for each pass over a string, so the
// README's ticket.text.lowerAscii().contains("cancel") on a 1 MB ticket
// costs some 200,000: a lower bound would skip the rule on exactly the
// long complaint it was written for.
const maxFilterCost = 10_000_000

// maxFilterTime bounds one filter's evaluation in time as well, since
// the cost limit counts some work (a string's size(), a regex) as less
// than it takes on a long text; it is checked in comprehensions.
const maxFilterTime = 100 * time.Millisecond

// maxFilterLength bounds the expression's size.
const maxFilterLength = 4096

// newEnv declares only the variables trigger t has, so a filter naming
// another trigger's noun fails when the config loads. Numbers compare
// across int and double, since JSON has only one number type and
// "order.total >= 500" must hold for 500.0.
func newEnv(t synclayer.EventType) (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(maxFilterLength),
		cel.ParserRecursionLimit(100),
		ext.Strings(),
	}
	for _, v := range Variables(t) {
		opts = append(opts, cel.Variable(v, cel.MapType(cel.StringType, cel.DynType)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("build filter environment for %s: %w", t, err)
	}
	return env, nil
}

// compileFilter checks src and returns its program; nil for an empty
// filter, which matches every trigger. The problems carry the position
// in the expression, 1-based.
func compileFilter(env *cel.Env, src string) (cel.Program, []Problem) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var out []Problem
		for _, e := range iss.Errors() {
			line, col := 1, 1
			if e.Location != nil && e.Location.Line() > 0 {
				line, col = e.Location.Line(), e.Location.Column()+1
			}
			out = append(out, Problem{Field: "filter", Line: line, Column: col, Message: e.Message})
		}
		if len(out) == 0 {
			out = append(out, Problem{Field: "filter", Line: 1, Column: 1, Message: iss.Err().Error()})
		}
		return nil, out
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, []Problem{{Field: "filter", Line: 1, Column: 1,
			Message: fmt.Sprintf("the filter is a %s, not a condition; compare it, such as order.total >= 500", t)}}
	}
	prg, err := env.Program(ast, cel.CostLimit(maxFilterCost), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, []Problem{{Field: "filter", Line: 1, Column: 1, Message: err.Error()}}
	}
	return prg, nil
}

// match evaluates a filter over the view, within maxFilterCost and
// maxFilterTime. A runtime error (a key the trigger does not carry, a type
// mismatch, a limit) is returned for the trace.
func match(ctx context.Context, prg cel.Program, view map[string]any) (bool, error) {
	if prg == nil {
		return true, nil
	}
	// Not the caller's cancellation: a client hanging up mid-ingest must
	// not skip a rule in a transaction that may still commit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxFilterTime)
	defer cancel()
	out, _, err := prg.ContextEval(ctx, view)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the filter gave %v, not true or false", out.Value())
	}
	return b, nil
}
