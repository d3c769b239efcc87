package mailchimp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newSync(tb testing.TB, e *env, hard bool) *mailchimp.ContactSync {
	tb.Helper()
	cs, err := mailchimp.NewContactSync(e.client, synclayer.ContactSyncConfig{
		Options: raw(map[string]any{"audience_id": audience}), HardDelete: hard})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cs.Prepare(context.Background(), true); err != nil {
		tb.Fatal(err)
	}
	return cs
}

func contact(email string, consent synclayer.ConsentState, fields map[string]any) *synclayer.Contact {
	c := &synclayer.Contact{ID: "c1", Email: email, Fields: map[string]synclayer.Field{}}
	c.Fields[synclayer.FieldEmail] = synclayer.Field{Value: raw(email), At: t0}
	for k, v := range fields {
		c.Fields[k] = synclayer.Field{Value: raw(v), At: t0}
	}
	c.EmailConsent = consentAt(consent, t0)
	return c
}

func consentAt(state synclayer.ConsentState, at time.Time) synclayer.Consent {
	c := synclayer.Consent{State: state, At: at}
	switch state {
	case synclayer.ConsentSubscribed:
		c.OptInAt = at
	case synclayer.ConsentUnsubscribed:
		c.OptOutAt = at
	}
	return c
}

// deliver plans and applies c against prev, as the runner does, and
// returns the state to hold next.
func deliver(tb testing.TB, cs *mailchimp.ContactSync, c *synclayer.Contact, prev json.RawMessage) (*synclayer.Plan, json.RawMessage) {
	tb.Helper()
	plan, err := cs.Plan(c, prev)
	if err != nil {
		tb.Fatalf("plan: %v", err)
	}
	if plan.Op == synclayer.PlanNone {
		return plan, plan.Next
	}
	if _, err := cs.Apply(context.Background(), c, plan); err != nil {
		tb.Fatalf("apply: %v", err)
	}
	return plan, plan.Next
}

// putBodies returns the bodies of every PUT the simulator received.
func putBodies(e *env) []map[string]any {
	var out []map[string]any
	for _, c := range e.sim.CallsTo("PUT", "/lists/") {
		var m map[string]any
		json.Unmarshal(c.Body, &m)
		out = append(out, m)
	}
	return out
}

func noSubscribeSent(t *testing.T, e *env, from int) {
	t.Helper()
	for _, b := range putBodies(e)[from:] {
		if b["status"] == "subscribed" {
			t.Fatalf("a PUT sent status subscribed: %v", b)
		}
	}
}

func member(t *testing.T, e *env, email string) mailchimpsim.Member {
	t.Helper()
	m, ok := e.sim.MemberOf(audience, email)
	if !ok {
		t.Fatalf("no member %s", email)
	}
	return m
}

func TestContactSync_Create(t *testing.T) {
	for _, tc := range []struct {
		name       string
		consent    synclayer.ConsentState
		wantStatus string
		sendStatus bool
	}{
		{"ConsentingIsSubscribed", synclayer.ConsentSubscribed, "subscribed", true},
		{"NoConsentIsTransactional", synclayer.ConsentUnknown, "transactional", false},
		{"WithdrawnIsTransactional", synclayer.ConsentNone, "transactional", false},
		{"OptedOutIsUnsubscribed", synclayer.ConsentUnsubscribed, "unsubscribed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
			cs := newSync(t, e, false)
			c := contact("ann@example.com", tc.consent, map[string]any{"firstName": "Ann", "totalOrders": 3, "lastOrderDate": "2026-02-01T10:00:00Z"})
			plan, _ := deliver(t, cs, c, nil)
			if plan.Op != synclayer.PlanCreate {
				t.Fatalf("op = %s", plan.Op)
			}
			m := member(t, e, "ann@example.com")
			if m.Status != tc.wantStatus {
				t.Fatalf("status = %s, want %s", m.Status, tc.wantStatus)
			}
			if m.MergeFields["FNAME"] != "Ann" || m.MergeFields["ORDERS"] != 3.0 || m.MergeFields["LASTORDER"] != "2026-02-01" {
				t.Fatalf("merge fields = %v", m.MergeFields)
			}
			body := putBodies(e)[0]
			if _, has := body["status"]; has != tc.sendStatus {
				t.Fatalf("status sent = %v, want %v (body %v)", has, tc.sendStatus, body)
			}
		})
	}
}

