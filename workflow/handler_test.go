package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
	"synclayer/store/storetest"
	"synclayer/workflow"
)

// slackHook is a local incoming webhook that records the messages posted.
type slackHook struct {
	*httptest.Server
	mu   sync.Mutex
	fail int // answer 500 to this many posts first
	// refuse, when set, answers 500 to the posts whose text it names.
	refuse func(text string) bool
	got    []string
}

func newSlackHook(t *testing.T) *slackHook {
	h := &slackHook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.fail > 0 || h.refuse != nil && h.refuse(m.Text) {
			h.fail = max(h.fail-1, 0)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		h.got = append(h.got, m.Text)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *slackHook) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

type fixture struct {
	t     *testing.T
	store synclayer.Store
	sim   *brevosim.Server
	brevo *brevo.Client
	slack *slackHook
	rules *workflow.Rules
	h     *workflow.Handler
}

func newFixture(t *testing.T, s synclayer.Store, rules ...workflow.Rule) *fixture {
	t.Helper()
	v := brevospec.Load(t)
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-test", Validate: v.Validate})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		for _, v := range sim.Violations() {
			t.Errorf("request violates Brevo's OpenAPI spec: %s", v)
		}
	})
	f := &fixture{t: t, store: s, sim: sim, brevo: brevo.New(brevo.Config{APIKey: "xkeysib-test", BaseURL: hs.URL + "/v3"}), slack: newSlackHook(t)}
	for i := range rules {
		for j := range rules[i].Actions {
			if rules[i].Actions[j].Kind == workflow.KindSlack {
				rules[i].Actions[j].WebhookURL = f.slack.URL
			}
		}
	}
	rs, err := workflow.Compile(rules, channels)
	if err != nil {
		t.Fatal(err)
	}
	f.rules = rs
	f.h = &workflow.Handler{Rules: rs, Store: s, Destinations: map[string]synclayer.ActionDestination{"brevo": brevo.WithClient("brevo", f.brevo)}, ContactQueues: map[string]string{"customer-sync": "brevo"}}
	return f
}

func (f *fixture) contact(email string, tags []string, subscribed bool) *synclayer.Contact {
	f.t.Helper()
	c := &synclayer.Contact{}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{"email": mustJSON(email), "firstName": mustJSON("Ann <b>")}}
	if tags != nil {
		ch.Fields["tags"] = mustJSON(tags)
	}
	if subscribed {
		ch.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentSubscribed}
	}
	synclayer.Merge(c, ch, synclayer.MergeContext{Source: "shopify", At: time.Now().Add(-time.Hour)})
	f.tx(func(tx synclayer.Tx) error { return tx.SaveContact(context.Background(), c) })
	return c
}

