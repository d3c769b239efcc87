package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
)

func hmacBase64(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestSourceConformance runs the sample records every store source must
// be tried with (a new customer, an update, one email for two customers,
// an opt-out followed by a stale opt-in, a redelivery, out-of-order
// updates, an invalid email, a delete) through every way a store reaches
// synclayer (storeDriver: Shopify, WooCommerce, Magento webhooks,
// Magento polling, BigCommerce callbacks read back by the fetch job),
// over HTTP against the real program, on SQLite and PostgreSQL, and
// checks what Brevo holds and how many contact writes it took.
func TestSourceConformance(t *testing.T) {
	for _, driver := range sourceDrivers {
		for db, storage := range conformanceStorages(t) {
			t.Run(driver+"/"+db, func(t *testing.T) {
				t.Parallel()
				runSourceConformance(t, startSourceConformance(t, storage(), driver))
			})
		}
	}
}

func runSourceConformance(t *testing.T, e *senv) {
	d := e.d
	const list = 5
	idle := func() { e.waitIdle(30 * time.Second) }
	// Each case's times are later than the last's, as a store's are.
	run := func(name string, f func(*testing.T)) {
		e.epoch += 30
		t.Run(name, f)
	}
	accept := func(t *testing.T, what string) func(int, map[string]any) {
		return func(code int, reply map[string]any) {
			t.Helper()
			if code != http.StatusOK {
				t.Fatalf("%s: %d %v", what, code, reply)
			}
		}
	}
	// consenting is whether a subscribed save puts the person on the list.
	consenting := d.consent() == ""
	marketing := func(t *testing.T, email string, c customerState) {
		t.Helper()
		got := e.contact(email)
		if consenting && (!hasList(got, list) || got.EmailBlacklisted) {
			t.Errorf("%s: %+v, want on list %d and not blocklisted", email, got, list)
		}
		if !consenting && hasList(got, list) {
			t.Errorf("%s: %+v on list %d, but %s", email, got, list, d.consent())
		}
		if got.Attributes["FIRSTNAME"] != c.first {
			t.Errorf("%s: FIRSTNAME %v, want %s", email, got.Attributes["FIRSTNAME"], c.first)
		}
	}
	writes := func(t *testing.T, what string, from int, post, put, del int) {
		t.Helper()
		w := e.writes(from)
		if w[http.MethodPost] != post || w[http.MethodPut] != put || w[http.MethodDelete] != del {
			t.Errorf("%s: Brevo contact writes %v, want POST %d, PUT %d, DELETE %d", what, w, post, put, del)
		}
	}

	run("NewCustomer", func(t *testing.T) {
		m := e.mark()
		accept(t, "new customer")(d.save(customer{id: 101, email: "New@Example.com", first: "Nia", subscribed: true}))
		idle()
		marketing(t, "new@example.com", customerState{first: "Nia"})
		writes(t, "one new customer", m, 1, 0, 0)
	})

	run("ExistingCustomerUpdated", func(t *testing.T) {
		accept(t, "create")(d.save(customer{id: 102, email: "ann@example.com", first: "Ann", subscribed: true}))
		idle()
		m := e.mark()
		accept(t, "update")(d.save(customer{id: 102, email: "ann@example.com", first: "Anna", subscribed: true, at: 1}))
		idle()
		marketing(t, "ann@example.com", customerState{first: "Anna"})
		writes(t, "an update of a synced customer", m, 0, 1, 0)
	})

	run("DuplicateEmail", func(t *testing.T) {
		m := e.mark()
		accept(t, "first customer")(d.save(customer{id: 103, email: "dup@example.com", first: "Dee", subscribed: true}))
		accept(t, "second customer")(d.save(customer{id: 104, email: "  DUP@Example.COM ", first: "Dee", subscribed: true, at: 1}))
		idle()
		n := 0
		for _, c := range e.sim.Contacts() {
			if strings.EqualFold(strings.TrimSpace(c.Email), "dup@example.com") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Brevo has %d contacts for one email, want 1: %+v", n, e.sim.Contacts())
		}
		marketing(t, "dup@example.com", customerState{first: "Dee"})
		if w := e.writes(m); w[http.MethodPost] != 1 || w[http.MethodDelete] != 0 {
			t.Errorf("two customers with one email: Brevo contact writes %v, want one creation", w)
		}
	})

	run("OptOutSurvivesStaleUpdate", func(t *testing.T) {
		if why := d.optOuts(); why != "" {
			t.Skip("no opt-out to test: " + why)
		}
		accept(t, "create")(d.save(customer{id: 105, email: "out@example.com", first: "Olive", subscribed: true}))
		idle()
		accept(t, "opt-out")(d.optOut(customer{id: 105, email: "out@example.com", first: "Olive", at: 10}))
		idle()
		m := e.mark()
		// A stale update, delivered late, still says subscribed.
		accept(t, "stale update")(d.save(customer{id: 105, email: "out@example.com", first: "Olive", subscribed: true, at: 5}))
		idle()
		if c := e.contact("out@example.com"); !c.EmailBlacklisted || hasList(c, list) {
			t.Errorf("opted-out contact resubscribed: %+v", c)
		}
		if e.sentBlacklistFalse() {
			t.Error("a request sent emailBlacklisted:false")
		}
		writes(t, "a stale opt-in after an opt-out", m, 0, 0, 0)
	})

	run("Redelivered", func(t *testing.T) {
		m := e.mark()
		accept(t, "delivery")(d.save(customer{id: 106, email: "redo@example.com", first: "Red", subscribed: true}))
		code, reply := d.redeliver()
		accept(t, "redelivery")(code, reply)
		if n, polled := reply["events"].(float64); polled && n != 0 {
			t.Errorf("polling again: %v new events, want 0", n)
		} else if !polled && reply["status"] != "duplicate" {
			t.Errorf("redelivery answered %v, want a duplicate", reply)
		}
		idle()
		marketing(t, "redo@example.com", customerState{first: "Red"})
		writes(t, "one customer delivered twice", m, 1, 0, 0)
	})

	run("OutOfOrder", func(t *testing.T) {
		accept(t, "newer")(d.save(customer{id: 107, email: "order@example.com", first: "Newer", subscribed: true, at: 20}))
		idle()
		m := e.mark()
		accept(t, "older")(d.save(customer{id: 107, email: "order@example.com", first: "Older", subscribed: true, at: 10}))
		idle()
		marketing(t, "order@example.com", customerState{first: "Newer"})
		writes(t, "an older update after a newer one", m, 0, 0, 0)
	})

	run("InvalidEmail", func(t *testing.T) {
		ctx := context.Background()
		failed := func() []*synclayer.Event {
			t.Helper()
			evs, err := e.m.DB.FindEvents(ctx, synclayer.EventFilter{Status: synclayer.EventFailed})
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}
		before := failed()
		m := e.mark()
		code, reply := d.save(customer{id: 108, email: "not-an-email", first: "Nope", subscribed: true})
		accept(t, "invalid email")(code, reply)
		idle()
		switch d.invalid() {
		case "event":
			// README (Webhook API): a genuine event that cannot be synced
			// is still 200, with the event failed and the reason; it is
			// stored failed (and notified as sync_failed, stage ingest).
			if evs, ok := reply["events"].([]any); ok {
				ev, _ := evs[0].(map[string]any)
				if ev["status"] != "failed" || !strings.Contains(fmt.Sprint(ev["reason"]), "email") {
					t.Errorf("event result %v, want failed with a reason naming the email", ev)
				}
			}
			after := failed()
			if len(after) != len(before)+1 || !slices.ContainsFunc(after, func(ev *synclayer.Event) bool { return strings.Contains(ev.Reason, "email") }) {
				t.Errorf("failed events: %d before, then %+v; want one more, naming the email", len(before), after)
			}
		case "dead":
			// The callback names a record, read back on the fetch queue: a
			// record that cannot be read is a permanent error, dead-lettered
			// with the reason (README: sync_failed, stage delivery).
			if evs, _ := reply["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["status"] != "applied" {
				t.Errorf("the callback: %v, want its notification applied (queued to read back)", reply)
			}
			dead, err := e.m.DB.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead})
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != 1 || !strings.HasPrefix(dead[0].Queue, "fetch@") || !strings.Contains(dead[0].LastError, "email") {
				t.Errorf("dead-lettered jobs %+v, want the fetch of customer 108, naming the email", dead)
			}
		default:
			t.Fatalf("driver says an invalid email is recorded as %q", d.invalid())
		}
		writes(t, "an invalid email", m, 0, 0, 0)
	})

	run("Delete", func(t *testing.T) {
		if why := d.deletes(); why != "" {
			t.Skip("no delete to test: " + why)
		}
		accept(t, "create")(d.save(customer{id: 109, email: "del@example.com", first: "Del", subscribed: true}))
		idle()
		m := e.mark()
		accept(t, "delete")(d.delete(109))
		idle()
		// README: delete_behavior soft (the default) keeps the contact
		// and unlinks it from list_id.
		c, ok := e.sim.ContactByEmail("del@example.com")
		if !ok || hasList(c, list) {
			t.Errorf("soft delete: contact %+v (exists %v), want kept and unlinked from list %d", c, ok, list)
		}
		if consenting {
			writes(t, "a soft delete", m, 0, 1, 0)
		} else if w := e.writes(m); w[http.MethodDelete] != 0 || w[http.MethodPost] != 0 {
			t.Errorf("a soft delete of a contact on no list: Brevo contact writes %v, want no creation or deletion", w)
		}
	})
}

// customerState is what a Brevo contact should show.
type customerState struct{ first string }
