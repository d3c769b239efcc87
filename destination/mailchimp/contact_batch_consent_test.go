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

// TestContactSync_Batch_KeepsConsent sends rows for members Mailchimp
// holds unsubscribed or cleaned, some of whom synclayer believes
// otherwise, and checks no batch changes a status.
func TestContactSync_Batch_KeepsConsent(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	later := t0.Add(time.Hour)
	rename := func(c *synclayer.Contact, name string) {
		c.Fields["firstName"] = synclayer.Field{Value: raw(name), At: later}
	}
	var contacts []*synclayer.Contact
	var prev []json.RawMessage
	add := func(c *synclayer.Contact, st json.RawMessage) { contacts, prev = append(contacts, c), append(prev, st) }

	// Delivered as transactional; the person then unsubscribed inside
	// Mailchimp, which synclayer has not seen.
	stale := contact("stale@example.com", synclayer.ConsentUnknown, map[string]any{"firstName": "St"})
	_, st := deliver(t, cs, stale, nil)
	e.sim.UnsubscribeInMailchimp(audience, "stale@example.com")
	rename(stale, "Stan")
	add(stale, st)

	// Never delivered, already unsubscribed in Mailchimp (a backfill).
	e.sim.SignUp(audience, "back@example.com", "subscribed")
	e.sim.UnsubscribeInMailchimp(audience, "back@example.com")
	add(contact("back@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Bo"}), nil)

	// Opted out through synclayer; a later change carries an opt-in older
	// than the opt-out, which Plan leaves unsubscribed.
	old := contact("old@example.com", synclayer.ConsentUnsubscribed, map[string]any{"firstName": "Ol"})
	_, st = deliver(t, cs, old, nil)
	old.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: later, OptInAt: t0.Add(-time.Hour)}
	rename(old, "Olga")
	add(old, st)

	// Cleaned (bounced) in Mailchimp, with consent at the source.
	cl := contact("clean@example.com", synclayer.ConsentSubscribed, map[string]any{"firstName": "Cl"})
	_, st = deliver(t, cs, cl, nil)
	e.sim.CleanInMailchimp(audience, "clean@example.com")
	st, err := cs.ReadBack(context.Background(), cl, st)
	if err != nil {
		t.Fatal(err)
	}
	rename(cl, "Clara")
	add(cl, st)

	rows := batchOf(t, cs, contacts, prev)
	id, err := cs.SendBatch(context.Background(), "", rows)
	if err != nil {
		t.Fatal(err)
	}
	if refused, _ := waitBatch(t, cs, id); len(refused) != 0 {
		t.Fatalf("refused = %v", refused)
	}
	for email, want := range map[string][2]string{
		"stale@example.com": {"unsubscribed", "Stan"}, "back@example.com": {"unsubscribed", "Bo"},
		"old@example.com": {"unsubscribed", "Olga"}, "clean@example.com": {"cleaned", "Clara"},
	} {
		if m := member(t, e, email); m.Status != want[0] || m.MergeFields["FNAME"] != want[1] || m.Confirmations != 0 {
			t.Errorf("%s = %+v, want %s with FNAME %s", email, m, want[0], want[1])
		}
	}
	for _, op := range e.sim.Batches()[0].Operations {
		var body map[string]any
		json.Unmarshal([]byte(op.Body), &body)
		if _, has := body["status"]; has || body["status_if_new"] != "transactional" {
			t.Fatalf("an operation may change a status: %s", op.Body)
		}
	}

	t.Run("RowWithStatusIsRefused", func(t *testing.T) {
		before := len(e.sim.CallsTo("POST", "/batches"))
		for _, row := range []json.RawMessage{
			raw(map[string]any{"email_address": "stale@example.com", "status": "subscribed", "status_if_new": "transactional"}),
			raw(map[string]any{"email_address": "stale@example.com", "status_if_new": "subscribed"}),
			raw(map[string]any{"email_address": "stale@example.com", "status_if_new": "transactional", "tags": []string{"x"}}),
		} {
			if _, err := cs.SendBatch(context.Background(), "", []json.RawMessage{rows[1], row}); !isPermanent(err) {
				t.Fatalf("row %s: err = %v, want permanent", row, err)
			}
		}
		if len(e.sim.CallsTo("POST", "/batches")) != before {
			t.Fatal("a refused batch was sent")
		}
		if m := member(t, e, "stale@example.com"); m.Status != "unsubscribed" {
			t.Fatalf("member = %+v", m)
		}
	})
}

func TestContactSync_Batch_Failures(t *testing.T) {
	row := raw(map[string]any{"email_address": "of@example.com", "status_if_new": "transactional"})
	bad := raw(map[string]any{"email_address": "of2@example.com", "status_if_new": "transactional", "merge_fields": map[string]any{"NOPE": 1}})
	retryable := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil || isPermanent(err) {
			t.Fatalf("%s: err = %v, want retryable", what, err)
		}
	}
	for _, outage := range []mailchimpsim.Outage{mailchimpsim.Outage500, mailchimpsim.OutageDrop} {
		t.Run(map[mailchimpsim.Outage]string{mailchimpsim.Outage500: "500", mailchimpsim.OutageDrop: "Drop"}[outage], func(t *testing.T) {
			e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
			cs := newSync(t, e, false)
			e.sim.SetOutage(outage)
			_, err := cs.SendBatch(context.Background(), "", []json.RawMessage{row})
			retryable(t, "send", err)
			e.sim.SetOutage(mailchimpsim.OutageNone)

			id, err := cs.SendBatch(context.Background(), "", []json.RawMessage{row, bad})
			if err != nil {
				t.Fatal(err)
			}
			e.sim.FinishBatches()
			e.sim.SetOutage(outage)
			_, _, err = cs.CheckBatch(context.Background(), id)
			retryable(t, "check", err)
			e.sim.SetOutage(mailchimpsim.OutageNone)
			if refused, _ := waitBatch(t, cs, id); len(refused) != 1 || refused[1] == "" {
				t.Fatalf("refused = %v", refused)
			}
		})
	}
	t.Run("HeldIsNotDone", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		cs := newSync(t, e, false)
		e.sim.HoldBatches(true)
		id, _ := cs.SendBatch(context.Background(), "", []json.RawMessage{row})
		for range 6 {
			if done, _, err := cs.CheckBatch(context.Background(), id); done || err != nil {
				t.Fatalf("done %v, err %v while the batch is held", done, err)
			}
		}
		if _, ok := e.sim.MemberOf(audience, "of@example.com"); ok {
			t.Fatal("a held batch was applied")
		}
	})
	t.Run("TooManyPendingIsRetryAfter", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{Retries429: 1})
		cs := newSync(t, e, false)
		e.sim.HoldBatches(true)
		for i := range mailchimpsim.MaxPendingBatches {
			if _, err := cs.SendBatch(context.Background(), "", []json.RawMessage{row}); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
		_, err := cs.SendBatch(context.Background(), "", []json.RawMessage{row})
		if _, ok := retryAfter(err); !ok || !strings.Contains(err.Error(), "429") {
			t.Fatalf("err = %v, want RetryAfter on 429", err)
		}
	})
}