func (f *fixture) tx(fn func(synclayer.Tx) error) {
	f.t.Helper()
	if err := f.store.Tx(context.Background(), fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) fire(ts ...synclayer.Trigger) {
	f.t.Helper()
	f.tx(func(tx synclayer.Tx) error { return f.rules.Fire(context.Background(), tx, ts...) })
}

// run claims and handles every due workflow job once, completing,
// retrying or dead-lettering it as the queue does, and returns the errors.
func (f *fixture) run() []error {
	f.t.Helper()
	ctx := context.Background()
	now := time.Now()
	jobs, err := f.store.ClaimJobs(ctx, synclayer.WorkflowSkill, 100, time.Minute, now)
	if err != nil {
		f.t.Fatal(err)
	}
	var errs []error
	for _, j := range jobs {
		st, trace, err := f.h.Handle(ctx, j)
		switch {
		case err == nil:
			if trace != nil {
				trace.At = now
			}
			err = f.store.CompleteJob(ctx, j, st, trace, now)
		case isPermanent(err):
			errs = append(errs, err)
			err = f.store.DeadJob(ctx, j, err.Error(), nil, now)
		default:
			errs = append(errs, err)
			err = f.store.RetryJob(ctx, j, now, err.Error(), nil, now)
		}
		if err != nil {
			f.t.Fatal(err)
		}
	}
	return errs
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func orderTrigger(c *synclayer.Contact, id string, total float64) synclayer.Trigger {
	return synclayer.Trigger{Type: synclayer.EventOrderCreated, Key: "shopify:" + id, EventID: "ev_" + id, ContactID: c.ID, At: time.Now(), Source: "shopify",
		Data: map[string]any{"id": "shopify:" + id, "total": total, "currency": "EUR"}}
}

// TestRules_FireOncePerTrigger: a trigger fired three times records its
// action once and sends one Slack message; the values in it are escaped
// for Slack, the template's own markup is not; a rule whose filter does
// not hold, or fails, records nothing, and the failure is traced.
func TestRules_FireOncePerTrigger(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.OpenSQLite(t),
		workflow.Rule{Name: "high-value-order", Owner: "ops@example.com", Trigger: synclayer.EventOrderCreated, Filter: "order.total >= 500",
			Actions: []workflow.Action{{Kind: workflow.KindSlack, Text: "*Order {{ .order.id }}*: {{ .order.total }} {{ .order.currency }} from {{ .contact.firstName }}"}}},
		workflow.Rule{Name: "broken", Trigger: synclayer.EventOrderCreated, Filter: "order.discount > 5",
			Actions: []workflow.Action{{Kind: workflow.KindSlack, Text: "never"}}},
	)
	c := f.contact("ann@example.com", nil, true)
	for range 3 {
		f.fire(orderTrigger(c, "1001", 500.0), orderTrigger(c, "1002", 499.99))
	}
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := f.slack.messages()
	if want := []string{"*Order shopify:1001*: 500 EUR from Ann &lt;b&gt;"}; !slices.Equal(got, want) {
		t.Errorf("Slack messages %q, want %q", got, want)
	}
	rows, _ := f.store.FindWorkflowActions(context.Background(), synclayer.WorkflowActionFilter{})
	if len(rows) != 1 || rows[0].Rule != "high-value-order" || rows[0].TriggerKey != "shopify:1001" {
		t.Errorf("action rows %+v, want one for high-value-order and order 1001", rows)
	}
	trace, _ := f.store.Trace(context.Background(), c.ID)
	var failed int
	for _, e := range trace {
		if contains(e.Summary, "workflow broken skipped", "no such key") {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("trace has no line for the failing filter: %v", summaries(trace))
	}
}

// TestHandler_DoneMarker: once an action's done marker is committed, a
// replay of its job from the dead-letter queue completes without a call;
// a Slack webhook that fails is retried until it answers, and posts once.
func TestHandler_DoneMarker(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	f := newFixture(t, s, workflow.Rule{Name: "alert", Trigger: synclayer.EventOrderCreated,
		Actions: []workflow.Action{{Kind: workflow.KindSlack, Text: "order {{ .order.id }}"}}})
	f.slack.fail = 2
	c := f.contact("bob@example.com", nil, false)
	f.fire(orderTrigger(c, "7", 10))
	for i := 0; i < 3; i++ {
		f.run()
	}
	if got := f.slack.messages(); len(got) != 1 {
		t.Fatalf("Slack messages after two failures and a success: %q, want one", got)
	}
	ctx := context.Background()
	rows, _ := s.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{})
	key := strconv.FormatInt(rows[0].ID, 10)
	// The same row's job dead-lettered and replayed, as after a crash
	// between Slack's answer and a later failure, or by an operator.
	f.tx(func(tx synclayer.Tx) error {
		return tx.EnqueueJob(ctx, synclayer.WorkflowSkill, "slack", key, time.Now())
	})
	jobs, _ := s.ClaimJobs(ctx, synclayer.WorkflowSkill, 10, time.Minute, time.Now())
	if len(jobs) != 1 {
		t.Fatalf("claimed %d jobs, want 1", len(jobs))
	}
	if err := s.DeadJob(ctx, jobs[0], "operator test", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.RequeueDeadJob(ctx, jobs[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := f.slack.messages(); len(got) != 1 {
		t.Errorf("Slack messages after the replay: %q, want still one", got)
	}
}

// TestHandler_ContactActions runs every contact action against the Brevo
// simulator: attributes are created and set, a list is joined only with
// consent and left, the Brevo event names the contact both ways, and a
// tag joins the contact's own tags in the store and queues customer-sync.
func TestHandler_ContactActions(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	f := newFixture(t, s, workflow.Rule{Name: "churn-risk", Trigger: synclayer.EventTicketCreated, Filter: `ticket.text.contains("cancel")`,
		Actions: []workflow.Action{
			{Kind: workflow.KindSetAttribute, Attributes: map[string]any{"CHURN_RISK": true, "LAST_TICKET": "{{ .ticket.id }}"}},
			{Kind: workflow.KindRemoveFromList, ListID: 7},
			{Kind: workflow.KindAddToList, ListID: 9},
			{Kind: workflow.KindAddTag, Tag: "CHURN_RISK"},
			{Kind: workflow.KindBrevoEvent, Name: "churn_risk", Properties: map[string]any{"ticket": "{{ .ticket.id }}", "score": 3}},
		}})
	ctx := context.Background()
	yes := f.contact("yes@example.com", []string{"vip"}, true)
	no := f.contact("no@example.com", nil, false)
	for _, c := range []*synclayer.Contact{yes, no} {
		if _, err := f.brevo.CreateContact(ctx, brevo.CreateContactRequest{Email: c.Email, ExtID: c.ID, ListIDs: []int64{7}}); err != nil {
			t.Fatal(err)
		}
	}
	ticket := func(c *synclayer.Contact, id, text string) synclayer.Trigger {
		return synclayer.Trigger{Type: synclayer.EventTicketCreated, Key: "custom:" + id, EventID: "ev_" + id, ContactID: c.ID, At: time.Now(), Source: "custom",
			Data: map[string]any{"id": id, "text": text}}
	}
	f.fire(ticket(yes, "t1", "please cancel"), ticket(no, "t2", "I want to cancel"), ticket(no, "t3", "thanks!"))
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tt := range []struct {
		c     *synclayer.Contact
		lists []int64
	}{{yes, []int64{9}}, {no, nil}} {
		got, ok := f.sim.ContactByExtID(tt.c.ID)
		if !ok {
			t.Fatalf("no Brevo contact %s", tt.c.ID)
		}
		if got.Attributes["CHURN_RISK"] != true || got.Attributes["LAST_TICKET"] == nil {
			t.Errorf("%s attributes %v, want CHURN_RISK true and LAST_TICKET", tt.c.Email, got.Attributes)
		}
		if !slices.Equal(got.ListIDs, tt.lists) {
			t.Errorf("%s lists %v, want %v (removed from 7; 9 only with consent)", tt.c.Email, got.ListIDs, tt.lists)
		}
	}
	events := f.sim.EventsNamed("churn_risk")
	if len(events) != 2 {
		t.Fatalf("Brevo events %+v, want 2", events)
	}
	for _, e := range events {
		if e.Identifiers["email_id"] == "" || e.Identifiers["ext_id"] == "" || e.Properties["score"] == nil || e.Properties["ticket"] == "" {
			t.Errorf("event %+v must name the contact by email and ext_id, with its properties", e)
		}
	}
	held, _ := s.FindContactByID(ctx, yes.ID)
	if got := held.AllTags(); !slices.Equal(got, []string{"vip", "CHURN_RISK"}) {
		t.Errorf("tags %v, want the source's vip and the workflow's CHURN_RISK", got)
	}
	if jobs, _ := s.FindJobs(ctx, synclayer.JobFilter{Queue: "customer-sync", State: synclayer.JobPending}); len(jobs) != 2 {
		t.Errorf("customer-sync jobs %d, want one per tagged contact", len(jobs))
	}
}

// TestHandler_ContactNotInBrevoYet: an update for a contact customer-sync
// has not created yet is retried, not dropped.
func TestHandler_ContactNotInBrevoYet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.OpenSQLite(t), workflow.Rule{Name: "flag", Trigger: synclayer.EventOrderCreated,
		Actions: []workflow.Action{{Kind: workflow.KindSetAttribute, Attributes: map[string]any{"BIG_SPENDER": 1}}}})
	c := f.contact("late@example.com", nil, true)
	f.fire(orderTrigger(c, "9", 900))
	errs := f.run()
	if len(errs) != 1 || isPermanent(errs[0]) {
		t.Fatalf("errors %v, want one retry", errs)
	}
	if _, err := f.brevo.CreateContact(context.Background(), brevo.CreateContactRequest{Email: c.Email, ExtID: c.ID}); err != nil {
		t.Fatal(err)
	}
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, _ := f.sim.ContactByExtID(c.ID); got.Attributes["BIG_SPENDER"] != 1.0 {
		t.Errorf("attributes %v, want BIG_SPENDER 1", got.Attributes)
	}
}

func summaries(ts []*synclayer.TraceEntry) []string {
	var out []string
	for _, e := range ts {
		out = append(out, e.Summary)
	}
	return out
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func isPermanent(err error) bool {
	var p *synclayer.PermanentError
	return errors.As(err, &p)
}

// reconfigure compiles rules as a config reload would, for the pending
// rows the fixture's store holds, and runs them with a new Handler.
func (f *fixture) reconfigure(rules ...workflow.Rule) {
	f.t.Helper()
	for i := range rules {
		for j := range rules[i].Actions {
			if rules[i].Actions[j].Kind == workflow.KindSlack {
				rules[i].Actions[j].WebhookURL = f.slack.URL
			}
		}
	}
	rs, err := workflow.Compile(rules, channels)
	if err != nil {
		f.t.Fatal(err)
	}
	f.rules = rs
	f.h = &workflow.Handler{Rules: rs, Store: f.store, Destinations: map[string]synclayer.ActionDestination{"brevo": brevo.WithClient("brevo", f.brevo)}, ContactQueues: map[string]string{"customer-sync": "brevo"}}
}

// TestHandler_ActionsChangedBeforeRun: rows fired under one config and
// run under another find their own action by its fingerprint. Reordered
// actions of the same kind each run once, as recorded; an action edited
// in place runs as edited; an action removed from beside another of its
// kind dead-letters rather than running its neighbour.
func TestHandler_ActionsChangedBeforeRun(t *testing.T) {
	t.Parallel()
	slackRule := func(texts ...string) workflow.Rule {
		r := workflow.Rule{Name: "alerts", Trigger: synclayer.EventOrderCreated}
		for _, text := range texts {
			r.Actions = append(r.Actions, workflow.Action{Kind: workflow.KindSlack, Text: text})
		}
		return r
	}
	t.Run("Reordered", func(t *testing.T) {
		t.Parallel()
		// ops is posted, sales is refused and waits for its retry, and
		// meanwhile the config swaps the two.
		f := newFixture(t, storetest.OpenSQLite(t), slackRule("to ops: {{ .order.id }}", "to sales: {{ .order.id }}"))
		f.slack.refuse = func(text string) bool { return strings.HasPrefix(text, "to sales") }
		f.fire(orderTrigger(f.contact("a@example.com", nil, false), "1", 10))
		if errs := f.run(); len(errs) != 1 {
			t.Fatalf("errors %v, want the refused sales post", errs)
		}
		f.slack.mu.Lock()
		f.slack.refuse = nil
		f.slack.mu.Unlock()
		f.reconfigure(slackRule("to sales: {{ .order.id }}", "to ops: {{ .order.id }}"))
		if errs := f.run(); len(errs) > 0 {
			t.Fatal(errs)
		}
		if got, want := sorted(f.slack.messages()), []string{"to ops: shopify:1", "to sales: shopify:1"}; !slices.Equal(got, want) {
			t.Errorf("Slack messages %q, want %q: each row runs its own action, once", got, want)
		}
	})
	t.Run("EditedInPlace", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, storetest.OpenSQLite(t), slackRule("order {{ .order.id }}"))
		f.fire(orderTrigger(f.contact("b@example.com", nil, false), "2", 10))
		f.reconfigure(slackRule("order {{ .order.id }} (edited)"))
		if errs := f.run(); len(errs) > 0 {
			t.Fatal(errs)
		}
		if got, want := f.slack.messages(), []string{"order shopify:2 (edited)"}; !slices.Equal(got, want) {
			t.Errorf("Slack messages %q, want %q", got, want)
		}
	})
	t.Run("RemovedBesideItsKind", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, storetest.OpenSQLite(t), slackRule("to ops", "to sales"))
		f.fire(orderTrigger(f.contact("c@example.com", nil, false), "3", 10))
		f.reconfigure(slackRule("to sales"))
		errs := f.run()
		if got, want := f.slack.messages(), []string{"to sales"}; !slices.Equal(got, want) {
			t.Errorf("Slack messages %q, want %q: the removed action's row must not run its neighbour", got, want)
		}
		if len(errs) != 1 || !isPermanent(errs[0]) || !strings.Contains(errs[0].Error(), "removed") {
			t.Errorf("errors %v, want the removed action's row dead-lettered, saying so", errs)
		}
	})
}

