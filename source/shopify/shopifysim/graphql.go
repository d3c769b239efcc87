package shopifysim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// request is a GraphQL-over-HTTP body.
type request struct {
	Query         string                     `json:"query"`
	OperationName string                     `json:"operationName"`
	Variables     map[string]json.RawMessage `json:"variables"`
}

// gqlError is one member of a GraphQL answer's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// userError is CustomerEmailMarketingConsentUpdateUserError or
// CustomerSmsMarketingConsentError: {field, message, code}.
type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// rootField finds the operation's first field: the mutation it runs.
var rootField = regexp.MustCompile(`^\s*(?:#[^\n]*\n\s*)*mutation\b[^{]*\{\s*([A-Za-z_][A-Za-z0-9_]*)`)

// rootOf returns the operation's first field, or "".
func rootOf(query string) string {
	if m := rootField.FindStringSubmatch(query); m != nil {
		return m[1]
	}
	return ""
}

// operationOf returns the first field of a request body's query, or "".
func operationOf(body []byte) string {
	var req request
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	return rootOf(req.Query)
}

// mutation is one of the two consent mutations.
type mutation struct {
	inputType string // the input's type, for errors
	key       string // the consent's key in the input
	sms       bool
}

var mutations = map[string]mutation{
	"customerEmailMarketingConsentUpdate": {"CustomerEmailMarketingConsentUpdateInput", "emailMarketingConsent", false},
	"customerSmsMarketingConsentUpdate":   {"CustomerSmsMarketingConsentUpdateInput", "smsMarketingConsent", true},
}

var (
	customerGID    = regexp.MustCompile(`^gid://shopify/Customer/([0-9]+)$`)
	emailStates    = []string{"INVALID", "NOT_SUBSCRIBED", "PENDING", "REDACTED", "SUBSCRIBED", "UNSUBSCRIBED"}
	smsStates      = []string{"NOT_SUBSCRIBED", "PENDING", "REDACTED", "SUBSCRIBED", "UNSUBSCRIBED"}
	settableStates = []string{"SUBSCRIBED", "UNSUBSCRIBED", "PENDING"} // the others are "read-only or internally-set"
	optInLevels    = []string{"CONFIRMED_OPT_IN", "SINGLE_OPT_IN", "UNKNOWN"}
)

// serveGraphQL answers a request that passed the HTTP checks.
func (s *Server) serveGraphQL(w http.ResponseWriter, body []byte, invalid error, base string) {
	var req request
	if json.Unmarshal(body, &req) != nil || strings.TrimSpace(req.Query) == "" {
		writeHTTPError(w, http.StatusBadRequest, 0)
		return
	}
	if invalid != nil {
		s.answerError(w, gqlError{Message: invalid.Error()})
		return
	}
	op := rootOf(req.Query)
	mu, ok := mutations[op]
	if !ok && s.serveOperation(w, req, base) {
		return
	}
	if !ok {
		msg := "shopifysim answers only the operations its package documents"
		ext := map[string]any{"code": "undefinedField", "typeName": "Mutation", "fieldName": op}
		if op != "" {
			msg = fmt.Sprintf("Field '%s' doesn't exist on type 'Mutation'", op)
		}
		s.answerError(w, gqlError{Message: msg, Extensions: ext})
		return
	}

	s.mu.Lock()
	now := s.now()
	cost := s.mutationCost
	if !s.bucket.spend(cost, now) {
		ext := s.bucket.cost(cost, nil)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"errors": []gqlError{{Message: "Throttled", Extensions: map[string]any{
				"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": ext},
		})
		return
	}
	payload, gerr := s.apply(mu, req.Variables["input"], now)
	ext := s.bucket.cost(cost, &cost)
	s.mu.Unlock()
	if gerr != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{*gerr}, "extensions": map[string]any{"cost": ext}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{op: payload},
		"extensions": map[string]any{"cost": ext},
	})
}

// answerError answers a request that does not run, with its cost.
func (s *Server) answerError(w http.ResponseWriter, e gqlError) {
	s.mu.Lock()
	s.bucket.refill(s.now())
	ext := s.bucket.cost(0, new(float64))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{e}, "extensions": map[string]any{"cost": ext}})
}

