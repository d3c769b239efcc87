package klaviyo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

// batcher is a harness for batch mode: it keeps each contact's state as
// the flusher does, recording Next of the rows Klaviyo applied.
type batcher struct {
	*harness
	b      synclayer.ContactBatcher
	states map[string]json.RawMessage
}

func mustBatcher(t *testing.T, so klaviyosim.Options, options string) *batcher {
	t.Helper()
	so.Lists = append(so.Lists, listID)
	e := mustEnv(t, so, klaviyo.Config{})
	d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"`+testKey+`","base_url":"`+e.url+`"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	cs, err := d.(*klaviyo.Destination).ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(options)})
	if err != nil {
		t.Fatalf("ContactSync: %v", err)
	}
	b, ok := cs.(synclayer.ContactBatcher)
	if !ok {
		t.Fatal("ContactSync is no ContactBatcher")
	}
	return &batcher{harness: &harness{env: e, cs: cs}, b: b, states: map[string]json.RawMessage{}}
}

// person is contact i, with no consent.
func person(i int) *synclayer.Contact {
	c := customer(synclayer.ConsentUnknown)
	c.ID, c.Email = fmt.Sprintf("01BATCH%05d", i), fmt.Sprintf("p%d@example.com", i)
	c.Fields["email"] = synclayer.Field{Value: json.RawMessage(`"` + c.Email + `"`), At: t0}
	c.Fields["firstName"] = synclayer.Field{Value: json.RawMessage(fmt.Sprintf(`"P%d"`, i)), At: t0}
	return c
}

// send plans every contact, sends the rows in one job and waits for it.
// It returns the realtime reasons by contact ID and the refused rows by
// contact ID, and records the Next of every applied or unchanged row.
func (b *batcher) send(t *testing.T, cs []*synclayer.Contact) (realtime, refused map[string]string) {
	t.Helper()
	realtime, refused = map[string]string{}, map[string]string{}
	var rows []json.RawMessage
	var sent []*synclayer.Contact
	nexts := map[string]json.RawMessage{}
	for _, c := range cs {
		r, err := b.b.PlanBatch(c, b.states[c.ID])
		switch {
		case err != nil:
			t.Fatalf("PlanBatch %s: %v", c.ID, err)
		case r.Unchanged:
			b.states[c.ID] = r.Next
		case r.Realtime != "":
			realtime[c.ID] = r.Realtime
		default:
			if r.Group != "" {
				t.Fatalf("group %q, want \"\"", r.Group)
			}
			rows, sent, nexts[c.ID] = append(rows, r.Row), append(sent, c), r.Next
		}
	}
	if len(rows) == 0 {
		return realtime, refused
	}
	id, err := b.b.SendBatch(context.Background(), "", rows)
	if err != nil || id == "" {
		t.Fatalf("SendBatch = %q, %v", id, err)
	}
	bad := b.wait(t, id)
	for i, c := range sent {
		if why, ok := bad[i]; ok {
			refused[c.ID] = why
			continue
		}
		b.states[c.ID] = nexts[c.ID]
	}
	return realtime, refused
}

func (b *batcher) wait(t *testing.T, id string) map[int]string {
	t.Helper()
	for range 5 {
		done, bad, err := b.b.CheckBatch(context.Background(), id)
		if err != nil {
			t.Fatalf("CheckBatch: %v", err)
		}
		if done {
			return bad
		}
	}
	t.Fatalf("job %s never done", id)
	return nil
}

func TestContactSync_BatchLimits(t *testing.T) {
	b := mustBatcher(t, klaviyosim.Options{}, `{}`)
	rows, size := b.b.BatchLimits()
	if rows != 10000 || size <= 4_900_000 || size > 5_000_000 {
		t.Fatalf("BatchLimits = %d, %d", rows, size)
	}
}

