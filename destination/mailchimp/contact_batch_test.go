package mailchimp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

func TestContactSync_PlanBatch(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	// delivered is a contact synclayer delivered before, and its state.
	delivered := func(email string, consent synclayer.ConsentState, fields map[string]any) (*synclayer.Contact, json.RawMessage) {
		c := contact(email, consent, fields)
		_, st := deliver(t, cs, c, nil)
		return c, st
	}
	withState := func(st json.RawMessage, edit func(m map[string]any)) json.RawMessage {
		var m map[string]any
		json.Unmarshal(st, &m)
		edit(m)
		return raw(m)
	}
	at := t0.Add(time.Hour)
	set := func(c *synclayer.Contact, field string, v any) *synclayer.Contact {
		c.Fields[field] = synclayer.Field{Value: raw(v), At: at}
		return c
	}

	for _, tc := range []struct {
		name     string
		build    func() (*synclayer.Contact, json.RawMessage)
		realtime string // "" for a row
		same     bool   // Unchanged
	}{
		{name: "NewWithoutConsentIsARow", build: func() (*synclayer.Contact, json.RawMessage) {
			return contact("new@example.com", synclayer.ConsentUnknown, map[string]any{"firstName": "Ny"}), nil
		}},
		{name: "MergeChangeIsARow", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("mc@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Mo"})
			return set(c, "firstName", "Moe"), st
		}},
		{name: "SignedUpInMailchimpIsARow", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("su@example.com", synclayer.ConsentUnknown, map[string]any{"firstName": "Su"})
			st = withState(st, func(m map[string]any) { m["status"] = "subscribed" })
			return set(c, "firstName", "Sue"), st
		}},
		{name: "UnchangedIsUnchanged", same: true, build: func() (*synclayer.Contact, json.RawMessage) {
			return delivered("un@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Un"})
		}},
		{name: "NewOptInIsRealtime", realtime: "status subscribed", build: func() (*synclayer.Contact, json.RawMessage) {
			return contact("oi@example.com", synclayer.ConsentSubscribed, nil), nil
		}},
		{name: "SubscribedOptInIsRealtime", realtime: "status_if_new subscribed", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("so@example.com", synclayer.ConsentSubscribed, map[string]any{"firstName": "So"})
			return set(c, "firstName", "Sol"), st
		}},
		{name: "OptOutIsRealtime", realtime: "opt-out", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("oo@example.com", synclayer.ConsentSubscribed, nil)
			c.EmailConsent = consentAt(synclayer.ConsentUnsubscribed, at)
			return c, st
		}},
		{name: "KnownOptOutIsRealtime", realtime: "opt-out", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("ko@example.com", synclayer.ConsentUnsubscribed, map[string]any{"firstName": "Ko"})
			return set(c, "firstName", "Kody"), st
		}},
		{name: "WithdrawalIsRealtime", realtime: "status unsubscribed", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("wd@example.com", synclayer.ConsentSubscribed, nil)
			c.EmailConsent = synclayer.Consent{State: synclayer.ConsentNone, At: at, WithdrawnAt: at}
			return c, st
		}},
		{name: "PendingIsRealtime", realtime: "a pending", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("pe@example.com", synclayer.ConsentUnsubscribed, nil)
			c.EmailConsent = consentAt(synclayer.ConsentSubscribed, at)
			return c, st
		}},
		{name: "UnknownStatusIsRealtime", realtime: "does not know", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("us@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Us"})
			st = withState(st, func(m map[string]any) { delete(m, "status") })
			return set(c, "firstName", "Ursula"), st
		}},
		{name: "DeleteIsRealtime", realtime: "a delete", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("de@example.com", synclayer.ConsentNone, nil)
			c.Deleted = true
			return c, st
		}},
		{name: "ClearedFieldIsRealtime", realtime: "clear", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("cf@example.com", synclayer.ConsentNone, map[string]any{"firstName": "Cf", "lastName": "Lee"})
			delete(c.Fields, "lastName")
			return c, st
		}},
		{name: "EmailChangeIsRealtime", realtime: "email change", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("ec@example.com", synclayer.ConsentNone, nil)
			c.Email = "ec2@example.com"
			return set(c, synclayer.FieldEmail, "ec2@example.com"), st
		}},
		{name: "TagOnlyChangeIsATagsOnlyRow", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("tg@example.com", synclayer.ConsentNone, map[string]any{"tags": []string{"a"}})
			return set(c, "tags", []string{"b"}), st
		}},
		{name: "NewTaggedIsARow", build: func() (*synclayer.Contact, json.RawMessage) {
			return contact("nt@example.com", synclayer.ConsentUnknown, map[string]any{"firstName": "Nt", "tags": []string{"vip"}}), nil
		}},
		{name: "TaggedOptOutIsRealtime", realtime: "opt-out", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("to@example.com", synclayer.ConsentSubscribed, map[string]any{"tags": []string{"a"}})
			c.EmailConsent = consentAt(synclayer.ConsentUnsubscribed, at)
			return set(c, "tags", []string{"b"}), st
		}},
		{name: "TaggedOptInIsRealtime", realtime: "status subscribed", build: func() (*synclayer.Contact, json.RawMessage) {
			return contact("ti@example.com", synclayer.ConsentSubscribed, map[string]any{"tags": []string{"vip"}}), nil
		}},
		{name: "TaggedEmailChangeIsRealtime", realtime: "email change", build: func() (*synclayer.Contact, json.RawMessage) {
			c, st := delivered("te@example.com", synclayer.ConsentNone, map[string]any{"tags": []string{"a"}})
			c.Email = "te2@example.com"
			set(c, "tags", []string{"b"})
			return set(c, synclayer.FieldEmail, "te2@example.com"), st
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, prev := tc.build()
			plan, err := cs.Plan(c, prev)
			if err != nil {
				t.Fatal(err)
			}
			row, err := cs.PlanBatch(c, prev)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.same:
				if !row.Unchanged || row.Realtime != "" || row.Row != nil {
					t.Fatalf("row = %+v, want Unchanged", row)
				}
				return
			case tc.realtime != "":
				if !strings.Contains(row.Realtime, tc.realtime) || row.Row != nil || row.Unchanged {
					t.Fatalf("row = %+v, want Realtime %q", row, tc.realtime)
				}
				return
			}
			if row.Realtime != "" || row.Unchanged || row.Group != "" {
				t.Fatalf("row = %+v, want a row in group \"\"", row)
			}
			var body map[string]any
			json.Unmarshal(row.Row, &body)
			keys := slices.Sorted(maps.Keys(body))
			allowed := [][]string{{"email_address", "merge_fields", "status_if_new"}, {"email_address", "status_if_new"},
				{"email_address", "merge_fields", "status_if_new", "tags"}, {"email_address", "status_if_new", "tags", "tags_only"}}
			if body["status_if_new"] != "transactional" || slices.Contains(keys, "status") ||
				!slices.ContainsFunc(allowed, func(a []string) bool { return slices.Equal(a, keys) }) {
				t.Fatalf("row = %s", row.Row)
			}
			if string(row.Next) != string(plan.Next) {
				t.Fatalf("Next = %s, want Plan's %s", row.Next, plan.Next)
			}
		})
	}
	t.Run("ForgottenIsPermanent", func(t *testing.T) {
		hard := newSync(t, e, true)
		c := contact("fg@example.com", synclayer.ConsentNone, nil)
		_, st := deliver(t, hard, c, nil)
		c.Deleted = true
		_, st = deliver(t, hard, c, st)
		c.Deleted = false
		if _, err := hard.PlanBatch(c, st); !isPermanent(err) {
			t.Fatalf("err = %v, want permanent", err)
		}
	})
}

