package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
	"synclayer/skill"
	"synclayer/store/storetest"
)

// cartEnv is a real SQLite store and a Brevo simulator that checks every
// request against Brevo's spec, with a clock the test moves.
type cartEnv struct {
	t     *testing.T
	store synclayer.Store
	sim   *brevosim.Server
	skill *skill.CartEvents
	now   time.Time
	fired []synclayer.Trigger
}

type recordingSink struct {
	mu  sync.Mutex
	env *cartEnv
}

func (r *recordingSink) Fire(_ context.Context, _ synclayer.Tx, ts ...synclayer.Trigger) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.env.fired = append(r.env.fired, ts...)
	return nil
}

var c0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func newCartEnv(t *testing.T) *cartEnv {
	t.Helper()
	v := brevospec.Load(t)
	sim := brevosim.New(brevosim.Options{APIKey: "k", Validate: v.Validate})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		for _, v := range sim.Violations() {
			t.Errorf("request violates Brevo's OpenAPI spec: %s", v)
		}
	})
	e := &cartEnv{t: t, store: storetest.OpenSQLite(t), sim: sim, now: c0}
	e.skill = &skill.CartEvents{Store: e.store, Destination: "brevo", Sync: cartSync{New(Config{APIKey: "k", BaseURL: hs.URL})},
		Triggers: &recordingSink{env: e}, AbandonAfter: time.Hour, RequireConsent: true, Now: func() time.Time { return e.now }}
	return e
}

// contact saves a contact, subscribed or not.
func (e *cartEnv) contact(email string, subscribed bool) *synclayer.Contact {
	e.t.Helper()
	c := &synclayer.Contact{Email: email, SourceIDs: map[string]string{}, UpdatedAt: c0}
	if subscribed {
		c.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, Source: "shopify", At: c0, OptInAt: c0}
	}
	e.tx(func(tx synclayer.Tx) error { return tx.SaveContact(context.Background(), c) })
	return c
}

