package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"synclayer"
	"synclayer/ingest"
	"synclayer/source/custom"
	"synclayer/store/storetest"
)

// recorder is a trigger sink that keeps each trigger with the contact as
// the firing transaction held it.
type recorder struct {
	mu  sync.Mutex
	got []fired
}

type fired struct {
	synclayer.Trigger
	contact *synclayer.Contact
}

func (r *recorder) Fire(ctx context.Context, tx synclayer.Tx, ts ...synclayer.Trigger) error {
	for _, t := range ts {
		f := fired{Trigger: t}
		if t.ContactID != "" {
			c, err := tx.FindContactByID(ctx, t.ContactID)
			if err != nil {
				return err
			}
			f.contact = c
		}
		r.mu.Lock()
		r.got = append(r.got, f)
		r.mu.Unlock()
	}
	return nil
}

// take returns the triggers fired since the last call.
func (r *recorder) take() []fired {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func types(fs []fired) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Type)+" "+f.Key)
	}
	return out
}

func triggerIngester(s synclayer.Store, rec *recorder) *ingest.Ingester {
	owners := map[string][]string{}
	for _, f := range synclayer.AggregateFields {
		owners[f] = []string{synclayer.OrderEventsSource}
	}
	return ingest.New(ingest.Config{Store: s, ConsentSources: []string{"shopify"}, FieldOwners: owners, Now: clock(), Triggers: rec, Routes: []ingest.Route{
		{Skill: "customer-sync", Destination: "brevo", Sources: []string{"shopify", "custom"}},
		{Skill: "order-events", Destination: "brevo", Sources: []string{"shopify", "custom"}, Records: ingest.RecordOrders},
	}})
}

// TestTriggers_Order: an order's creation fires once however it is
// delivered, with the contact's totals already counting it; later
// changes fire updates, a cancellation and each new refund once.
func TestTriggers_Order(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := triggerIngester(s, rec)
	created := shopifyOrder("1001", "paid", "520.00", c0, "77", "ann@example.com")
	r := mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, created, c0))
	got := rec.take()
	if want := []string{"contact_created " + r.ContactID, "order_created shopify:1001"}; !slices.Equal(types(got), want) {
		t.Fatalf("triggers %q, want %q", types(got), want)
	}
	o := got[1]
	if o.ContactID != r.ContactID || string(o.contact.Value(synclayer.FieldTotalOrders)) != "1" {
		t.Errorf("order_created contact %s with totalOrders %s, want %s with 1", o.ContactID, o.contact.Value(synclayer.FieldTotalOrders), r.ContactID)
	}
	if b, _ := json.Marshal(o.Data["total"]); string(b) != "520.00" || o.Data["status"] != "paid" {
		t.Errorf("order data %v, want total 520.00 and status paid", o.Data)
	}

	// The same creation delivered again under other webhook ids.
	for range 2 {
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1001", "paid", "520.00", c0, "77", "ann@example.com"), c0))
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("redelivered creation fired %q, want nothing", types(got))
	}

	cancelled := shopifyOrder("1001", "cancelled", "520.00", c0.Add(minute), "77", "ann@example.com")
	ev := orderEvent("shopify", synclayer.EventOrderCancelled, cancelled, c0.Add(minute))
	mustIngest(t, in, ev)
	if got := types(rec.take()); len(got) != 2 || !strings.HasPrefix(got[0], "order_updated shopify:1001@") || got[1] != "order_cancelled shopify:1001" {
		t.Errorf("cancellation fired %q, want order_updated keyed by the changed order and order_cancelled shopify:1001", got)
	}

	refund := func() *synclayer.OrderChange {
		return &synclayer.OrderChange{SourceID: "1001", Refunds: []synclayer.Refund{{ID: "r1", Amount: synclayer.MustMoney("20.00"), CreatedAt: c0.Add(2 * minute)}}}
	}
	mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderRefunded, refund(), c0.Add(2*minute)))
	mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderRefunded, refund(), c0.Add(2*minute)))
	got = rec.take()
	if want := []string{"order_refunded shopify:r1"}; !slices.Equal(types(got), want) {
		t.Fatalf("refund delivered twice fired %q, want %q", types(got), want)
	}
	if rf, _ := got[0].Data["refund"].(map[string]any); rf["id"] != "r1" {
		t.Errorf("refund data %v", got[0].Data["refund"])
	}
}