func TestContactSync_Update(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	c := contact("ann@example.com", synclayer.ConsentSubscribed, map[string]any{"firstName": "Ann", "lastName": "Lee", "tags": []string{"vip"}})
	_, st := deliver(t, cs, c, nil)

	t.Run("OnlyChangedFields", func(t *testing.T) {
		c.Fields["firstName"] = synclayer.Field{Value: raw("Anna"), At: t0.Add(time.Hour)}
		c.Fields["tags"] = synclayer.Field{Value: raw([]string{"gold"}), At: t0.Add(time.Hour)}
		n := len(putBodies(e))
		_, st = deliver(t, cs, c, st)
		body := putBodies(e)[n]
		mf, _ := body["merge_fields"].(map[string]any)
		if len(mf) != 1 || mf["FNAME"] != "Anna" {
			t.Fatalf("merge fields sent = %v, want only FNAME", mf)
		}
		if _, has := body["status"]; has {
			t.Fatalf("status resent on an update: %v", body)
		}
		if m := member(t, e, "ann@example.com"); len(m.Tags) != 1 || m.Tags[0] != "gold" {
			t.Fatalf("tags = %v", m.Tags)
		}
	})
	t.Run("NoOp", func(t *testing.T) {
		n := len(e.sim.Calls())
		plan, _ := deliver(t, cs, c, st)
		if plan.Op != synclayer.PlanNone || plan.Reason == "" || len(e.sim.Calls()) != n {
			t.Fatalf("plan = %+v, calls %d → %d", plan, n, len(e.sim.Calls()))
		}
	})
	t.Run("EmailChangeMovesMember", func(t *testing.T) {
		c.Fields["email"] = synclayer.Field{Value: raw("ann.lee@example.com"), At: t0.Add(2 * time.Hour)}
		c.Email = "ann.lee@example.com"
		_, st = deliver(t, cs, c, st)
		if _, ok := e.sim.MemberOf(audience, "ann@example.com"); ok {
			t.Fatal("the old address is still a member")
		}
		if m := member(t, e, "ann.lee@example.com"); m.Status != "subscribed" || m.MergeFields["FNAME"] != "Anna" {
			t.Fatalf("moved member = %+v", m)
		}
	})
}