func TestContactSync_PlanBatch(t *testing.T) {
	known := func(t *testing.T, h *harness) json.RawMessage {
		h.mustDeliver(t, customer(synclayer.ConsentUnknown))
		return h.state
	}
	subscribed := func(t *testing.T, h *harness) json.RawMessage {
		h.mustDeliver(t, customer(synclayer.ConsentSubscribed))
		return h.state
	}
	tests := []struct {
		name     string
		options  string
		prev     func(*testing.T, *harness) json.RawMessage
		change   func(*synclayer.Contact)
		consent  synclayer.ConsentState
		realtime string // "" for a row
		same     bool
	}{
		{name: "Unchanged", prev: known, same: true},
		{name: "NewProfile"},
		{name: "FieldChange", prev: known, change: func(c *synclayer.Contact) { c.Fields["firstName"] = synclayer.Field{Value: json.RawMessage(`"Anna"`)} }},
		{name: "SubscribedAndInList", options: `{"list_id":"` + listID + `"}`, prev: subscribed, consent: synclayer.ConsentSubscribed,
			change: func(c *synclayer.Contact) { c.Fields["totalOrders"] = synclayer.Field{Value: json.RawMessage(`4`)} }},
		{name: "NewSubscriber", consent: synclayer.ConsentSubscribed, realtime: "subscribe"},
		{name: "OptOut", prev: known, consent: synclayer.ConsentUnsubscribed, realtime: "opt-out"},
		{name: "Delete", options: `{"list_id":"` + listID + `"}`, prev: subscribed, consent: synclayer.ConsentSubscribed,
			change: func(c *synclayer.Contact) { c.Deleted = true }, realtime: "delete"},
		{name: "ClearedProperty", prev: known, change: func(c *synclayer.Contact) { delete(c.Fields, "totalOrders") }, realtime: "clear"},
		{name: "ClearedAttribute", prev: known, change: func(c *synclayer.Contact) { delete(c.Fields, "lastName") }, realtime: "clear"},
		{name: "EmailChange", prev: known, change: func(c *synclayer.Contact) {
			c.Email, c.Fields["email"] = "ann@example.org", synclayer.Field{Value: json.RawMessage(`"ann@example.org"`)}
		}, realtime: "email change"},
		{name: "ListAdd", options: `{"list_id":"` + listID + `"}`, consent: synclayer.ConsentSubscribed, realtime: "list",
			prev: func(t *testing.T, h *harness) json.RawMessage { // subscribed by synclayer before list_id was set
				return json.RawMessage(`{"profileId":"01X","email":"ann@example.com","consent":"SUBSCRIBED","consentByUs":true}`)
			}},
		{name: "TooLarge", change: func(c *synclayer.Contact) {
			c.Fields["customerTier"] = synclayer.Field{Value: json.RawMessage(`"` + strings.Repeat("x", 100_001) + `"`)}
		}, realtime: "100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBatcher(t, klaviyosim.Options{}, cmpOr(tt.options, `{}`))
			var prev json.RawMessage
			if tt.prev != nil {
				prev = tt.prev(t, b.harness)
			}
			c := customer(tt.consent)
			if tt.change != nil {
				tt.change(c)
			}
			before := len(b.sim.Calls())
			r, err := b.b.PlanBatch(c, prev)
			if err != nil {
				t.Fatalf("PlanBatch: %v", err)
			}
			if n := len(b.sim.Calls()); n != before {
				t.Errorf("PlanBatch made %d calls", n-before)
			}
			switch {
			case tt.same:
				if !r.Unchanged || r.Row != nil || string(r.Next) != string(prev) {
					t.Fatalf("got %+v, want Unchanged with Next = prev", r)
				}
			case tt.realtime != "":
				if !strings.Contains(r.Realtime, tt.realtime) || r.Row != nil || r.Unchanged {
					t.Fatalf("got %+v, want Realtime mentioning %q", r, tt.realtime)
				}
			default:
				checkRow(t, b.cs, c, prev, r)
			}
		})
	}
	t.Run("NoEmailIsPermanent", func(t *testing.T) {
		b := mustBatcher(t, klaviyosim.Options{}, `{}`)
		c := customer(synclayer.ConsentUnknown)
		c.Email = ""
		if _, err := b.b.PlanBatch(c, nil); kind(err) != "permanent" {
			t.Fatalf("PlanBatch = %v, want a permanent error", err)
		}
	})
}