// TestHandler_DeletedContact: a contact deleted between the trigger and
// the run gets no Brevo event, update or tag (any of which would bring it
// back into Brevo), and a trigger of an already deleted contact records
// no contact action and shows rules an empty contact.
func TestHandler_DeletedContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, storetest.OpenSQLite(t), workflow.Rule{Name: "welcome", Trigger: synclayer.EventOrderCreated,
		Actions: []workflow.Action{
			{Kind: workflow.KindBrevoEvent, Name: "first_purchase"},
			{Kind: workflow.KindSetAttribute, Attributes: map[string]any{"BUYER": true}},
			{Kind: workflow.KindAddTag, Tag: "BUYER"},
			{Kind: workflow.KindSlack, Text: "order from {{ .contact.email }}"},
		}})
	del := func(c *synclayer.Contact) {
		c.Deleted, c.DeletedAt = true, time.Now()
		f.tx(func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })
	}
	gone := f.contact("gone@example.com", nil, true)
	f.fire(orderTrigger(gone, "1", 10))
	del(gone)
	already := f.contact("already@example.com", nil, true)
	del(already)
	f.fire(orderTrigger(already, "2", 10))
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := len(f.sim.Calls()); n != 0 {
		t.Errorf("Brevo got %d calls (%+v), want none for deleted contacts", n, f.sim.Calls())
	}
	if held, _ := f.store.FindContactByID(ctx, gone.ID); len(held.AllTags()) != 0 {
		t.Errorf("deleted contact tagged %v", held.AllTags())
	}
	if got, want := f.slack.messages(), []string{"order from gone@example.com", "order from "}; !slices.Equal(got, want) {
		t.Errorf("Slack messages %q, want %q: a contact deleted before the trigger is not shown", got, want)
	}
	rows, _ := f.store.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{ContactID: already.ID})
	if len(rows) != 1 || rows[0].Kind != workflow.KindSlack {
		t.Errorf("rows for the deleted contact %+v, want only the Slack one", rows)
	}
}