// TestTriggers_OrderUpdateKeyedByChange: order_updated is keyed by the
// change, not the delivery. Two changes of the same second key apart;
// the first delivered again under another webhook ID (which applies
// again, as newer-wins cannot tell the second apart) keys as it did.
func TestTriggers_OrderUpdateKeyedByChange(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	in := triggerIngester(storetest.OpenSQLite(t), rec)
	mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("2001", "paid", "100.00", c0, "78", "cy@example.com"), c0))
	rec.take()
	at := c0.Add(minute)
	var keys []string
	for _, total := range []string{"90.00", "80.00", "90.00"} {
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderUpdated, shopifyOrder("2001", "paid", total, at, "78", "cy@example.com"), at))
		for _, f := range rec.take() {
			if f.Type == synclayer.EventOrderUpdated {
				keys = append(keys, f.Key)
			}
		}
	}
	if len(keys) != 3 || keys[0] == keys[1] || keys[2] != keys[0] {
		t.Errorf("order_updated keys %q; want two changes keyed apart and the redelivered first keyed as before", keys)
	}
}

// TestTriggers_Contact: a new contact, a change and a consent change
// each fire; an event that changes nothing fires nothing.
func TestTriggers_Contact(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := triggerIngester(s, rec)
	ev := event("c-1", "bea@example.com", "5", c0)
	ev.Customer.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: c0}
	r := mustIngest(t, in, ev)
	got := rec.take()
	if want := []string{"contact_created " + r.ContactID, "consent_changed " + ev.ID}; !slices.Equal(types(got), want) {
		t.Fatalf("creation fired %q, want %q", types(got), want)
	}
	if got[1].Data["email"] != "subscribed" || got[0].contact == nil || !got[0].contact.Marketable() {
		t.Errorf("consent data %v; the contact must be seen subscribed", got[1].Data)
	}
	mustIngest(t, in, event("c-2", "bea@example.com", "5", c0.Add(minute)))
	if got := rec.take(); len(got) != 0 {
		t.Errorf("an unchanged contact fired %q", types(got))
	}
	out := event("c-3", "bea@example.com", "5", c0.Add(2*minute))
	out.Customer.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: c0.Add(2 * minute)}
	mustIngest(t, in, out)
	if want := []string{"contact_updated " + out.ID, "consent_changed " + out.ID}; !slices.Equal(types(rec.take()), want) {
		t.Errorf("opt-out fired something else than %q", want)
	}
}

func customEvent(t *testing.T, n int, body string) *synclayer.Event {
	t.Helper()
	ev, err := custom.ParseEvent([]byte(body), c0)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	ev.DedupeKey = fmt.Sprint("msg_", n)
	return ev
}