// apply runs a consent mutation on variables.input; s.mu is held. A
// value the input's type does not allow is a GraphQL error, as Shopify's
// variable coercion answers it; what the mutation itself refuses is a
// userError.
func (s *Server) apply(mu mutation, raw json.RawMessage, now time.Time) (map[string]any, *gqlError) {
	bad := func(format string, args ...any) *gqlError {
		return &gqlError{Message: fmt.Sprintf("Variable $input of type %s! was provided invalid value: ", mu.inputType) + fmt.Sprintf(format, args...),
			Extensions: map[string]any{"code": "INVALID_VARIABLE"}}
	}
	var in map[string]json.RawMessage
	if err := strictObject(raw, &in); err != nil || in == nil {
		return nil, bad("expected an object")
	}
	for k := range in {
		if k != "customerId" && k != mu.key {
			return nil, bad("%s (Field is not defined on %s)", k, mu.inputType)
		}
	}
	var gid string
	if json.Unmarshal(in["customerId"], &gid) != nil || gid == "" {
		return nil, bad("customerId (Expected value to not be null)")
	}
	m := customerGID.FindStringSubmatch(gid)
	if m == nil {
		return nil, &gqlError{Message: fmt.Sprintf("Invalid global id '%s'", gid), Extensions: map[string]any{"code": "INVALID_VARIABLE"}}
	}
	var c struct {
		MarketingState      *string `json:"marketingState"`
		MarketingOptInLevel *string `json:"marketingOptInLevel"`
		ConsentUpdatedAt    *string `json:"consentUpdatedAt"`
	}
	if _, ok := in[mu.key]; !ok {
		return nil, bad("%s (Expected value to not be null)", mu.key)
	}
	if err := strictObject(in[mu.key], &c); err != nil {
		return nil, bad("%s (%v)", mu.key, err)
	}
	states := emailStates
	if mu.sms {
		states = smsStates
	}
	switch {
	case c.MarketingState == nil:
		return nil, bad("%s.marketingState (Expected value to not be null)", mu.key)
	case !slices.Contains(states, *c.MarketingState):
		return nil, bad("%s.marketingState (Expected %q to be one of: %s)", mu.key, *c.MarketingState, strings.Join(states, ", "))
	case c.MarketingOptInLevel != nil && !slices.Contains(optInLevels, *c.MarketingOptInLevel):
		return nil, bad("%s.marketingOptInLevel (Expected %q to be one of: %s)", mu.key, *c.MarketingOptInLevel, strings.Join(optInLevels, ", "))
	}
	at := now
	if c.ConsentUpdatedAt != nil {
		t, err := time.Parse(time.RFC3339, *c.ConsentUpdatedAt)
		if err != nil {
			return nil, bad("%s.consentUpdatedAt (%q is not a valid DateTime)", mu.key, *c.ConsentUpdatedAt)
		}
		at = t.UTC()
	}

	fail := func(ue userError) (map[string]any, *gqlError) {
		return map[string]any{"customer": nil, "userErrors": []userError{ue}}, nil
	}
	cu := s.customers[m[1]]
	if cu == nil {
		return fail(userError{Field: []string{"customerId"}, Message: "Customer not found", Code: "INVALID"})
	}
	consent := &cu.EmailConsent
	if mu.sms {
		consent = &cu.SMSConsent
	}
	if *consent == nil {
		what := "an email address to update email marketing consent"
		if mu.sms {
			what = "a phone number to update SMS marketing consent"
		}
		return fail(userError{Field: []string{mu.key}, Message: "Customer must have " + what, Code: "INVALID"})
	}
	if !slices.Contains(settableStates, *c.MarketingState) {
		return fail(userError{Field: []string{mu.key, "marketingState"},
			Message: "Marketing state is not included in the list", Code: "INCLUSION"})
	}
	next := **consent
	next.MarketingState, next.ConsentUpdatedAt = *c.MarketingState, at
	if c.MarketingOptInLevel != nil {
		next.MarketingOptInLevel = *c.MarketingOptInLevel
	}
	*consent = &next
	cu.UpdatedAt = now.UTC().Truncate(time.Second)
	if mu.sms {
		cu.SMSWrites++
	} else {
		cu.EmailWrites++
	}
	return map[string]any{"customer": customerJSON(cu), "userErrors": []userError{}}, nil
}

// customerJSON is the Customer the payload returns, with every field the
// client may select.
func customerJSON(c *Customer) map[string]any {
	consent := func(k *Consent) any {
		if k == nil {
			return nil
		}
		var at any
		if !k.ConsentUpdatedAt.IsZero() {
			at = k.ConsentUpdatedAt.Format(time.RFC3339)
		}
		return map[string]any{"marketingState": k.MarketingState, "marketingOptInLevel": k.MarketingOptInLevel,
			"consentUpdatedAt": at}
	}
	return map[string]any{
		"id":                    "gid://shopify/Customer/" + c.ID,
		"emailMarketingConsent": consent(c.EmailConsent),
		"smsMarketingConsent":   consent(c.SMSConsent),
	}
}

// strictObject decodes a JSON object refusing unknown keys.
func strictObject(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
