package workflow_test

import (
	"errors"
	"strings"
	"testing"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/workflow"
)

func slackAction(text string) workflow.Action {
	return workflow.Action{Kind: workflow.KindSlack, WebhookURL: "https://hooks.slack.test/T0/B0/x", Text: text}
}

func compileOne(t *testing.T, trigger synclayer.EventType, filter string) error {
	t.Helper()
	_, err := workflow.Compile([]workflow.Rule{{Name: "r", Trigger: trigger, Filter: filter, Actions: []workflow.Action{slackAction("hi")}}}, channels)
	return err
}

func problems(t *testing.T, err error) workflow.Problems {
	t.Helper()
	var ps workflow.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v is not workflow.Problems", err)
	}
	return ps
}

// TestCompile_Filter: the filters compile, and each trigger's
// filter sees only its own noun.
func TestCompile_Filter(t *testing.T) {
	for _, tt := range []struct {
		trigger synclayer.EventType
		filter  string
	}{
		{synclayer.EventOrderCreated, "order.total >= 500.0"},
		{synclayer.EventOrderCreated, "order.total >= 500"},
		{synclayer.EventOrderCreated, "contact.orders == 1"},
		{synclayer.EventOrderRefunded, "order.refund.amount > 10 && contact.marketable"},
		{synclayer.EventTicketCreated, `ticket.text.contains("cancel")`},
		{synclayer.EventTicketCreated, `ticket.text.lowerAscii().contains("cancel") || ticket.subject.matches("(?i)cancel")`},
		{synclayer.EventLoyaltyTierChanged, `loyalty.tier in ["gold", "platinum"]`},
		{synclayer.EventFormSubmitted, `form.form == "newsletter" && event.source == "custom"`},
		{synclayer.EventContactCreated, `"vip" in contact.tags`},
		{synclayer.EventConsentChanged, `consent.email == "unsubscribed"`},
		{synclayer.EventCartAbandoned, `cart.total > 100`},
		{synclayer.EventOrderCreated, ""},
	} {
		if err := compileOne(t, tt.trigger, tt.filter); err != nil {
			t.Errorf("%s %q: %v", tt.trigger, tt.filter, err)
		}
	}
}

