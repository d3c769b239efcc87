package klaviyo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/klaviyo/klaviyospec"
	"synclayer/store"
	"synclayer/store/storetest"
)

// testClock is a clock safe for the simulator's goroutines.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// reconcileEnv is a destination that reconciles against a simulator on
// the test's clock, every request and every answer checked against
// Klaviyo's spec, and the store the skills record their sync states in.
type reconcileEnv struct {
	d   *klaviyo.Destination
	sim *klaviyosim.Server
	clk *testClock
	url string
	db  *store.DB
}

var reconcileStart = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func mustReconcileEnv(tb testing.TB, settings string) *reconcileEnv {
	tb.Helper()
	clk := &testClock{now: reconcileStart}
	v := klaviyospec.Load(tb)
	sim := klaviyosim.New(klaviyosim.Options{APIKey: testKey, Validate: v.Validate, Now: clk.Now, Lists: []string{listID}})
	var mu sync.Mutex
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r.Clone(r.Context()))
		if rec.Code/100 == 2 && r.Method == http.MethodGet {
			if err := v.ValidateResponse(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
				mu.Lock()
				bad = append(bad, err.Error())
				mu.Unlock()
			}
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if v := sim.Violations(); len(v) != 0 {
			tb.Errorf("requests the spec rejects:\n%s", strings.Join(v, "\n"))
		}
		mu.Lock()
		defer mu.Unlock()
		if len(bad) != 0 {
			tb.Errorf("answers the spec rejects:\n%s", strings.Join(bad, "\n"))
		}
	})
	if settings == "" {
		settings = `{}`
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(settings), &s); err != nil {
		tb.Fatal(err)
	}
	s["api_key"], s["base_url"] = testKey, srv.URL
	d, err := klaviyo.Open("klaviyo", mustMarshal(tb, s), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return &reconcileEnv{d: d.(*klaviyo.Destination), sim: sim, clk: clk, url: srv.URL, db: storetest.OpenSQLite(tb)}
}

