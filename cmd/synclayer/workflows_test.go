package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/store"
)

// loadExample reads examples/<name>.yaml through the real config loader
// and returns its rules.
func loadExample(t *testing.T, name string) []*WorkflowConfig {
	t.Helper()
	cfg, err := LoadConfig(filepath.Join("..", "..", "examples", name+".yaml"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Workflows) == 0 || cfg.workflows == nil {
		t.Fatalf("examples/%s.yaml holds no compiled workflow", name)
	}
	return cfg.Workflows
}

func withWorkflows(ws []*WorkflowConfig) envOption {
	return func(c *Config) { c.Workflows = ws }
}

// activity posts a signed custom-source activity event.
func (e *env) activity(name string, data map[string]any) {
	e.t.Helper()
	now := time.Now()
	body := mustMarshal(map[string]any{"event": name, "timestamp": now.UTC().Format(time.RFC3339), "data": data})
	e.mustAccept(e.custom(body, fmt.Sprintf("msg_wf_%d", e.n.Add(1)), now))
}

// ok returns the requests the receiver answered with 200.
func (r *receiver) ok() []received {
	var out []received
	for _, x := range r.received() {
		if x.status == http.StatusOK {
			out = append(out, x)
		}
	}
	return out
}

func slackText(t *testing.T, r received) string {
	t.Helper()
	var m struct{ Text string }
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("Slack body %s: %v", r.body, err)
	}
	return m.Text
}

// brevoClient talks to the env's simulator as the server does.
func (e *env) brevoClient() *brevo.Client {
	return brevo.New(brevo.Config{APIKey: setting(e.m.Config, "brevo", "api_key"), BaseURL: setting(e.m.Config, "brevo", "base_url")})
}

// TestWorkflows_HighValueOrder drives examples/high-value-order.yaml: an
// order's creation delivered three times with one webhook id, and three
// more times as other deliveries, posts one Slack message naming the
// order, the buyer and the owner; a small order posts none; and the
// Slack URL, a secret, is in no log line.
func TestWorkflows_HighValueOrder(t *testing.T) {
	hook := newReceiver(t, 0)
	t.Setenv("SLACK_WEBHOOK_URL", hook.URL+"/services/T0/B0/secret-token")
	e := startEnv(t, brevosim.Options{}, withCommerce(), withWorkflows(loadExample(t, "high-value-order")))
	order := mustMarshal(shopifyOrder(1001, 501, "ann@example.com", 1, "600.00"))
	for range 3 {
		e.mustAccept(e.post("/webhooks/shopify", order, shopifyHeaders("orders/create", "wh-same", order, shopifySecret)))
	}
	for range 3 {
		e.mustAccept(e.shopify("orders/create", shopifyOrder(1001, 501, "ann@example.com", 1, "600.00")))
	}
	e.mustAccept(e.shopify("orders/create", shopifyOrder(1002, 501, "ann@example.com", 1, "499.99")))
	e.waitIdle(15 * time.Second)
	got := hook.received()
	if len(got) != 1 {
		t.Fatalf("Slack messages: %d, want 1 for one high-value order delivered six times", len(got))
	}
	if text := slackText(t, got[0]); !contains(text, "shopify:1001", "600.00 USD", "ann@example.com", "ops@example.com") {
		t.Errorf("Slack text %q must name the order, amount, buyer and owner", text)
	}
	if strings.Contains(e.logs.String(), "secret-token") {
		t.Errorf("the Slack webhook URL appears in the log")
	}
}

// TestWorkflows_SlackRecovers: a Slack webhook that fails twice gets the
// message once it answers, exactly once, and the same message each time.
func TestWorkflows_SlackRecovers(t *testing.T) {
	hook := newReceiver(t, 2)
	t.Setenv("SLACK_WEBHOOK_URL", hook.URL)
	e := startEnv(t, brevosim.Options{}, withCommerce(), withWorkflows(loadExample(t, "high-value-order")))
	e.mustAccept(e.shopify("orders/create", shopifyOrder(2001, 502, "bo@example.com", 1, "750.00")))
	hook.waitFor(t, 3)
	e.waitIdle(15 * time.Second)
	got := hook.received()
	if len(got) != 3 || len(hook.ok()) != 1 {
		t.Fatalf("Slack requests %d (%d answered 200), want 2 failures and 1 delivery", len(got), len(hook.ok()))
	}
	if string(got[0].body) != string(got[2].body) {
		t.Errorf("the retry's message differs:\n%s\n%s", got[0].body, got[2].body)
	}
}