// TestHandler_AttributeCreatedMeanwhile: when another instance creates a
// set_attribute attribute between this one's list and its create, Brevo's
// "duplicate" answer counts as the attribute existing: the action runs,
// rather than dead-lettering on a permanent 400.
func TestHandler_AttributeCreatedMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.OpenSQLite(t)
	f := newFixture(t, s, workflow.Rule{Name: "flag", Trigger: synclayer.EventOrderCreated,
		Actions: []workflow.Action{{Kind: workflow.KindSetAttribute, Attributes: map[string]any{"RACED": true}}}})
	// A Brevo whose attribute list is read just before another instance
	// creates RACED.
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/v3")
		f.sim.ServeHTTP(w, r)
		if r.Method == http.MethodGet && r.URL.Path == "/contacts/attributes" {
			once.Do(func() {
				other := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/contacts/attributes/normal/RACED", strings.NewReader(`{"type":"boolean"}`))
				req.Header.Set("api-key", "xkeysib-test")
				req.Header.Set("content-type", "application/json")
				f.sim.ServeHTTP(other, req)
				if other.Code/100 != 2 {
					t.Errorf("the other instance's create: %d %s", other.Code, other.Body)
				}
			})
		}
	}))
	t.Cleanup(hs.Close)
	client := brevo.New(brevo.Config{APIKey: "xkeysib-test", BaseURL: hs.URL + "/v3"})
	f.h = &workflow.Handler{Rules: f.rules, Store: s, Destinations: map[string]synclayer.ActionDestination{"brevo": brevo.WithClient("brevo", client)}}
	c := f.contact("race@example.com", nil, true)
	if _, err := client.CreateContact(ctx, brevo.CreateContactRequest{Email: c.Email, ExtID: c.ID}); err != nil {
		t.Fatal(err)
	}
	f.fire(orderTrigger(c, "5", 10))
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, _ := f.sim.ContactByExtID(c.ID); got.Attributes["RACED"] != true {
		t.Errorf("attributes %v, want RACED true", got.Attributes)
	}
}

