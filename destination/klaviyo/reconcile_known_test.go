package klaviyo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/klaviyo/klaviyospec"
)

func contact(id, email string, consent synclayer.ConsentState, at time.Time) *synclayer.Contact {
	return &synclayer.Contact{ID: id, Email: email, Version: 1,
		Fields:       map[string]synclayer.Field{"email": {Value: json.RawMessage(`"` + email + `"`), At: at, Source: "shop"}},
		EmailConsent: synclayer.Consent{State: consent, At: at}}
}

// deliver runs customer-sync for c as the shared runner does, recording
// the sync state in the store at the test clock's now.
func (e *reconcileEnv) deliver(t *testing.T, cs synclayer.ContactSync, c *synclayer.Contact) {
	t.Helper()
	ctx := context.Background()
	var prev json.RawMessage
	if st, err := e.db.FindSyncState(ctx, c.ID, "klaviyo"); err == nil {
		prev = st.State
	}
	plan, err := cs.Plan(c, prev)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Op != synclayer.PlanNone {
		if _, err := cs.Apply(ctx, c, plan); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.SaveSyncState(ctx, &synclayer.SyncState{RecordKey: c.ID, Destination: "klaviyo", RemoteID: c.ID, State: plan.Next}, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestReconcile_OwnUnsubscribeIsNoNews: synclayer's own unsubscribe, read
// back as Klaviyo's suppression and Unsubscribed from Email Marketing
// event, is no news, while the same profile's later hard bounce, and an
// unsubscribe inside Klaviyo long after synclayer's, are; so is another
// profile's unsubscribe at the same time.
func TestReconcile_OwnUnsubscribeIsNoNews(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	ctx := context.Background()
	cs, err := e.d.ContactSync(synclayer.ContactSyncConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(t, cs, contact("ct_known", "known@example.com", synclayer.ConsentSubscribed, e.clk.Now()))
	e.put("news@example.com", "ct_news", klaviyo.ConsentSubscribed)
	e.clk.Add(time.Minute)
	e.deliver(t, cs, contact("ct_known", "known@example.com", synclayer.ConsentUnsubscribed, e.clk.Now())) // opted out elsewhere
	if p, _ := e.sim.Profile("ct_known"); p.EmailConsent != klaviyo.ConsentUnsubscribed || len(e.sim.EventsNamed(klaviyosim.MetricUnsubscribedEmail)) != 1 {
		t.Fatalf("synclayer's unsubscribe left %s and %d Klaviyo events", p.EmailConsent, len(e.sim.EventsNamed(klaviyosim.MetricUnsubscribedEmail)))
	}
	e.clk.Add(30 * time.Second)
	e.sim.UnsubscribeInKlaviyo("news@example.com")
	e.clk.Add(time.Minute)
	// fresh keeps the events whose key no earlier pass returned, as ingest
	// counts them: a pass reads again what the overlap covers.
	seen := map[string]bool{}
	fresh := func(events []*synclayer.Event) []*synclayer.Event {
		var out []*synclayer.Event
		for _, ev := range events {
			if !seen[ev.DedupeKey] {
				out = append(out, ev)
			}
		}
		for _, ev := range out {
			seen[ev.DedupeKey] = true
		}
		return out
	}
	events, cursor := e.pass(t, "")
	if got := optOuts(fresh(events)); len(got) != 1 || got["news@example.com"] == nil {
		t.Fatalf("reconciled %v, want news@ alone: known@'s unsubscribe is synclayer's own", keys(got))
	}

	bounced := e.clk.Add(2 * time.Hour)
	e.sim.Suppress("ct_known", "HARD_BOUNCE")
	e.clk.Add(time.Minute)
	events, cursor = e.pass(t, cursor)
	if ev := only(t, optOuts(fresh(events)), "known@example.com"); payloadKind(ev) != klaviyo.KindHardBounce || !ev.OccurredAt.Equal(bounced) {
		t.Errorf("after the bounce: %s at %s, want the hard bounce at %s", payloadKind(ev), ev.OccurredAt, bounced)
	}

	// Subscribed again inside Klaviyo (a signup form), then unsubscribed
	// there: the state still says synclayer unsubscribed the profile, but
	// hours ago, so this is no echo.
	if err := e.d.Client().Subscribe(ctx, "", "", klaviyo.Subscriber{Email: "known@example.com"}); err != nil {
		t.Fatal(err)
	}
	unsubscribed := e.clk.Add(time.Minute)
	e.sim.UnsubscribeInKlaviyo("ct_known")
	e.clk.Add(time.Minute)
	events, _ = e.pass(t, cursor)
	if ev := only(t, optOuts(fresh(events)), "known@example.com"); payloadKind(ev) != klaviyo.KindUnsubscribe || !ev.OccurredAt.Equal(unsubscribed) {
		t.Errorf("after the unsubscribe inside Klaviyo: %s at %s, want an unsubscribe at %s", payloadKind(ev), ev.OccurredAt, unsubscribed)
	}
}

// TestReconcile_Paging follows the cursors through pages of two while
// opt-outs are added between the pages: each opt-out of the pass is
// reported once by key, a profile read once is read once, and what
// happened during the pass is found by it or by the next.
func TestReconcile_Paging(t *testing.T) {
	t.Parallel()
	e := mustReconcileEnv(t, "")
	klaviyo.SetReconcilePage(e.d, 2)
	var bounced, unsubscribed []string
	for i := 1; i <= 7; i++ {
		email := fmt.Sprintf("b%02d@example.com", i)
		e.put(email, "", klaviyo.ConsentSubscribed)
		e.sim.Suppress(email, "HARD_BOUNCE")
		bounced = append(bounced, email)
		e.clk.Add(time.Second)
	}
	for i := 1; i <= 5; i++ {
		email := fmt.Sprintf("u%02d@example.com", i)
		e.put(email, "", klaviyo.ConsentSubscribed)
		e.sim.UnsubscribeInKlaviyo(email)
		unsubscribed = append(unsubscribed, email)
		e.clk.Add(time.Second)
	}
	e.clk.Add(time.Minute)

	var events []*synclayer.Event
	read := func(cursor string) (string, bool) {
		evs, next, more := e.reconcile(t, cursor)
		events = append(events, evs...)
		e.clk.Add(time.Second)
		return next, more
	}
	cursor, more := read("")
	if !more {
		t.Fatal("a full page: more is false")
	}
	e.sim.Suppress("b01@example.com", "USER_SUPPRESSED") // read already: moves it to the end
	e.put("late@example.com", "", klaviyo.ConsentSubscribed)
	e.sim.UnsubscribeInKlaviyo("late@example.com") // joins the end
	pages := 1
	for more {
		cursor, more = read(cursor)
		if pages++; pages > 30 {
			t.Fatal("no end")
		}
	}
	got := optOuts(events)
	raw := map[string]int{}
	for _, ev := range events {
		raw[ev.Customer.Email()]++
	}
	for _, email := range bounced[1:] {
		if len(got[email]) != 1 || raw[email] != 1 {
			t.Errorf("%s: %d opt-outs in %d events, want one, read once", email, len(got[email]), raw[email])
		}
	}
	for _, email := range append(unsubscribed, "late@example.com") {
		if len(got[email]) != 1 {
			t.Errorf("%s: %d opt-outs, want one (its suppression and its event share a key)", email, len(got[email]))
		}
	}
	if len(got["b01@example.com"]) != 2 {
		t.Errorf("b01: %d opt-outs, want the bounce and the later suppression", len(got["b01@example.com"]))
	}

	e.clk.Add(15 * time.Minute)
	seen := got
	events = nil
	for more = true; more; {
		cursor, more = read(cursor)
	}
	for email, byKey := range optOuts(events) {
		for k := range byKey {
			if seen[email][k] == nil {
				t.Errorf("the next pass found a new opt-out of %s; every one was found by the pass", email)
			}
		}
	}
}

func TestReconcile_Errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	refused := func(t *testing.T, err error, next string, status int) {
		t.Helper()
		var se *synclayer.Error
		if kind(err) != "permanent" || !errors.As(err, &se) || se.Field != "api_key" || se.Code != synclayer.EUNAUTHORIZED ||
			synclayer.HTTPStatus(err) != status || next != "" || !strings.Contains(err.Error(), "reconcile_interval: off") {
			t.Errorf("err = %v (%s), next %q; want a permanent EUNAUTHORIZED naming api_key, the cursor kept", err, kind(err), next)
		}
	}

	t.Run("Unauthorized", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, "")
		d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"pk_other","base_url":"`+e.url+`"}`), synclayer.DestinationEnv{})
		if err != nil {
			t.Fatal(err)
		}
		_, next, _, err := d.(*klaviyo.Destination).Reconcile(ctx, "", e.clk.Now(), e.db)
		refused(t, err, next, http.StatusUnauthorized)
	})
	t.Run("Forbidden", func(t *testing.T) { // a key without the read scopes
		t.Parallel()
		v := klaviyospec.Load(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := v.Validate(r, body); err != nil {
				t.Errorf("the spec rejects %s %s: %v", r.Method, r.URL, err)
			}
			w.Header().Set("Content-Type", "application/vnd.api+json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":[{"id":"1","status":403,"code":"permission_denied","title":"You do not have permission to perform this action.","detail":"You do not have permission to perform this action."}]}`)
		}))
		t.Cleanup(srv.Close)
		d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"`+testKey+`","base_url":"`+srv.URL+`"}`), synclayer.DestinationEnv{})
		if err != nil {
			t.Fatal(err)
		}
		_, next, _, err := d.(*klaviyo.Destination).Reconcile(ctx, "", reconcileStart, nil)
		refused(t, err, next, http.StatusForbidden)
	})
	t.Run("RateLimited", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, "")
		e.sim.SetLimit("profiles", klaviyosim.Limit{Burst: 10, Steady: 1})
		// Another client of the key spends the window (the clock stands still).
		r, _ := http.NewRequest("GET", e.url+"/api/profiles", nil)
		r.Header.Set("Authorization", "Klaviyo-API-Key "+testKey)
		r.Header.Set("revision", klaviyo.Revision)
		if resp, err := http.DefaultClient.Do(r); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		const cursor = `{"v":1,"since":"2026-05-01T11:00:00Z","next":"2026-05-01T11:50:00Z","streams":["suppressions"]}`
		_, next, _, err := e.d.Reconcile(ctx, cursor, e.clk.Now(), e.db)
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || ra.After <= 0 || next != cursor {
			t.Errorf("err = %v, next %q; want a RetryAfter error and the cursor kept", err, next)
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, "")
		for _, cursor := range []string{"2026-05-01T11:00:00Z", `{"v":2,"since":"2026-05-01T11:00:00Z"}`, `{"v":1}`,
			`{"v":1,"since":"2026-05-01T11:00:00Z","next":"2026-05-01T11:50:00Z"}`,
			`{"v":1,"since":"2026-05-01T11:00:00Z","next":"2026-05-01T11:50:00Z","streams":["suppressions"],"at":1}`,
			`{"v":1,"since":"2026-05-01T11:00:00Z","next":"2026-05-01T11:50:00Z","streams":["lists"]}`} {
			_, next, _, err := e.d.Reconcile(ctx, cursor, e.clk.Now(), e.db)
			var se *synclayer.Error
			if kind(err) != "permanent" || !errors.As(err, &se) || se.Field != "cursor" || next != cursor {
				t.Errorf("cursor %s: %v, want a permanent error naming the cursor, which is kept", cursor, err)
			}
		}
	})
	t.Run("Off", func(t *testing.T) {
		t.Parallel()
		e := mustReconcileEnv(t, `{"reconcile_interval":"off"}`)
		if e.d.ReconcileInterval() != 0 {
			t.Errorf("ReconcileInterval() = %v, want 0", e.d.ReconcileInterval())
		}
		if _, _, _, err := e.d.Reconcile(ctx, "", e.clk.Now(), e.db); len(fields(err)) != 1 || fields(err)[0] != "reconcile_interval" {
			t.Errorf("Reconcile while off: %v, want an error naming reconcile_interval", err)
		}
	})
}

func TestOpen_ReconcileInterval(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string // JSON; "" leaves the key out
		want  time.Duration
		bad   bool
	}{
		{value: "", want: klaviyo.DefaultReconcileInterval},
		{value: `"off"`}, {value: `"OFF"`}, {value: `"0"`}, {value: `0`}, {value: `false`},
		{value: `"1h"`, want: time.Hour},
		{value: `"1m"`, want: time.Minute},
		{value: `"30s"`, bad: true}, {value: `"25h"`, bad: true}, {value: `"fast"`, bad: true},
		{value: `"-5m"`, bad: true}, {value: `15`, bad: true}, {value: `true`, bad: true}, {value: `["15m"]`, bad: true},
	} {
		section := `{"api_key":"pk_x"}`
		if tt.value != "" {
			section = `{"api_key":"pk_x","reconcile_interval":` + tt.value + `}`
		}
		d, err := klaviyo.Open("klaviyo", json.RawMessage(section), synclayer.DestinationEnv{})
		switch {
		case tt.bad:
			if f := fields(err); len(f) != 1 || f[0] != "reconcile_interval" {
				t.Errorf("%s: %v (fields %v), want one error naming reconcile_interval", tt.value, err, f)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.value, err)
		case d.(synclayer.Reconciler).ReconcileInterval() != tt.want:
			t.Errorf("%s: ReconcileInterval() = %v, want %v", tt.value, d.(synclayer.Reconciler).ReconcileInterval(), tt.want)
		}
	}
}