// TestWorkflows_RestartAndReplay: an action whose Slack post keeps
// failing survives a restart and is posted once after it; a replay of
// its job from the dead-letter queue then posts nothing more.
func TestWorkflows_RestartAndReplay(t *testing.T) {
	hook := newReceiver(t, 1_000_000)
	t.Setenv("SLACK_WEBHOOK_URL", hook.URL)
	db := filepath.Join(t.TempDir(), "synclayer.db")
	opts := []envOption{withSQLite(db), withCommerce(), withWorkflows(loadExample(t, "high-value-order"))}
	e := startEnv(t, brevosim.Options{}, opts...)
	e.mustAccept(e.shopify("orders/create", shopifyOrder(3001, 503, "cy@example.com", 1, "900.00")))
	hook.waitFor(t, 1)
	e.m.Close() // mid-run: the action has failed once and waits for its retry

	hook.mu.Lock()
	hook.fail = 0
	hook.mu.Unlock()
	again := startEnv(t, brevosim.Options{}, opts...)
	deadline := time.Now().Add(20 * time.Second)
	for len(hook.ok()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	again.waitIdle(15 * time.Second)
	if n := len(hook.ok()); n != 1 {
		t.Fatalf("Slack messages after the restart: %d, want 1", n)
	}
	ctx := context.Background()
	rows, err := again.m.DB.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: "high-value-order"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("action rows %v (%v), want 1", rows, err)
	}
	again.m.Close()

	// Dead-letter a job for the delivered row, as a crash after Slack's
	// answer followed by a failure would, then replay it.
	s, err := store.Open(ctx, "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	key := strconv.FormatInt(rows[0].ID, 10)
	if err := s.Tx(ctx, func(tx synclayer.Tx) error {
		return tx.EnqueueJob(ctx, synclayer.WorkflowSkill, "slack", key, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, synclayer.WorkflowSkill, 10, time.Minute, time.Now())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claimed %v (%v)", jobs, err)
	}
	if err := s.DeadJob(ctx, jobs[0], "simulated failure", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	third := startEnv(t, brevosim.Options{}, opts...)
	if err := third.m.DB.RequeueDeadJob(ctx, jobs[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	third.m.wake("")
	third.waitIdle(15 * time.Second)
	if n := len(hook.ok()); n != 1 {
		t.Errorf("Slack messages after the replay: %d, want still 1", n)
	}
	if dead, _ := third.m.DB.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead}); len(dead) != 0 {
		t.Errorf("dead jobs after the replay: %d, want 0", len(dead))
	}
}

// TestExample_FirstPurchase: the first order tags the contact
// FIRST_PURCHASE, next to its Shopify tags, and starts the welcome flow
// with one Brevo event; the second order does neither, and a later
// Shopify tags update keeps the workflow's tag.
func TestExample_FirstPurchase(t *testing.T) {
	e := startEnv(t, brevosim.Options{}, withCommerce(), withWorkflows(loadExample(t, "first-purchase")))
	e.subscribe(601, "dee@example.com")
	e.waitIdle(10 * time.Second)
	e.mustAccept(e.shopify("orders/create", shopifyOrder(4001, 601, "dee@example.com", 1, "120.00")))
	e.waitIdle(15 * time.Second)
	c := e.contact("dee@example.com")
	if tags, _ := c.Attributes["TAGS"].(string); !contains(tags, "vip", "FIRST_PURCHASE") {
		t.Errorf("TAGS %q, want the Shopify tags and FIRST_PURCHASE", tags)
	}
	events := e.sim.EventsNamed("first_purchase")
	if len(events) != 1 {
		t.Fatalf("first_purchase events %+v, want 1", events)
	}
	ev := events[0]
	if ev.Identifiers["ext_id"] != c.ExtID || ev.Identifiers["email_id"] != "dee@example.com" ||
		ev.Properties["order_id"] != "shopify:4001" || ev.Properties["total"] != "120.00" || ev.Properties["currency"] != "USD" {
		t.Errorf("first_purchase event %+v", ev)
	}

	e.mustAccept(e.shopify("orders/create", shopifyOrder(4002, 601, "dee@example.com", 2, "80.00")))
	retagged := shopifyCustomer(601, "dee@example.com", "C", 10, "subscribed", 0)
	retagged["tags"] = "gold-member"
	e.mustAccept(e.shopify("customers/update", retagged))
	e.waitIdle(15 * time.Second)
	if n := len(e.sim.EventsNamed("first_purchase")); n != 1 {
		t.Errorf("first_purchase events after a second order: %d, want 1", n)
	}
	if tags, _ := e.contact("dee@example.com").Attributes["TAGS"].(string); tags != "gold-member, FIRST_PURCHASE" {
		t.Errorf("TAGS after Shopify replaced its tags: %q, want \"gold-member, FIRST_PURCHASE\"", tags)
	}
}

// TestExample_ChurnRisk: a ticket that mentions cancelling sets
// CHURN_RISK, takes the contact out of the upsell list 7 (not out of
// customer-sync's list 5), and tells the owner through one signed
// webhook, however often the ticket is delivered; a ticket that does not
// mention it does nothing.
func TestExample_ChurnRisk(t *testing.T) {
	hook := newReceiver(t, 0)
	t.Setenv("CHURN_WEBHOOK_URL", hook.URL)
	t.Setenv("CHURN_WEBHOOK_SECRET", notifySecret)
	e := startEnv(t, brevosim.Options{}, withWorkflows(loadExample(t, "churn-risk")))
	e.subscribe(701, "eve@example.com")
	e.waitIdle(10 * time.Second)
	c := e.contact("eve@example.com")
	if err := e.brevoClient().UpdateContact(context.Background(), c.ExtID, brevo.IdentifierExtID, brevo.UpdateContactRequest{ListIDs: []int64{7}}); err != nil {
		t.Fatal(err)
	}
	e.activity("ticket_created", map[string]any{"id": "T-9", "email": "Eve@Example.com", "subject": "Plan", "text": "Please CANCEL my subscription"})
	e.activity("ticket_created", map[string]any{"id": "T-9", "email": "Eve@Example.com", "subject": "Plan", "text": "Please CANCEL my subscription"})
	e.activity("ticket_created", map[string]any{"id": "T-10", "email": "eve@example.com", "subject": "Thanks", "text": "All good"})
	e.waitIdle(15 * time.Second)

	c = e.contact("eve@example.com")
	if c.Attributes["CHURN_RISK"] != true {
		t.Errorf("CHURN_RISK = %v, want true", c.Attributes["CHURN_RISK"])
	}
	if hasList(c, 7) || !hasList(c, 5) {
		t.Errorf("lists %v, want out of 7 and still in 5", c.ListIDs)
	}
	got := hook.received()
	if len(got) != 1 {
		t.Fatalf("webhooks %d, want 1", len(got))
	}
	wh, _ := standardwebhooks.NewWebhook(notifySecret)
	if err := wh.Verify(got[0].body, got[0].header); err != nil {
		t.Errorf("the webhook does not verify: %v", err)
	}
	var body struct {
		Type string
		Data struct {
			Rule, Owner string
			Trigger     struct{ Type, Key, ContactID string }
			View        struct {
				Ticket  map[string]any
				Contact map[string]any
			}
		}
	}
	_ = json.Unmarshal(got[0].body, &body)
	if body.Type != "workflow.action" || body.Data.Rule != "churn-risk" || body.Data.Owner != "support@example.com" ||
		body.Data.Trigger.Key != "custom:T-9" || body.Data.View.Ticket["text"] != "Please CANCEL my subscription" || body.Data.View.Contact["email"] != "eve@example.com" {
		t.Errorf("webhook body %s", got[0].body)
	}
	if id := got[0].header.Get("webhook-id"); !strings.HasPrefix(id, "wf_") {
		t.Errorf("webhook-id %q", id)
	}
}

// TestExample_LoyaltyTier: a tier joined updates CUSTOMER_TIER and sends
// one Brevo event with the tier; the same tier told again sends nothing.
func TestExample_LoyaltyTier(t *testing.T) {
	e := startEnv(t, brevosim.Options{}, withWorkflows(loadExample(t, "loyalty-tier")))
	e.subscribe(801, "fay@example.com")
	e.waitIdle(10 * time.Second)
	e.activity("loyalty_tier_changed", map[string]any{"email": "fay@example.com", "tier": "gold", "points": 1200})
	e.waitIdle(15 * time.Second)
	e.activity("loyalty_tier_changed", map[string]any{"email": "fay@example.com", "tier": "gold", "points": 1300})
	e.waitIdle(15 * time.Second)
	c := e.contact("fay@example.com")
	if c.Attributes["CUSTOMER_TIER"] != "gold" {
		t.Errorf("CUSTOMER_TIER = %v, want gold", c.Attributes["CUSTOMER_TIER"])
	}
	events := e.sim.EventsNamed("loyalty_tier_joined")
	if len(events) != 1 || events[0].Properties["tier"] != "gold" || events[0].Properties["previous_tier"] != "" || events[0].Identifiers["ext_id"] != c.ExtID {
		t.Errorf("loyalty_tier_joined events %+v, want one for gold", events)
	}
}

// TestConfig_Workflows: mistakes name the rule, the field and the line,
// and a filter's the position in the expression; secrets stay out of
// errors and out of the stored config.
func TestConfig_Workflows(t *testing.T) {
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/very-secret")
	doc := `workflows:
  - name: high-value-order
    trigger: order_created
    filter: 'order.total >= 500 && ticket.text == "x"'
    actions:
      - slack: { webhook_url: "${SLACK_WEBHOOK_URL}", text: "{{ .order.id }}" }
  - name: typo
    trigger: order_placed
    actions:
      - slack: { webhook_url: "${SLACK_WEBHOOK_URL}", text: "{{ .order.id " }
      - add_tag: X
        add_to_list: 3
`
	_, err := ParseConfig([]byte(doc), "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"line 4: workflows[0] (high-value-order).filter: expression line 1, column 23: undeclared reference to 'ticket'",
		`line 8: workflows[1] (typo).trigger: unknown trigger "order_placed"`,
		"line 10: workflows[1] (typo).actions[0].slack.text: template",
		"workflows[1] (typo).actions[1]: sets 2 actions",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nmust contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "very-secret") {
		t.Errorf("the error holds the Slack URL")
	}

	good := strings.Replace(strings.Split(doc, "  - name: typo")[0], ` && ticket.text == "x"`, "", 1)
	cfg, err := ParseConfig([]byte(good), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workflows[0].Actions[0].Slack.WebhookURL != "https://hooks.slack.com/services/T0/B0/very-secret" {
		t.Errorf("webhook_url not expanded")
	}
	stored, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "very-secret") || !strings.Contains(stored, "${SLACK_WEBHOOK_URL}") {
		t.Errorf("stored config keeps the secret or loses its reference:\n%s", stored)
	}
	if cfg.Workflows[0].Actions[0].Slack.WebhookURL != "https://hooks.slack.com/services/T0/B0/very-secret" {
		t.Errorf("versionYAML changed the running config")
	}
}

// TestWorkflows_Postgres runs the high-value order on PostgreSQL: one
// Slack message for an order delivered twice.
func TestWorkflows_Postgres(t *testing.T) {
	hook := newReceiver(t, 0)
	t.Setenv("SLACK_WEBHOOK_URL", hook.URL)
	e := startEnv(t, brevosim.Options{}, withPostgres(t), withCommerce(), withWorkflows(loadExample(t, "high-value-order")))
	order := mustMarshal(shopifyOrder(5001, 901, "pg@example.com", 1, "1500.00"))
	for range 2 {
		e.mustAccept(e.post("/webhooks/shopify", order, shopifyHeaders("orders/create", "wh-pg", order, shopifySecret)))
	}
	e.waitIdle(15 * time.Second)
	if got := hook.received(); len(got) != 1 || !strings.Contains(slackText(t, got[0]), "shopify:5001") {
		t.Fatalf("Slack messages %d, want 1 naming the order", len(got))
	}
}