func mustMarshal(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// put stores a profile as if made inside Klaviyo (a signup form).
func (e *reconcileEnv) put(email, externalID, consent string) string {
	return e.sim.PutProfile(klaviyosim.Profile{Email: email, ExternalID: externalID, EmailConsent: consent})
}

// reconcile runs one call at the test clock's now.
func (e *reconcileEnv) reconcile(tb testing.TB, cursor string) (events []*synclayer.Event, next string, more bool) {
	tb.Helper()
	events, next, more, err := e.d.Reconcile(context.Background(), cursor, e.clk.Now(), e.db)
	if err != nil {
		tb.Fatalf("Reconcile(%s): %v", cursor, err)
	}
	return events, next, more
}

// pass follows the cursors from cursor until more is false, returning
// every event and the last cursor.
func (e *reconcileEnv) pass(tb testing.TB, cursor string) ([]*synclayer.Event, string) {
	tb.Helper()
	var all []*synclayer.Event
	for range 100 {
		events, next, more := e.reconcile(tb, cursor)
		all, cursor = append(all, events...), next
		if !more {
			return all, cursor
		}
	}
	tb.Fatal("Reconcile still says more after 100 pages")
	return nil, ""
}

// optOuts groups events by email, each email's distinct dedupe keys with
// the event first seen under each: the opt-outs ingest would count.
func optOuts(events []*synclayer.Event) map[string]map[string]*synclayer.Event {
	out := map[string]map[string]*synclayer.Event{}
	for _, ev := range events {
		email := ev.Customer.Email()
		if out[email] == nil {
			out[email] = map[string]*synclayer.Event{}
		}
		if out[email][ev.DedupeKey] == nil {
			out[email][ev.DedupeKey] = ev
		}
	}
	return out
}

// only returns the single opt-out of email, failing when there is not
// exactly one.
func only(tb testing.TB, got map[string]map[string]*synclayer.Event, email string) *synclayer.Event {
	tb.Helper()
	if len(got[email]) != 1 {
		tb.Fatalf("%s: %d opt-outs, want 1 (all: %v)", email, len(got[email]), keys(got))
	}
	for _, ev := range got[email] {
		return ev
	}
	return nil
}

func keys(m map[string]map[string]*synclayer.Event) []string {
	var out []string
	for k, v := range m {
		for range v {
			out = append(out, k)
		}
	}
	return out
}

func payloadKind(ev *synclayer.Event) string {
	var p struct {
		Kind string `json:"kind"`
	}
	_ = json.Unmarshal(ev.Payload, &p)
	return p.Kind
}

func TestReconcile_UnsubscribedInKlaviyo(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	if got := e.d.ReconcileInterval(); got != 15*time.Minute {
		t.Fatalf("ReconcileInterval() = %v, want the default 15m", got)
	}
	e.put("ann@example.com", "ct_ann", klaviyo.ConsentSubscribed)
	e.put("bob@example.com", "", klaviyo.ConsentNeverSubscribed)
	e.clk.Add(time.Minute)
	events, cursor := e.pass(t, "")
	if len(events) != 0 {
		t.Fatalf("first pass: %d events (%+v), want none: subscribed and never subscribed are no opt-out", len(events), events[0])
	}

	unsubscribed := e.clk.Add(3 * time.Minute)
	e.sim.UnsubscribeInKlaviyo("ann@example.com")
	e.clk.Add(15 * time.Minute)
	events, cursor = e.pass(t, cursor)
	got := optOuts(events)
	ev := only(t, got, "ann@example.com")
	if len(got) != 1 {
		t.Fatalf("opt-outs %v, want ann's alone", keys(got))
	}
	c := ev.Customer
	if ev.Source != "klaviyo" || ev.Type != synclayer.EventCustomerUpdated || ev.Topic != "reconcile" || ev.DedupeKey == "" ||
		!ev.OccurredAt.Equal(unsubscribed) || !ev.ReceivedAt.Equal(e.clk.Now()) || !json.Valid(ev.Payload) || payloadKind(ev) != klaviyo.KindUnsubscribe {
		t.Errorf("event %+v", ev)
	}
	if c.Email() != "ann@example.com" || c.EmailConsent == nil || c.EmailConsent.State != synclayer.ConsentUnsubscribed ||
		!c.EmailConsent.At.Equal(unsubscribed) || c.SMSConsent != nil || len(c.Fields) != 1 || !c.Identifies() {
		t.Errorf("customer %+v, want ann opted out of email at Klaviyo's time of the unsubscribe, and nothing else", c)
	}
	var p map[string]any
	_ = json.Unmarshal(ev.Payload, &p)
	if p["external_id"] != "ct_ann" {
		t.Errorf("payload %s, want ann's external_id", ev.Payload)
	}

	e.clk.Add(15 * time.Minute)
	if events, _ := e.pass(t, cursor); len(events) != 0 {
		t.Errorf("the next pass: %d events, want nothing new", len(events))
	}
}

// TestReconcile_SuppressedAndComplained: a hard bounce and a suppression
// by hand are found among the suppressed profiles, a spam complaint (a
// consent, no suppression) among Klaviyo's Marked Email as Spam events;
// each is one opt-out at Klaviyo's time.
func TestReconcile_SuppressedAndComplained(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	for _, email := range []string{"bounce@example.com", "spam@example.com", "hand@example.com", "fine@example.com"} {
		e.put(email, "", klaviyo.ConsentSubscribed)
	}
	bounced := e.clk.Add(time.Minute)
	e.sim.Suppress("bounce@example.com", "HARD_BOUNCE")
	complained := e.clk.Add(time.Minute)
	e.sim.MarkAsSpam("spam@example.com")
	suppressed := e.clk.Add(time.Minute)
	e.sim.Suppress("hand@example.com", "USER_SUPPRESSED")
	e.clk.Add(time.Minute)
	events, _ := e.pass(t, "")
	got := optOuts(events)
	if len(got) != 3 || got["fine@example.com"] != nil {
		t.Fatalf("opt-outs %v, want the bounce, the complaint and the suppression", keys(got))
	}
	for email, want := range map[string]struct {
		at   time.Time
		kind string
	}{
		"bounce@example.com": {bounced, klaviyo.KindHardBounce},
		"spam@example.com":   {complained, klaviyo.KindSpam},
		"hand@example.com":   {suppressed, klaviyo.KindSuppressed},
	} {
		ev := only(t, got, email)
		if !ev.OccurredAt.Equal(want.at) || !ev.Customer.EmailConsent.At.Equal(want.at) || payloadKind(ev) != want.kind ||
			ev.Customer.EmailConsent.State != synclayer.ConsentUnsubscribed {
			t.Errorf("%s: at %s kind %s, want an opt-out at %s of kind %s", email, ev.OccurredAt, payloadKind(ev), want.at, want.kind)
		}
	}
}

// TestReconcile_SubscribedIsNoOptIn: profiles subscribed inside Klaviyo
// or by synclayer's own subscribe job, even after an unsubscribe lifted by
// a resubscription, give no event: Reconcile reports opt-outs only.
func TestReconcile_SubscribedIsNoOptIn(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	e.put("form@example.com", "", klaviyo.ConsentSubscribed)
	cs, err := e.d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"list_id":"` + listID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := customer(synclayer.ConsentSubscribed)
	plan, err := cs.Plan(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(context.Background(), c, plan); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.sim.Profile(c.ID); p.EmailConsent != klaviyo.ConsentSubscribed {
		t.Fatalf("synclayer's subscribe left %s", p.EmailConsent)
	}
	e.clk.Add(time.Minute)
	if events, _ := e.pass(t, ""); len(events) != 0 {
		t.Errorf("%d events (%+v), want none", len(events), events[0])
	}
}

func TestReconcile_FirstRun(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"reconcile_interval":"10m"}`)
	e.put("old@example.com", "", klaviyo.ConsentSubscribed)
	e.put("new@example.com", "", klaviyo.ConsentSubscribed)
	e.sim.UnsubscribeInKlaviyo("old@example.com")
	e.clk.Add(11 * time.Minute)
	e.sim.UnsubscribeInKlaviyo("new@example.com")
	e.clk.Add(time.Minute)
	events, _ := e.pass(t, "")
	if got := optOuts(events); len(got) != 1 || got["new@example.com"] == nil {
		t.Errorf("first run: %v, want new@ alone: it starts the interval (10m) before now", keys(got))
	}
}

// TestReconcile_KlaviyoClockBehind: when synclayer's clock runs ahead of
// Klaviyo's, the next pass starts from Klaviyo's Date, not from
// synclayer's now, so an opt-out Klaviyo stamps just after the pass is
// not skipped.
func TestReconcile_KlaviyoClockBehind(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	e.put("ann@example.com", "", klaviyo.ConsentSubscribed)
	ahead := 20 * time.Minute
	cursor := ""
	for more := true; more; {
		var err error
		if _, cursor, more, err = e.d.Reconcile(context.Background(), cursor, e.clk.Now().Add(ahead), e.db); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Add(time.Minute)
	e.sim.UnsubscribeInKlaviyo("ann@example.com")
	e.clk.Add(15 * time.Minute)
	var all []*synclayer.Event
	for more := true; more; {
		var events []*synclayer.Event
		var err error
		if events, cursor, more, err = e.d.Reconcile(context.Background(), cursor, e.clk.Now().Add(ahead), e.db); err != nil {
			t.Fatal(err)
		}
		all = append(all, events...)
	}
	if got := optOuts(all); len(got["ann@example.com"]) != 1 {
		t.Errorf("after an unsubscribe a minute into Klaviyo's time: %v, want ann's opt-out", keys(got))
	}
}

// TestReconcile_OptOutMetrics: an integration's own "Unsubscribed from
// Email Marketing" event is read as an opt-out like Klaviyo's, but a
// metric of another integration merely named "Unsubscribed" (Klaviyo's
// older name, a common word) is not, nor is any other metric.
func TestReconcile_OptOutMetrics(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	ctx := context.Background()
	for _, ev := range []klaviyo.Event{
		{Metric: "Unsubscribed from Email Marketing", Email: "api@example.com", UniqueID: "u1"},
		{Metric: "Unsubscribed", Email: "app@example.com", UniqueID: "u2"},
		{Metric: "Placed Order", Email: "buyer@example.com", UniqueID: "o1"},
	} {
		if err := e.d.Client().CreateEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Add(time.Minute)
	events, _ := e.pass(t, "")
	if got := optOuts(events); len(got) != 1 || got["api@example.com"] == nil {
		t.Errorf("opt-outs %v, want api@ alone", keys(got))
	}
}
