package brevo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
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
// the test's clock, every request checked against Brevo's spec.
type reconcileEnv struct {
	d   *brevo.Destination
	sim *brevosim.Server
	clk *testClock
	url string
	db  *store.DB // what the skills recorded Brevo holds
}

var reconcileStart = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func mustReconcileEnv(tb testing.TB, webhook string) *reconcileEnv {
	tb.Helper()
	clk := &testClock{now: reconcileStart}
	sim := brevosim.New(brevosim.Options{APIKey: testKey, Validate: brevospec.Load(tb).Validate, Now: clk.Now,
		Attributes: []string{"EMAIL", "FIRSTNAME", "SMS"}})
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if v := sim.Violations(); len(v) != 0 {
			tb.Errorf("requests the spec rejects:\n%s", strings.Join(v, "\n"))
		}
	})
	d, err := brevo.Open("brevo", json.RawMessage(`{"api_key":"`+testKey+`","base_url":"`+srv.URL+`/v3","webhook":`+webhook+`}`), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return &reconcileEnv{d: d.(*brevo.Destination), sim: sim, clk: clk, url: srv.URL, db: storetest.OpenSQLite(tb)}
}

func (e *reconcileEnv) create(tb testing.TB, r brevo.CreateContactRequest) {
	tb.Helper()
	if _, err := e.d.Client().CreateContact(context.Background(), r); err != nil {
		tb.Fatalf("CreateContact: %v", err)
	}
}

func (e *reconcileEnv) update(tb testing.TB, email string, r brevo.UpdateContactRequest) {
	tb.Helper()
	if err := e.d.Client().UpdateContact(context.Background(), email, brevo.IdentifierEmail, r); err != nil {
		tb.Fatalf("UpdateContact: %v", err)
	}
}

func (e *reconcileEnv) unsubscribe(tb testing.TB, email string) {
	tb.Helper()
	if err := e.sim.UnsubscribeSilently(email); err != nil {
		tb.Fatal(err)
	}
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

func emailOf(ev *synclayer.Event) string {
	var s string
	if ev.Customer != nil {
		_ = json.Unmarshal(ev.Customer.Fields[synclayer.FieldEmail], &s)
	}
	return s
}

func TestReconcile_LostUnsubscribe(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	if got := e.d.ReconcileInterval(); got != 15*time.Minute {
		t.Fatalf("ReconcileInterval() = %v, want the default 15m", got)
	}
	e.create(t, brevo.CreateContactRequest{Email: "ann@example.com", ListIDs: []int64{12}})
	e.create(t, brevo.CreateContactRequest{Email: "bob@example.com", ListIDs: []int64{12}})
	e.create(t, brevo.CreateContactRequest{Email: "cy@example.com", EmailBlacklisted: ptr(true)})
	e.clk.Add(time.Second)
	e.update(t, "cy@example.com", brevo.UpdateContactRequest{EmailBlacklisted: ptr(false)}) // a lifted block

	events, cursor := e.pass(t, "")
	if len(events) != 0 {
		t.Fatalf("first pass: %d events (%+v), want none: list members and a lifted block are no opt-in, nor any opt-out", len(events), events[0])
	}

	unsubscribed := e.clk.Add(time.Minute)
	e.unsubscribe(t, "ann@example.com")
	if len(e.sim.Webhooks()) != 0 {
		t.Fatal("a webhook exists; the unsubscribe must reach synclayer by reconciliation alone")
	}
	e.clk.Add(15 * time.Minute)
	events, cursor = e.pass(t, cursor)
	if len(events) != 1 {
		t.Fatalf("%d events, want ann's opt-out", len(events))
	}
	ev := events[0]
	c := ev.Customer
	if ev.Source != "brevo" || ev.Type != synclayer.EventCustomerUpdated || ev.Topic != "reconcile" || ev.DedupeKey == "" ||
		!ev.OccurredAt.Equal(unsubscribed) || !ev.ReceivedAt.Equal(e.clk.Now()) || !json.Valid(ev.Payload) {
		t.Errorf("event %+v", ev)
	}
	if emailOf(ev) != "ann@example.com" || c.EmailConsent == nil || c.EmailConsent.State != synclayer.ConsentUnsubscribed ||
		!c.EmailConsent.At.Equal(unsubscribed) || c.SMSConsent != nil || len(c.Fields) != 1 {
		t.Errorf("customer %+v, want ann opted out of email at the unsubscribe, and nothing else", c)
	}
	if !c.Identifies() {
		t.Error("the change identifies no one")
	}

	e.clk.Add(15 * time.Minute)
	if events, _ := e.pass(t, cursor); len(events) != 0 {
		t.Errorf("the next pass: %d events, want nothing new", len(events))
	}
}

// TestReconcile_BrevoClockBehind: when synclayer's clock runs ahead of
// Brevo's, the next pass starts from Brevo's Date, not from synclayer's
// now, so a change Brevo stamps just after the pass is not skipped.
func TestReconcile_BrevoClockBehind(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	e.create(t, brevo.CreateContactRequest{Email: "ann@example.com"})
	ahead := 10 * time.Minute
	_, cursor, _, err := e.d.Reconcile(context.Background(), "", e.clk.Now().Add(ahead), e.db)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Minute)
	e.unsubscribe(t, "ann@example.com")
	e.clk.Add(15 * time.Minute)
	events, _, _, err := e.d.Reconcile(context.Background(), cursor, e.clk.Now().Add(ahead), e.db)
	if err != nil || len(events) != 1 || emailOf(events[0]) != "ann@example.com" {
		t.Errorf("after an unsubscribe a minute into Brevo's time: %v, %v; want ann's opt-out", events, err)
	}
}