func TestContactSync_Consent(t *testing.T) {
	t.Run("OptOutThenStaleUpdatesNeverResubscribe", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		c := contact("bo@example.com", synclayer.ConsentSubscribed, map[string]any{"firstName": "Bo"})
		_, st := deliver(t, cs, c, nil)
		c.EmailConsent = synclayer.Consent{State: synclayer.ConsentUnsubscribed, At: t0.Add(time.Hour), OptInAt: t0, OptOutAt: t0.Add(time.Hour)}
		plan, err := cs.Plan(c, st)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(plan.Intent), `"unsubscribedByUs":true`) {
			t.Fatalf("intent = %s, want the unsubscribe marked as ours", plan.Intent)
		}
		if _, err := cs.Apply(context.Background(), c, plan); err != nil {
			t.Fatal(err)
		}
		st = plan.Next
		if m := member(t, e, "bo@example.com"); m.Status != "unsubscribed" {
			t.Fatalf("status = %s", m.Status)
		}
		n := len(putBodies(e))
		c.Fields["firstName"] = synclayer.Field{Value: raw("Bob"), At: t0.Add(2 * time.Hour)}
		_, st = deliver(t, cs, c, st)
		_, _ = deliver(t, cs, c, st)
		noSubscribeSent(t, e, n)
		if m := member(t, e, "bo@example.com"); m.Status != "unsubscribed" || m.MergeFields["FNAME"] != "Bob" {
			t.Fatalf("member = %+v", m)
		}
	})
	t.Run("WithdrawnConsentStopsMarketing", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		c := contact("wy@example.com", synclayer.ConsentSubscribed, map[string]any{"firstName": "Wy"})
		_, st := deliver(t, cs, c, nil)
		if m := member(t, e, "wy@example.com"); m.Status != "subscribed" {
			t.Fatalf("after the opt-in: %s", m.Status)
		}
		c.EmailConsent = synclayer.Consent{State: synclayer.ConsentNone, At: t0.Add(time.Hour), OptInAt: t0, WithdrawnAt: t0.Add(time.Hour)}
		_, st = deliver(t, cs, c, st)
		if m := member(t, e, "wy@example.com"); m.Status != "unsubscribed" {
			t.Fatalf("after the consent synclayer subscribed on was withdrawn, the member is %s, want unsubscribed", m.Status)
		}
		// A signup made inside Mailchimp is not synclayer's to undo.
		e.sim.SignUp(audience, "form@example.com", "subscribed")
		f := contact("form@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Fo"})
		f.ID = "c2"
		f.EmailConsent = synclayer.Consent{State: synclayer.ConsentNone, At: t0, WithdrawnAt: t0}
		_, _ = deliver(t, cs, f, nil)
		if m := member(t, e, "form@example.com"); m.Status != "subscribed" {
			t.Fatalf("a member who signed up in Mailchimp is %s, want still subscribed", m.Status)
		}
	})
	t.Run("UnsubscribedInMailchimpThenNewerOptInIsPending", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{Now: func() time.Time { return t0.Add(time.Hour) }}, mailchimp.Config{})
		cs := newSync(t, e, false)
		c := contact("cy@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Cy"})
		_, st := deliver(t, cs, c, nil)
		e.sim.UnsubscribeInMailchimp(audience, "cy@example.com")
		n := len(putBodies(e))
		c.EmailConsent = consentAt(synclayer.ConsentSubscribed, t0.Add(2*time.Hour))
		_, _ = deliver(t, cs, c, st)
		noSubscribeSent(t, e, n)
		if m := member(t, e, "cy@example.com"); m.Status != "pending" || m.Confirmations != 1 {
			t.Fatalf("member = %+v, want pending with one confirmation", m)
		}
	})
	t.Run("ReadBackUnsubscribedOlderOptInLeftAlone", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{Now: func() time.Time { return t0.Add(3 * time.Hour) }}, mailchimp.Config{})
		cs := newSync(t, e, false)
		e.sim.SignUp(audience, "di@example.com", "subscribed")
		e.sim.UnsubscribeInMailchimp(audience, "di@example.com")
		c := contact("di@example.com", synclayer.ConsentSubscribed, nil) // opted in at t0, before the unsubscribe
		st, err := cs.ReadBack(context.Background(), c, nil)
		if err != nil || st == nil {
			t.Fatalf("readback = %s, %v", st, err)
		}
		_, _ = deliver(t, cs, c, st)
		noSubscribeSent(t, e, 0)
		if m := member(t, e, "di@example.com"); m.Status != "unsubscribed" {
			t.Fatalf("status = %s", m.Status)
		}
	})
	t.Run("CleanedNeverResubscribed", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		c := contact("ed@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Ed"})
		_, st := deliver(t, cs, c, nil)
		e.sim.CleanInMailchimp(audience, "ed@example.com")
		c.EmailConsent = consentAt(synclayer.ConsentSubscribed, t0.Add(time.Hour))
		_, st = deliver(t, cs, c, st)
		c.EmailConsent = consentAt(synclayer.ConsentSubscribed, t0.Add(2*time.Hour))
		_, _ = deliver(t, cs, c, st)
		noSubscribeSent(t, e, 1)
		if m := member(t, e, "ed@example.com"); m.Status != "cleaned" {
			t.Fatalf("status = %s", m.Status)
		}
	})
	t.Run("UnsubscribeAfterPlanningIsRechecked", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		c := contact("fi@example.com", synclayer.ConsentSubscribed, nil)
		plan, err := cs.Plan(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The person signs up and unsubscribes inside Mailchimp after the
		// plan was made; Apply's recheck must catch it.
		e.sim.SignUp(audience, "fi@example.com", "subscribed")
		e.sim.UnsubscribeInMailchimp(audience, "fi@example.com")
		c.EmailConsent = consentAt(synclayer.ConsentSubscribed, t0.Add(-time.Hour)) // older than the unsubscribe
		_, err = cs.Apply(context.Background(), c, plan)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if m := member(t, e, "fi@example.com"); m.Status != "unsubscribed" {
			t.Fatalf("status = %s", m.Status)
		}
	})
}