// TestActivity_TicketLoyaltyForm takes each activity from the custom
// source's own parser through ingest.
func TestActivity_TicketLoyaltyForm(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := triggerIngester(s, rec)
	known := mustIngest(t, in, event("c-1", "kim@example.com", "9", c0))
	rec.take()

	t.Run("Ticket", func(t *testing.T) {
		body := `{"event":"ticket_created","timestamp":"2026-11-20T10:05:00Z","data":{"id":"T-1","email":"Kim@Example.com","subject":"Plan","text":"I will cancel"}}`
		r := mustIngest(t, in, customEvent(t, 1, body))
		mustIngest(t, in, customEvent(t, 2, body)) // the same ticket, another delivery
		got := rec.take()
		if len(got) != 2 || got[0].Key != "custom:T-1" || got[1].Key != "custom:T-1" || got[0].ContactID != known.ContactID || r.ContactID != known.ContactID {
			t.Fatalf("ticket triggers %+v, want two with key custom:T-1 (one row, by key) for %s", got, known.ContactID)
		}
		if got[0].Data["text"] != "I will cancel" {
			t.Errorf("ticket data %v", got[0].Data)
		}
		stranger := mustIngest(t, in, customEvent(t, 3, `{"event":"ticket_created","timestamp":"2026-11-20T10:05:00Z","data":{"id":"T-2","email":"who@example.com","text":"hi"}}`))
		if got := rec.take(); len(got) != 1 || got[0].ContactID != "" || stranger.ContactID != "" {
			t.Errorf("a stranger's ticket: %+v, want a trigger without a contact", got)
		}
		if cs, _ := s.FindContacts(context.Background(), synclayer.ContactFilter{Email: "who@example.com"}); len(cs) != 0 {
			t.Errorf("a ticket created a contact")
		}
	})
	t.Run("Loyalty", func(t *testing.T) {
		body := func(tier string) string {
			return `{"event":"loyalty_tier_changed","timestamp":"2026-11-20T10:06:00Z","data":{"email":"kim@example.com","tier":"` + tier + `"}}`
		}
		mustIngest(t, in, customEvent(t, 4, body("gold")))
		got := rec.take()
		var tier *fired
		for i := range got {
			if got[i].Type == synclayer.EventLoyaltyTierChanged {
				tier = &got[i]
			}
		}
		if tier == nil || tier.Data["tier"] != "gold" || tier.Data["previousTier"] != "" || string(tier.contact.Value(synclayer.FieldCustomerTier)) != `"gold"` {
			t.Fatalf("triggers %q; want loyalty_tier_changed with tier gold seen on the contact", types(got))
		}
		mustIngest(t, in, customEvent(t, 5, body("gold")))
		if got := rec.take(); len(got) != 0 {
			t.Errorf("the tier held again fired %q", types(got))
		}
		// The tier held, or an older one, in an event that changes
		// something else (the member's loyalty ID is new): the contact
		// changes, but no tier was joined.
		for i, b := range []string{
			`{"event":"loyalty_tier_changed","timestamp":"2026-11-20T10:07:00Z","data":{"email":"kim@example.com","customer_id":"L-9","tier":"gold"}}`,
			`{"event":"loyalty_tier_changed","timestamp":"2026-11-20T09:00:00Z","data":{"email":"kim@example.com","customer_id":"L-10","tier":"bronze"}}`,
		} {
			mustIngest(t, in, customEvent(t, 50+i, b))
			for _, f := range rec.take() {
				if f.Type == synclayer.EventLoyaltyTierChanged {
					t.Errorf("%s fired loyalty_tier_changed (tier %v) although the contact's tier stays %s", b, f.Data["tier"], f.contact.Value(synclayer.FieldCustomerTier))
				}
			}
		}
	})
	t.Run("Form", func(t *testing.T) {
		// custom is not the consent owner (shopify is): its opt-in does not count.
		r := mustIngest(t, in, customEvent(t, 6, `{"event":"form_submitted","timestamp":"2026-11-20T10:07:00Z","data":{"form":"newsletter","email":"Lead@Example.com","firstName":"Lee","acceptsMarketing":true,"utm":"x"}}`))
		got := rec.take()
		if want := []string{"contact_created " + r.ContactID, "form_submitted " + got[len(got)-1].EventID}; !slices.Equal(types(got), want) {
			t.Fatalf("form fired %q, want %q", types(got), want)
		}
		c := got[1].contact
		if c.Email != "lead@example.com" || string(c.Value("firstName")) != `"Lee"` || c.Marketable() || got[1].Data["utm"] != "x" {
			t.Errorf("lead %+v (marketable %v), data %v: want the lead without consent from a non-owner", c, c.Marketable(), got[1].Data)
		}
		// An opt-out counts from any source.
		mustIngest(t, in, customEvent(t, 7, `{"event":"form_submitted","timestamp":"2026-11-20T10:08:00Z","data":{"form":"preferences","email":"lead@example.com","emailConsent":"unsubscribed"}}`))
		got = rec.take()
		var kinds []string
		for _, f := range got {
			kinds = append(kinds, string(f.Type))
		}
		if want := []string{"contact_updated", "consent_changed", "form_submitted"}; !slices.Equal(kinds, want) {
			t.Fatalf("opt-out form fired %q, want %q", kinds, want)
		}
		if st := got[2].contact.EmailConsent.State; st != synclayer.ConsentUnsubscribed {
			t.Errorf("consent after the form's opt-out: %q, want unsubscribed", st)
		}
	})
}

const minute = 60_000_000_000