// waitBatch polls CheckBatch until done, as the flusher does, and
// returns the refused rows and how many polls said not done.
func waitBatch(tb testing.TB, cs *mailchimp.ContactSync, id string) (map[int]string, int) {
	tb.Helper()
	for polls := 0; polls < 20; polls++ {
		done, refused, err := cs.CheckBatch(context.Background(), id)
		if err != nil {
			tb.Fatalf("check batch: %v", err)
		}
		if done {
			return refused, polls
		}
	}
	tb.Fatal("the batch never finished")
	return nil, 0
}

// batchOf plans contacts for the batch, failing tb on any that is not a row.
func batchOf(tb testing.TB, cs *mailchimp.ContactSync, contacts []*synclayer.Contact, prev []json.RawMessage) []json.RawMessage {
	tb.Helper()
	var rows []json.RawMessage
	for i, c := range contacts {
		var p json.RawMessage
		if prev != nil {
			p = prev[i]
		}
		row, err := cs.PlanBatch(c, p)
		if err != nil || row.Row == nil {
			tb.Fatalf("contact %d: row = %+v, err = %v", i, row, err)
		}
		rows = append(rows, row.Row)
	}
	return rows
}

func TestContactSync_SendBatch(t *testing.T) {
	if max, bytes := (&mailchimp.ContactSync{}).BatchLimits(); max != 500 || bytes <= 0 {
		t.Fatalf("limits = %d, %d", max, bytes)
	}
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	var contacts []*synclayer.Contact
	for i := range 230 {
		contacts = append(contacts, contact(fmt.Sprintf("p%03d@example.com", i), synclayer.ConsentUnknown,
			map[string]any{"firstName": fmt.Sprintf("P%d", i), "totalOrders": i}))
	}
	rows := batchOf(t, cs, contacts, nil)
	id, err := cs.SendBatch(context.Background(), "", rows)
	if err != nil || id == "" {
		t.Fatalf("send: id %q, err %v", id, err)
	}
	refused, polls := waitBatch(t, cs, id)
	if len(refused) != 0 {
		t.Fatalf("refused = %v", refused)
	}
	if polls == 0 {
		t.Fatal("the first check said done: the batch's progress was not followed")
	}
	batches := e.sim.Batches()
	if len(batches) != 1 || len(batches[0].Operations) != 230 {
		t.Fatalf("batches = %d", len(batches))
	}
	for i, op := range batches[0].Operations {
		if op.Method != "PUT" || op.OperationID == nil || *op.OperationID != fmt.Sprint(i) || strings.Contains(op.Body, `"status"`) {
			t.Fatalf("operation %d = %+v", i, op)
		}
	}
	for i := range 230 {
		m := member(t, e, fmt.Sprintf("p%03d@example.com", i))
		if m.Status != "transactional" || m.MergeFields["FNAME"] != fmt.Sprintf("P%d", i) || m.MergeFields["ORDERS"] != float64(i) {
			t.Fatalf("member %d = %+v", i, m)
		}
	}
	t.Run("RefusesTooMany", func(t *testing.T) {
		_, err := cs.SendBatch(context.Background(), "", make([]json.RawMessage, 501))
		if !isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("RefusesOtherGroups", func(t *testing.T) {
		if _, err := cs.SendBatch(context.Background(), "quiet", rows[:1]); !isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestContactSync_CheckBatch_Refused(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, true)
	gone := contact("gone@example.com", synclayer.ConsentNone, nil)
	_, st := deliver(t, cs, gone, nil)
	gone.Deleted = true
	deliver(t, cs, gone, st)

	var rows []json.RawMessage
	for i := range 12 {
		rows = append(rows, raw(map[string]any{"email_address": fmt.Sprintf("r%d@example.com", i), "status_if_new": "transactional",
			"merge_fields": map[string]any{"FNAME": "R"}}))
	}
	rows[3] = raw(map[string]any{"email_address": "gone@example.com", "status_if_new": "transactional"})
	rows[7] = raw(map[string]any{"email_address": "r7@example.com", "status_if_new": "transactional", "merge_fields": map[string]any{"NOPE": "x"}})
	id, err := cs.SendBatch(context.Background(), "", rows)
	if err != nil {
		t.Fatal(err)
	}
	refused, _ := waitBatch(t, cs, id)
	if len(refused) != 2 || !strings.Contains(refused[3], "Forgotten Email Not Subscribed") || !strings.Contains(refused[7], "Invalid Resource") {
		t.Fatalf("refused = %v", refused)
	}
	for i, why := range refused {
		if strings.Contains(why, "@example.com") {
			t.Fatalf("reason %d quotes an address: %s", i, why)
		}
	}
	if _, ok := e.sim.MemberOf(audience, "r7@example.com"); ok {
		t.Fatal("the refused row was applied")
	}
	if m := member(t, e, "r8@example.com"); m.Status != "transactional" {
		t.Fatalf("row 8 = %+v", m)
	}

	t.Run("ArchiveGoneRefusesAll", func(t *testing.T) {
		id, err := cs.SendBatch(context.Background(), "", rows[6:9])
		if err != nil {
			t.Fatal(err)
		}
		e.sim.FinishBatches()
		e.sim.ExpireBatchResults(id)
		done, refused, err := cs.CheckBatch(context.Background(), id)
		if err != nil || !done || len(refused) != 3 {
			t.Fatalf("done %v, refused %v, err %v", done, refused, err)
		}
	})
	t.Run("UnknownBatchIsPermanent", func(t *testing.T) {
		if _, _, err := cs.CheckBatch(context.Background(), "nosuchbatch"); !isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
}