func TestReconcile_FirstRun(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`","reconcile_interval":"10m"}`)
	e.create(t, brevo.CreateContactRequest{Email: "old@example.com", EmailBlacklisted: ptr(true)})
	e.clk.Add(11 * time.Minute)
	e.create(t, brevo.CreateContactRequest{Email: "new@example.com", EmailBlacklisted: ptr(true)})
	e.clk.Add(time.Minute)
	events, _ := e.pass(t, "")
	if len(events) != 1 || emailOf(events[0]) != "new@example.com" {
		t.Errorf("first run: %v, want new@ alone: it starts the interval (10m) before now", events)
	}
}

// TestReconcile_Dedupe: a contact read twice is one key; changed again
// while blocklisted, it is a new event with a new key.
func TestReconcile_Dedupe(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	e.create(t, brevo.CreateContactRequest{Email: "ann@example.com"})
	e.clk.Add(time.Second)
	e.unsubscribe(t, "ann@example.com")
	e.clk.Add(30 * time.Second)
	first, cursor := e.pass(t, "")
	e.clk.Add(30 * time.Second) // within the overlap: ann is read again
	again, cursor := e.pass(t, cursor)
	if len(first) != 1 || len(again) != 1 || first[0].DedupeKey != again[0].DedupeKey {
		t.Fatalf("read twice: %v then %v, want one event with one key", first, again)
	}
	changed := e.clk.Add(time.Second)
	e.update(t, "ann@example.com", brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": "Ann"}})
	e.clk.Add(time.Second)
	later, _ := e.pass(t, cursor)
	if len(later) != 1 || later[0].DedupeKey == first[0].DedupeKey || !later[0].OccurredAt.Equal(changed) {
		t.Errorf("changed again: %v, want a second event, at the change, with another key", later)
	}
}

func TestReconcile_SMS(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	e.create(t, brevo.CreateContactRequest{Email: "ann@example.com", Attributes: map[string]any{"SMS": "+33612345678"}})
	e.create(t, brevo.CreateContactRequest{ExtID: "c-sms", Attributes: map[string]any{"SMS": "+33612345679"}})
	// Brevo's address for a contact it knows by SMS only (the spec's example).
	e.create(t, brevo.CreateContactRequest{Email: "33612345670@mailin-sms.com", Attributes: map[string]any{"SMS": "+33612345670"}})
	e.clk.Add(time.Second)
	for _, id := range []string{"ann@example.com", "33612345679", "33612345670@mailin-sms.com"} {
		typ := brevo.IdentifierEmail
		if !strings.Contains(id, "@") {
			typ = brevo.IdentifierPhone
		}
		r := brevo.UpdateContactRequest{SMSBlacklisted: ptr(true)}
		if strings.HasSuffix(id, "mailin-sms.com") {
			r.EmailBlacklisted = ptr(true)
		}
		if err := e.d.Client().UpdateContact(context.Background(), id, typ, r); err != nil {
			t.Fatal(err)
		}
	}
	events, _ := e.pass(t, "")
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	for i, want := range []map[string]string{
		{"email": `"ann@example.com"`},
		{"phone": `"+33612345679"`},
		{"phone": `"+33612345670"`},
	} {
		c := events[i].Customer
		got := map[string]string{}
		for k, v := range c.Fields {
			got[k] = string(v)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || c.SMSConsent == nil || c.SMSConsent.State != synclayer.ConsentUnsubscribed || c.EmailConsent != nil {
			t.Errorf("event %d: fields %v, sms %+v, email %+v; want %v opted out of SMS only", i, got, c.SMSConsent, c.EmailConsent, want)
		}
	}
}

// TestReconcile_Paging follows the cursors through pages of four while
// contacts change, join the list and leave it between the pages: each
// contact of the pass is reported exactly once, and what changed behind
// the pass's position is found by the next pass.
func TestReconcile_Paging(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	brevo.SetReconcilePage(e.d, 4)
	e.create(t, brevo.CreateContactRequest{Email: "z@example.com", EmailBlacklisted: ptr(true)}) // long before the window
	e.clk.Add(time.Hour)
	var emails []string
	for i := 1; i <= 10; i++ {
		emails = append(emails, fmt.Sprintf("c%02d@example.com", i))
		e.create(t, brevo.CreateContactRequest{Email: emails[i-1], EmailBlacklisted: ptr(true)})
		e.clk.Add(time.Second)
	}
	e.create(t, brevo.CreateContactRequest{Email: "subscribed@example.com", ListIDs: []int64{12}})
	e.clk.Add(5 * time.Minute)

	seen := map[string][]string{} // email → dedupe keys
	read := func(cursor string) (string, bool) {
		events, next, more := e.reconcile(t, cursor)
		for _, ev := range events {
			seen[emailOf(ev)] = append(seen[emailOf(ev)], ev.DedupeKey)
		}
		e.clk.Add(time.Second)
		return next, more
	}
	cursor, more := read("") // c01 to c04
	if !more {
		t.Fatal("a full page: more is false")
	}
	e.update(t, "c02@example.com", brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": "Read"}})  // behind the position
	e.update(t, "c06@example.com", brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": "Ahead"}}) // ahead of it
	e.update(t, "z@example.com", brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": "Joins"}})   // joins the list first
	cursor, more = read(cursor)
	if !more {
		t.Fatal("second page: more is false")
	}
	if err := e.d.Client().DeleteContact(context.Background(), "c01@example.com", brevo.IdentifierEmail); err != nil { // leaves it
		t.Fatal(err)
	}
	pages := 2
	for more {
		cursor, more = read(cursor)
		if pages++; pages > 10 {
			t.Fatal("no end")
		}
	}
	for _, email := range emails {
		if len(seen[email]) != 1 {
			t.Errorf("%s reported %d times in the pass, want once", email, len(seen[email]))
		}
	}
	if len(seen["z@example.com"]) != 0 || len(seen["subscribed@example.com"]) != 0 {
		t.Errorf("reported %v: z joined behind the position (the next pass finds it); subscribed@ is no opt-out", seen)
	}
	c06 := seen["c06@example.com"]

	e.clk.Add(15 * time.Minute)
	seen = map[string][]string{}
	for more = true; more; {
		cursor, more = read(cursor)
	}
	if len(seen["z@example.com"]) != 1 || len(seen["c02@example.com"]) != 1 {
		t.Errorf("next pass %v, want z and c02, changed behind the last pass's position", seen)
	}
	if got := seen["c06@example.com"]; len(got) != 1 || got[0] != c06[0] {
		t.Errorf("c06 again %v, want the key it had (%v): read twice, counted once", got, c06)
	}
}

// TestReconcile_LostPlace: when every contact the cursor remembers has
// been deleted, the pass reads again from its start rather than skip.
func TestReconcile_LostPlace(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	brevo.SetReconcilePage(e.d, 4) // remembers 2
	var emails []string
	for i := 1; i <= 9; i++ {
		emails = append(emails, fmt.Sprintf("c%02d@example.com", i))
		e.create(t, brevo.CreateContactRequest{Email: emails[i-1], EmailBlacklisted: ptr(true)})
		e.clk.Add(time.Second)
	}
	keys := map[string]map[string]bool{}
	events, cursor, more := e.reconcile(t, "")
	for _, email := range []string{"c01@example.com", "c03@example.com", "c04@example.com"} {
		if err := e.d.Client().DeleteContact(context.Background(), email, brevo.IdentifierEmail); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; more; n++ {
		if n > 10 {
			t.Fatal("no end")
		}
		var evs []*synclayer.Event
		evs, cursor, more = e.reconcile(t, cursor)
		events = append(events, evs...)
	}
	for _, ev := range events {
		if keys[emailOf(ev)] == nil {
			keys[emailOf(ev)] = map[string]bool{}
		}
		keys[emailOf(ev)][ev.DedupeKey] = true
	}
	for _, email := range emails {
		if len(keys[email]) != 1 {
			t.Errorf("%s: %d keys, want 1 (read at least once, one key however often)", email, len(keys[email]))
		}
	}
}

func TestReconcile_Errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Unauthorized", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
		e.sim.SetAPIKey("xkeysib-other")
		_, next, _, err := e.d.Reconcile(ctx, "", e.clk.Now(), e.db)
		var se *synclayer.Error
		if kind(err) != "permanent" || !errors.As(err, &se) || se.Field != "api_key" || se.Code != synclayer.EUNAUTHORIZED ||
			synclayer.HTTPStatus(err) != http.StatusUnauthorized || next != "" {
			t.Errorf("err = %v (%s), next %q; want a permanent EUNAUTHORIZED naming api_key, the cursor kept", err, kind(err), next)
		}
	})
	t.Run("RateLimited", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
		e.sim.SetRateLimit(1)
		// Another client of the key spends the window (the clock stands still).
		r, _ := http.NewRequest("GET", e.url+"/v3/contacts/attributes", nil)
		r.Header.Set("api-key", testKey)
		if resp, err := http.DefaultClient.Do(r); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		const cursor = `{"v":1,"since":"2026-05-01T11:00:00Z"}`
		_, next, _, err := e.d.Reconcile(ctx, cursor, e.clk.Now(), e.db)
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || ra.After <= 0 || next != cursor {
			t.Errorf("err = %v, next %q; want a RetryAfter error and the cursor kept", err, next)
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
		for _, cursor := range []string{"2026-05-01T11:00:00Z", `{"v":2,"since":"2026-05-01T11:00:00Z"}`, `{"v":1}`} {
			_, _, _, err := e.d.Reconcile(ctx, cursor, e.clk.Now(), e.db)
			var se *synclayer.Error
			if kind(err) != "permanent" || !errors.As(err, &se) || se.Field != "cursor" {
				t.Errorf("cursor %s: %v, want a permanent error naming the cursor", cursor, err)
			}
		}
	})
	t.Run("Off", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, `{"token":"`+webhookToken+`","reconcile_interval":"off"}`)
		if _, _, _, err := e.d.Reconcile(ctx, "", e.clk.Now(), e.db); len(errorFields(err)) != 1 || errorFields(err)[0] != "webhook.reconcile_interval" {
			t.Errorf("Reconcile while off: %v, want an error naming webhook.reconcile_interval", err)
		}
	})
}

// TestReconcile_KnownBlockIsNoNews: a block the contact's sync state
// records (synclayer wrote it, or was told of it and wrote it) is not
// reported again when a later write moves modifiedAt, since Brevo keeps a
// block synclayer did not make even after the person opts in again
// elsewhere: reading it back as a fresh opt-out would undo that opt-in.
// A block the state does not record is news.
func TestReconcile_KnownBlockIsNoNews(t *testing.T) {
	e := mustReconcileEnv(t, `{"token":"`+webhookToken+`"}`)
	ctx := context.Background()
	e.create(t, brevo.CreateContactRequest{Email: "known@example.com", ExtID: "ct_known"})
	e.create(t, brevo.CreateContactRequest{Email: "news@example.com", ExtID: "ct_news"})
	e.unsubscribe(t, "known@example.com")
	e.unsubscribe(t, "news@example.com")
	for id, blocked := range map[string]bool{"ct_known": true, "ct_news": false} {
		st := fmt.Sprintf(`{"email":"%s","emailBlacklisted":%v}`, strings.TrimPrefix(id, "ct_")+"@example.com", blocked)
		if err := e.db.SaveSyncState(ctx, &synclayer.SyncState{RecordKey: id, Destination: "brevo", RemoteID: id, State: json.RawMessage(st)}, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Add(time.Minute)
	events, _ := e.pass(t, "")
	var got []string
	for _, ev := range events {
		got = append(got, ev.Customer.Email())
	}
	if len(got) != 1 || got[0] != "news@example.com" {
		t.Errorf("reconciled %v, want only news@example.com: the block of known@example.com is recorded already", got)
	}
}