func (e *cartEnv) tx(fn func(synclayer.Tx) error) {
	e.t.Helper()
	if err := e.store.Tx(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *cartEnv) cart(id, contactID string, changed time.Time) *synclayer.Cart {
	e.t.Helper()
	c := &synclayer.Cart{ID: "shopify:" + id, Source: "shopify", SourceID: id, ContactID: contactID, Currency: "USD",
		Items:     []synclayer.OrderItem{{ProductID: "shopify:632910392", VariantID: "shopify:632910392-808950810", SKU: "IPOD", Price: synclayer.MustMoney("199.00"), Quantity: 2}},
		Total:     synclayer.MustMoney("398.00"),
		UpdatedAt: changed, ChangedAt: changed, RecoveryURL: "https://shop.example/recover/" + id}
	e.save(c)
	return c
}

func (e *cartEnv) save(c *synclayer.Cart) {
	e.t.Helper()
	e.tx(func(tx synclayer.Tx) error { return tx.SaveCart(context.Background(), c) })
}

// run handles the cart's job as the queue would and completes it.
func (e *cartEnv) run(id string) *synclayer.TraceEntry {
	e.t.Helper()
	ctx := context.Background()
	job := &synclayer.Job{Queue: skill.CartEventsName, Destination: "brevo", RecordKey: id}
	st, trace, err := e.skill.Handle(ctx, job)
	if err != nil {
		e.t.Fatalf("Handle: %v", err)
	}
	if st != nil {
		if err := e.store.SaveSyncState(ctx, st, e.now); err != nil {
			e.t.Fatal(err)
		}
	}
	return trace
}

func (e *cartEnv) sent() []brevosim.Event { return e.sim.EventsNamed(CartAbandonedEvent) }

func TestCartEvents_Handle(t *testing.T) {
	t.Parallel()
	t.Run("AbandonedCartSendsOnce", func(t *testing.T) {
		t.Parallel()
		e := newCartEnv(t)
		ct := e.contact("bob@example.com", true)
		e.cart("tok1", ct.ID, c0)
		e.now = c0.Add(time.Hour)
		e.run("shopify:tok1")
		got := e.sent()
		if len(got) != 1 {
			t.Fatalf("events sent: %+v, want one cart_abandoned", got)
		}
		ev := got[0]
		if ev.Identifiers["email_id"] != "bob@example.com" || ev.Identifiers["ext_id"] != ct.ID || ev.Date != "2026-11-20T11:00:00Z" {
			t.Errorf("event identifiers %v, date %s", ev.Identifiers, ev.Date)
		}
		p := ev.Properties
		items, _ := p["items"].([]any)
		if p["total"] != "398.00" || p["currency"] != "USD" || p["recovery_url"] != "https://shop.example/recover/tok1" || p["cart_id"] != "shopify:tok1" || len(items) != 1 {
			t.Errorf("event properties %v", p)
		}
		if it, _ := items[0].(map[string]any); it["product_id"] != "shopify:632910392" || it["price"] != "199.00" || fmt.Sprint(it["quantity"]) != "2" {
			t.Errorf("item %v", items[0])
		}
		if len(e.fired) != 1 || e.fired[0].Type != synclayer.EventCartAbandoned || e.fired[0].Key != fmt.Sprintf("shopify:tok1@%d", c0.UnixMicro()) || e.fired[0].ContactID != ct.ID ||
			fmt.Sprint(e.fired[0].Data["total"]) != "398.00" || e.fired[0].Data["recovery_url"] != "https://shop.example/recover/tok1" {
			t.Errorf("triggers fired: %+v", e.fired)
		}
		// The job again (a lost lease, a requeue): nothing more.
		if tr := e.run("shopify:tok1"); len(e.sent()) != 1 || !strings.Contains(tr.Summary, "already judged") {
			t.Errorf("second run: %d events, trace %q; want still 1", len(e.sent()), tr.Summary)
		}
		t.Run("LaterChangeFiresAgain", func(t *testing.T) {
			c, _ := e.store.FindCartByID(context.Background(), "shopify:tok1")
			c.Items[0].Quantity, c.Total, c.ChangedAt, c.UpdatedAt = 3, synclayer.MustMoney("597.00"), e.now, e.now
			e.save(c)
			if e.run("shopify:tok1"); len(e.sent()) != 1 {
				t.Fatalf("sent before the new wait ended")
			}
			e.now = e.now.Add(time.Hour)
			e.run("shopify:tok1")
			if got := e.sent(); len(got) != 2 || got[1].Properties["total"] != "597.00" {
				t.Errorf("after a change and a new wait: %+v, want a second event with the new total", got)
			}
		})
	})
	t.Run("RetryAfterAResaveFiresTheSameTrigger", func(t *testing.T) {
		// Brevo fails the first send; before the retry the cart is saved
		// again without a new change (the platform's own abandonment
		// signal bumps its version). The retry is the same abandonment:
		// its trigger must carry the same key, or rules fire twice.
		t.Parallel()
		e := newCartEnv(t)
		c := e.cart("tok6", e.contact("retry@example.com", true).ID, c0)
		e.now = c0.Add(time.Hour)
		e.sim.SetOutage(brevosim.Outage500)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, _, err := e.skill.Handle(ctx, &synclayer.Job{Queue: skill.CartEventsName, Destination: "brevo", RecordKey: c.ID}); err == nil {
			t.Fatal("Handle during a Brevo outage succeeded")
		}
		e.sim.SetOutage(brevosim.OutageNone)
		c, _ = e.store.FindCartByID(context.Background(), c.ID)
		c.AbandonedAt = e.now
		e.save(c)
		e.run(c.ID)
		if len(e.sent()) != 1 || len(e.fired) != 2 || e.fired[0].Key != e.fired[1].Key {
			t.Errorf("sent %d, triggers %+v; want one event and the same trigger key on both attempts", len(e.sent()), e.fired)
		}
	})
	t.Run("NotDueIsQueuedAgainForItsTime", func(t *testing.T) {
		t.Parallel()
		e := newCartEnv(t)
		ct := e.contact("early@example.com", true)
		e.cart("tok2", ct.ID, c0)
		e.now = c0.Add(10 * time.Minute)
		tr := e.run("shopify:tok2")
		if len(e.sent()) != 0 || !strings.Contains(tr.Summary, "not abandoned before 2026-11-20T11:00:00Z") {
			t.Fatalf("early run: %d events, trace %q", len(e.sent()), tr.Summary)
		}
		jobs, _ := e.store.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobPending, Queue: skill.CartEventsName})
		if len(jobs) != 1 || !jobs[0].RunAt.Equal(c0.Add(time.Hour)) {
			t.Errorf("pending after an early run: %+v, want one job at the due time", jobs)
		}
	})
	for _, tc := range []struct {
		name, want string
		edit       func(e *cartEnv, c *synclayer.Cart)
		fires      bool
	}{
		{"Converted", "converted by shopify:1001", func(e *cartEnv, c *synclayer.Cart) {
			c.ConvertedAt, c.ConvertedBy = c0.Add(time.Minute), "shopify:1001"
		}, false},
		{"Anonymous", "nobody is identified", func(e *cartEnv, c *synclayer.Cart) { c.ContactID = "" }, false},
		{"Empty", "the cart is empty", func(e *cartEnv, c *synclayer.Cart) { c.Items = nil }, false},
		{"NoConsent", "no marketing consent", func(e *cartEnv, c *synclayer.Cart) {
			c.ContactID = e.contact("quiet@example.com", false).ID
		}, true},
		{"OrderPlacedAfter", "order shopify:2002 was placed after", func(e *cartEnv, c *synclayer.Cart) {
			e.tx(func(tx synclayer.Tx) error {
				return tx.SaveOrder(context.Background(), &synclayer.Order{ID: "shopify:2002", Source: "shopify", SourceID: "2002", ContactID: c.ContactID,
					Status: synclayer.OrderPaid, Total: synclayer.MustMoney("398.00"), CreatedAt: c0.Add(5 * time.Minute), UpdatedAt: c0.Add(5 * time.Minute)})
			})
		}, false},
		{"OrderFromTheCheckout", "order shopify:2003 was placed after", func(e *cartEnv, c *synclayer.Cart) {
			e.tx(func(tx synclayer.Tx) error {
				return tx.SaveOrder(context.Background(), &synclayer.Order{ID: "shopify:2003", Source: "shopify", SourceID: "2003", ContactID: c.ContactID, CartID: c.SourceID,
					Status: synclayer.OrderPaid, Total: synclayer.MustMoney("398.00"), CreatedAt: c0.Add(-time.Hour), UpdatedAt: c0.Add(-time.Hour)})
			})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newCartEnv(t)
			c := e.cart("tok3", e.contact("ann@example.com", true).ID, c0)
			tc.edit(e, c)
			e.save(c)
			e.now = c0.Add(2 * time.Hour)
			tr := e.run("shopify:tok3")
			if len(e.sent()) != 0 || !strings.Contains(tr.Summary, tc.want) || !strings.HasPrefix(tr.Summary, "brevo: no call") {
				t.Errorf("%d events sent, trace %q; want none and a trace saying %q", len(e.sent()), tr.Summary, tc.want)
			}
			if (len(e.fired) == 1) != tc.fires {
				t.Errorf("triggers fired: %+v; want fired %v", e.fired, tc.fires)
			}
		})
	}
	t.Run("ConsentNotRequired", func(t *testing.T) {
		t.Parallel()
		e := newCartEnv(t)
		e.skill.RequireConsent = false
		e.cart("tok4", e.contact("quiet@example.com", false).ID, c0)
		e.now = c0.Add(time.Hour)
		e.run("shopify:tok4")
		if len(e.sent()) != 1 {
			t.Errorf("events %+v, want one: require_consent is off", e.sent())
		}
	})
	t.Run("PlatformSaysAbandonedNow", func(t *testing.T) {
		t.Parallel()
		e := newCartEnv(t)
		c := e.cart("tok5", e.contact("now@example.com", true).ID, c0)
		c.AbandonedAt = c0.Add(time.Minute)
		e.save(c)
		e.now = c0.Add(time.Minute)
		e.run("shopify:tok5")
		if len(e.sent()) != 1 {
			t.Errorf("events %+v, want one without waiting the hour", e.sent())
		}
	})
}