// checkRow checks a row against Plan: the same profile, the same Next,
// and nothing about consent or lists.
func checkRow(t *testing.T, cs synclayer.ContactSync, c *synclayer.Contact, prev json.RawMessage, r synclayer.BatchRow) {
	t.Helper()
	if r.Unchanged || r.Realtime != "" || r.Group != "" || r.Row == nil {
		t.Fatalf("got %+v, want a row in group \"\"", r)
	}
	plan, err := cs.Plan(c, prev)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Next) != string(plan.Next) {
		t.Errorf("Next %s, want Plan's %s", r.Next, plan.Next)
	}
	want, _ := json.Marshal(plan.Calls[0].Body) // the ProfileUpsert
	var row, up struct {
		Type, ID   string
		Attributes map[string]any
	}
	if json.Unmarshal(r.Row, &row) != nil || json.Unmarshal(want, &up) != nil || row.Type != "profile" {
		t.Fatalf("row %s is not a profile like Plan's %s", r.Row, want)
	}
	if row.ID != up.ID || fmt.Sprint(row.Attributes) != fmt.Sprint(up.Attributes) {
		t.Errorf("row %s, want Plan's profile %s", r.Row, want)
	}
	if row.Attributes["external_id"] != c.ID || strings.Contains(string(r.Row), "subscriptions") {
		t.Errorf("row %s: want external_id %s and no subscriptions", r.Row, c.ID)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestContactSync_BatchOfManyRows(t *testing.T) {
	b := mustBatcher(t, klaviyosim.Options{}, `{"list_id":"`+listID+`"}`)
	var cs []*synclayer.Contact
	for i := range 1500 {
		cs = append(cs, person(i))
	}
	realtime, refused := b.send(t, cs)
	if len(realtime) != 0 || len(refused) != 0 {
		t.Fatalf("realtime %v, refused %v", realtime, refused)
	}
	if n := b.sim.CallCount("POST", "/api/profile-bulk-import-jobs"); n != 1 {
		t.Fatalf("%d bulk jobs sent, want 1", n)
	}
	jobs := b.sim.BulkJobs()
	if len(jobs) != 1 || jobs[0].Status != "complete" || jobs[0].Total != 1500 || jobs[0].Completed != 1500 || len(jobs[0].ListIDs) != 0 {
		t.Fatalf("jobs %+v", jobs)
	}
	p, ok := b.sim.Profile("01BATCH01499")
	if !ok || p.Email != "p1499@example.com" || p.Attributes["first_name"] != "P1499" || p.Properties["Total Orders"] != float64(3) {
		t.Fatalf("profile %+v", p)
	}
	if len(b.sim.Profiles()) != 1500 || len(b.sim.ListMembers(listID)) != 0 {
		t.Fatalf("%d profiles, %d list members", len(b.sim.Profiles()), len(b.sim.ListMembers(listID)))
	}
	// Next is what Klaviyo holds: the realtime path sees nothing to do.
	for _, c := range cs[:20] {
		if plan, err := b.cs.Plan(c, b.states[c.ID]); err != nil || plan.Op != synclayer.PlanNone {
			t.Fatalf("Plan after the batch: %v %+v", err, plan)
		}
	}
	// A batch-created profile (its Klaviyo ID unknown) subscribes
	// realtime: the ID is read, the profile joins the list.
	c := cs[7]
	c.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: t0.Add(time.Hour)}
	b.state = b.states[c.ID]
	b.mustDeliver(t, c)
	p, _ = b.sim.Profile(c.ID)
	if m := b.sim.ListMembers(listID); p.EmailConsent != "SUBSCRIBED" || len(m) != 1 || m[0] != p.ID || !strings.Contains(string(b.state), p.ID) {
		t.Fatalf("after subscribe: consent %s, members %v, state %s", p.EmailConsent, m, b.state)
	}
	b.states[c.ID] = b.state
	// A second pass changes nothing.
	b.send(t, cs)
	if n := b.sim.CallCount("POST", "/api/profile-bulk-import-jobs"); n != 1 {
		t.Fatalf("an unchanged batch was sent again: %d jobs", n)
	}
}