// TestCompile_Errors: every mistake is reported with the rule's index,
// name and field, and a filter's with its position.
func TestCompile_Errors(t *testing.T) {
	for _, tt := range []struct {
		name      string
		rule      workflow.Rule
		field     string
		line, col int
		msg       string
	}{
		{"OtherTriggersNoun", workflow.Rule{Trigger: synclayer.EventOrderCreated, Filter: "order.total > 5 && ticket.text == \"x\""},
			"filter", 1, 20, "undeclared reference to 'ticket'"},
		{"SecondLine", workflow.Rule{Trigger: synclayer.EventOrderCreated, Filter: "order.total > 5 &&\n  contact.ordrs == 1 && nope"},
			"filter", 2, 25, "undeclared reference to 'nope'"},
		{"Syntax", workflow.Rule{Trigger: synclayer.EventTicketCreated, Filter: `ticket.text.contains("cancel"`}, "filter", 1, 0, "Syntax error"},
		{"NotACondition", workflow.Rule{Trigger: synclayer.EventOrderCreated, Filter: `"yes"`}, "filter", 1, 1, "not a condition"},
		{"UnknownTrigger", workflow.Rule{Trigger: "order_placed"}, "trigger", 0, 0, `unknown trigger "order_placed"`},
		{"NoTrigger", workflow.Rule{}, "trigger", 0, 0, "is required"},
		{"BadTemplate", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{slackAction("{{ .order.id ")}},
			"actions[0].slack.text", 0, 0, "template"},
		{"SlackURL", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{Kind: workflow.KindSlack, Text: "x"}}},
			"actions[0].slack.webhook_url", 0, 0, "SLACK_WEBHOOK_URL"},
		{"WebhookSecret", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{Kind: workflow.KindWebhook, URL: "https://example.test/h", Secret: "plain"}}},
			"actions[0].webhook.secret", 0, 0, "whsec_"},
		{"EventName", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{Kind: workflow.KindBrevoEvent, Name: "first purchase"}}, Checks: brevoChecks},
			"actions[0].brevo_event.name", 0, 0, "letters, digits"},
		{"Attribute", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{Kind: workflow.KindSetAttribute, Attributes: map[string]any{"churn": true}}}, Checks: brevoChecks},
			"actions[0].set_attribute.churn", 0, 0, "upper-case"},
		{"BrevoListIsANumber", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{Kind: workflow.KindAddToList, List: "Xy12Ab"}}, Checks: brevoChecks},
			"actions[0].add_to_list", 0, 0, "Brevo list ID"},
		{"List", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{Kind: workflow.KindAddToList}}},
			"actions[0].add_to_list", 0, 0, "list ID"},
		{"NoAction", workflow.Rule{Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{{}}}, "actions[0]", 0, 0, "names no action"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.Name = "rule-" + strings.ToLower(tt.name)
			if r.Actions == nil {
				r.Actions = []workflow.Action{slackAction("hi")}
			}
			ok := workflow.Rule{Name: "fine", Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{slackAction("hi")}}
			_, err := workflow.Compile([]workflow.Rule{ok, r}, channels)
			ps := problems(t, err)
			if len(ps) == 0 {
				t.Fatal("no problem reported")
			}
			p := ps[0]
			if p.Rule != 1 || p.Name != r.Name || p.Field != tt.field || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem %+v, want rule 1 (%s) field %s with %q", p, r.Name, tt.field, tt.msg)
			}
			if tt.line > 0 && (p.Line != tt.line || tt.col > 0 && p.Column != tt.col) {
				t.Errorf("position line %d column %d, want line %d column %d", p.Line, p.Column, tt.line, tt.col)
			}
			if !strings.HasPrefix(p.Error(), "workflows[1] ("+r.Name+")."+tt.field+": ") {
				t.Errorf("Error() = %q does not name the rule and field", p.Error())
			}
		})
	}
}

func TestCompile_DuplicateName(t *testing.T) {
	r := workflow.Rule{Name: "same", Trigger: synclayer.EventOrderCreated, Actions: []workflow.Action{slackAction("hi")}}
	ps := problems(t, func() error { _, err := workflow.Compile([]workflow.Rule{r, r}, channels); return err }())
	if len(ps) != 1 || ps[0].Rule != 1 || ps[0].Field != "name" {
		t.Errorf("problems %v, want one on workflows[1].name", ps)
	}
}

// FuzzCompile: whatever the filter, Compile never panics, and every
// filter problem names the rule and a position in the expression.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"order.total >= 500.0", `ticket.text.contains("cancel")`, "contact.orders == 1", "a.b.c(", "1 +", `"\u00e9" == x`,
		"order.items.exists(i, i.price > 10)", "[1,2,3].map(x, x * 2).size() > 2", "{'a': 1}['a'] == 1", "order.total /* */ > 1"} {
		f.Add(s, "order_created")
		f.Add(s, "ticket_created")
	}
	f.Fuzz(func(t *testing.T, filter, trigger string) {
		_, err := workflow.Compile([]workflow.Rule{{Name: "fuzz", Trigger: synclayer.EventType(trigger), Filter: filter,
			Actions: []workflow.Action{slackAction("{{ .contact.email }}")}}}, channels)
		if err == nil {
			return
		}
		var ps workflow.Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error %v is not workflow.Problems", err)
		}
		for _, p := range ps {
			if p.Rule != 0 || p.Name != "fuzz" || p.Field == "" || p.Message == "" {
				t.Fatalf("problem %+v does not name the rule and field", p)
			}
			if p.Field == "filter" && (p.Line < 1 || p.Column < 1) {
				t.Fatalf("filter problem %+v has no position", p)
			}
		}
	})
}

// brevoChecks is Brevo's check of contact actions, as cmd sets it on a
// rule whose actions act on Brevo.
var brevoChecks = map[string]func(synclayer.ActionCheck) error{"brevo": brevo.WithClient("brevo", nil).CheckAction}