// TestHandler_TemplateSyntaxInData: a customer's text that looks like a
// template is printed as it is, never executed.
func TestHandler_TemplateSyntaxInData(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.OpenSQLite(t), workflow.Rule{Name: "tickets", Owner: "ops@example.com", Trigger: synclayer.EventTicketCreated,
		Actions: []workflow.Action{{Kind: workflow.KindSlack, Text: "ticket: {{ .ticket.text }}"}}})
	c := f.contact("t@example.com", nil, false)
	f.fire(synclayer.Trigger{Type: synclayer.EventTicketCreated, Key: "custom:T-9", ContactID: c.ID, At: time.Now(), Source: "custom",
		Data: map[string]any{"id": "T-9", "text": `{{ .rule.owner }} {{ printf "%s" .contact.email }}`}})
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := f.slack.messages(), []string{`ticket: {{ .rule.owner }} {{ printf "%s" .contact.email }}`}; !slices.Equal(got, want) {
		t.Errorf("Slack messages %q, want %q", got, want)
	}
}

// TestRules_TriggerChangedKeepsFiring: a rule whose trigger is changed to
// another keyed alike (order_created to order_cancelled, both by the
// order) fires for the new trigger of an order it fired for before.
func TestRules_TriggerChangedKeepsFiring(t *testing.T) {
	t.Parallel()
	rule := func(tr synclayer.EventType) workflow.Rule {
		return workflow.Rule{Name: "order-alert", Trigger: tr, Actions: []workflow.Action{{Kind: workflow.KindSlack, Text: "{{ .event.type }} {{ .order.id }}"}}}
	}
	f := newFixture(t, storetest.OpenSQLite(t), rule(synclayer.EventOrderCreated))
	c := f.contact("tc@example.com", nil, false)
	f.fire(orderTrigger(c, "8", 10))
	f.reconfigure(rule(synclayer.EventOrderCancelled))
	cancelled := orderTrigger(c, "8", 10)
	cancelled.Type = synclayer.EventOrderCancelled
	f.fire(cancelled)
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := sorted(f.slack.messages()), []string{"order_cancelled shopify:8", "order_created shopify:8"}; !slices.Equal(got, want) {
		t.Errorf("Slack messages %q, want %q", got, want)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

// TestHandler_AddTagWaitsForIngest: on PostgreSQL, add_tag takes the
// identity locks ingest holds, so an event merged into the contact
// meanwhile (here an opt-out) and the tag both survive, whichever
// transaction writes first.
func TestHandler_AddTagWaitsForIngest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.OpenPostgres(t)
	f := newFixture(t, s, workflow.Rule{Name: "tagger", Trigger: synclayer.EventOrderCreated,
		Actions: []workflow.Action{{Kind: workflow.KindAddTag, Tag: "BUYER"}}})
	c := f.contact("lock@example.com", []string{"vip"}, true)
	f.fire(orderTrigger(c, "6", 10))

	// An ingest transaction holds the contact's email lock, has read it,
	// and is about to save an opt-out.
	locked, release := make(chan struct{}), make(chan struct{})
	ingested := make(chan error, 1)
	go func() {
		ingested <- s.Tx(ctx, func(tx synclayer.Tx) error {
			if err := tx.Lock(ctx, "email:lock@example.com"); err != nil {
				return err
			}
			held, err := tx.FindContactByID(ctx, c.ID)
			if err != nil {
				return err
			}
			close(locked)
			<-release
			held.EmailConsent.State = synclayer.ConsentUnsubscribed
			return tx.SaveContact(ctx, held)
		})
	}()
	<-locked
	ran := make(chan []error, 1)
	go func() { ran <- f.run() }()
	time.Sleep(300 * time.Millisecond) // add_tag waits on the lock, or (without it) commits first
	close(release)
	if err := <-ingested; err != nil {
		t.Fatal(err)
	}
	if errs := <-ran; len(errs) > 0 {
		t.Fatal(errs)
	}
	held, _ := s.FindContactByID(ctx, c.ID)
	if got := held.AllTags(); !slices.Equal(got, []string{"vip", "BUYER"}) || held.EmailConsent.State != synclayer.ConsentUnsubscribed {
		t.Errorf("tags %v, consent %q; want vip and BUYER, and the opt-out kept", got, held.EmailConsent.State)
	}
}