func TestContactSync_Delete(t *testing.T) {
	for _, hard := range []bool{false, true} {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, hard)
		c := contact("gu@example.com", synclayer.ConsentSubscribed, nil)
		_, st := deliver(t, cs, c, nil)
		c.Deleted = true
		plan, st := deliver(t, cs, c, st)
		if plan.Op != synclayer.PlanDelete {
			t.Fatalf("hard=%v: op = %s", hard, plan.Op)
		}
		m, ok := e.sim.MemberOf(audience, "gu@example.com")
		if hard {
			if ok || !e.sim.Forgotten(audience, "gu@example.com") {
				t.Fatalf("hard delete left %+v", m)
			}
			c.Deleted = false
			if _, err := cs.Plan(c, st); !isPermanent(err) {
				t.Fatalf("re-adding a forgotten address: err = %v, want permanent", err)
			}
			continue
		}
		if !ok || m.Status != "archived" {
			t.Fatalf("soft delete: member = %+v", m)
		}
		c.Deleted = false
		_, _ = deliver(t, cs, c, st)
		if m := member(t, e, "gu@example.com"); m.Status != "subscribed" {
			t.Fatalf("re-added member = %+v", m)
		}
	}
}

func TestContactSync_Failures(t *testing.T) {
	t.Run("InvalidEmailIsPermanent", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		_, err := cs.Plan(contact("not an email", synclayer.ConsentSubscribed, nil), nil)
		if !isPermanent(err) || strings.Contains(err.Error(), "not an email") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OutageIsRetryable", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		c := contact("ha@example.com", synclayer.ConsentNone, nil)
		plan, _ := cs.Plan(c, nil)
		e.sim.SetOutage(mailchimpsim.Outage500)
		if _, err := cs.Apply(context.Background(), c, plan); err == nil || isPermanent(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
	})
	t.Run("TooManyRequestsIsRetried", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{ConnectionLimit: 1}, mailchimp.Config{Backoff: 40 * time.Millisecond})
		cs := newSync(t, e, false)
		e.sim.SetLatency(100 * time.Millisecond)
		other, _ := mailchimp.New(mailchimp.Config{APIKey: e.key, BaseURL: e.base, MaxConnections: 2})
		go other.ListMergeFields(context.Background(), audience)
		time.Sleep(30 * time.Millisecond)
		c := contact("io@example.com", synclayer.ConsentNone, nil)
		deliver(t, cs, c, nil)
		if member(t, e, "io@example.com").Status != "transactional" {
			t.Fatal("not delivered")
		}
		saw429 := false
		for _, call := range e.sim.Calls() {
			saw429 = saw429 || call.Status == 429
		}
		if !saw429 {
			t.Fatal("no 429 was met; the test did not exercise the retry")
		}
	})
}