// TestCartEvent_Spec: the event body Brevo gets passes its schema, with
// the amounts exact.
func TestCartEvent_Spec(t *testing.T) {
	t.Parallel()
	c := &synclayer.Cart{ID: "custom:c-1", Source: "custom", Currency: "EUR", Total: synclayer.MustMoney("0.10"),
		Items: []synclayer.OrderItem{{ProductID: "custom:p", SKU: "S", Name: "Tee", Price: synclayer.MustMoney("0.05"), Quantity: 2}}}
	b := mustValid(t, "/events", CartEvent(c, &synclayer.Contact{ID: "ct_1", Email: "a@example.com"}, c0))
	var back map[string]any
	_ = json.Unmarshal(b, &back)
	if p := back["event_properties"].(map[string]any); p["total"] != "0.10" {
		t.Errorf("total %v, want the exact 0.10", p["total"])
	}
}

// TestCartEvent_ManyItems: a cart of more lines than Brevo takes in one
// event's properties (50 KB) sends the first lines that fit and counts
// the rest in items_omitted, rather than an event Brevo refuses.
func TestCartEvent_ManyItems(t *testing.T) {
	t.Parallel()
	c := &synclayer.Cart{ID: "custom:c-2", Source: "custom", Currency: "EUR", Total: synclayer.MustMoney("2000.00")}
	for i := range 2000 {
		c.Items = append(c.Items, synclayer.OrderItem{ProductID: fmt.Sprintf("custom:p-%d", i), SKU: "TEE-RED", Price: synclayer.MustMoney("1.00"), Quantity: 1})
	}
	ev := CartEvent(c, &synclayer.Contact{ID: "ct_1", Email: "a@example.com"}, c0)
	mustValid(t, "/events", ev)
	props, _ := json.Marshal(ev.Properties)
	if len(props) > 50<<10 {
		t.Fatalf("event_properties is %d bytes, over Brevo's 50 KB", len(props))
	}
	kept, _ := ev.Properties["items"].([]map[string]any)
	omitted, _ := ev.Properties["items_omitted"].(int)
	if len(kept) < 100 || kept[0]["product_id"] != "custom:p-0" || len(kept)+omitted != 2000 {
		t.Errorf("kept %d items (first %v), omitted %v; want the first lines that fit and the rest counted", len(kept), kept[0], ev.Properties["items_omitted"])
	}

	small := CartEvent(&synclayer.Cart{ID: "custom:c-3", Items: c.Items[:2]}, &synclayer.Contact{ID: "ct_1", Email: "a@example.com"}, c0)
	if _, ok := small.Properties["items_omitted"]; ok || len(small.Properties["items"].([]map[string]any)) != 2 {
		t.Errorf("a small cart's properties %v, want both items and no items_omitted", small.Properties)
	}
}
