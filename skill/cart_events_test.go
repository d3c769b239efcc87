package skill_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/destination/mailchimp/mailchimpspec"
	"synclayer/skill"
	"synclayer/store"
	"synclayer/store/storetest"
)

const mcStore = "st"

// mirrorEnv is cart-events on Mailchimp (a CartMirror) over a real
// store: the simulator checks every request against Mailchimp's spec.
type mirrorEnv struct {
	t    *testing.T
	db   *store.DB
	sim  *mailchimpsim.Server
	sync *mailchimp.CartSync
	now  time.Time

	mu    sync.Mutex
	fired []synclayer.Trigger
}

func (e *mirrorEnv) Fire(_ context.Context, _ synclayer.Tx, ts ...synclayer.Trigger) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fired = append(e.fired, ts...)
	return nil
}

func newMirrorEnv(t *testing.T) *mirrorEnv {
	t.Helper()
	v := mailchimpspec.Load(t)
	key := strings.ReplaceAll(t.Name(), "/", "-") + "-us21"
	sim := mailchimpsim.New(mailchimpsim.Options{APIKey: key, Validate: v.Validate})
	sim.AddAudience("aud1")
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		for _, v := range sim.Violations() {
			t.Errorf("request violates Mailchimp's spec: %s", v)
		}
	})
	client, err := mailchimp.New(mailchimp.Config{APIKey: key, BaseURL: hs.URL + "/3.0", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := mailchimp.NewCartSync(client, synclayer.SkillConfig{Options: json.RawMessage(`{"store_id":"` + mcStore + `","audience_id":"aud1","currency":"EUR"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &mirrorEnv{t: t, db: storetest.OpenSQLite(t), sim: sim, sync: s, now: time.Now().UTC().Truncate(time.Second)}
}

// buyer stores a contact with email and consent.
func (e *mirrorEnv) buyer(email string, consent synclayer.ConsentState) *synclayer.Contact {
	e.t.Helper()
	c := &synclayer.Contact{}
	synclayer.Merge(c, &synclayer.CustomerChange{SourceID: email, Fields: map[string]json.RawMessage{"email": json.RawMessage(`"` + email + `"`)},
		EmailConsent: &synclayer.ConsentChange{State: consent, At: e.now}}, synclayer.MergeContext{Source: "shop", At: e.now})
	e.tx(func(tx synclayer.Tx) error { return tx.SaveContact(context.Background(), c) })
	return c
}

// save stores cart k as changed now, as ingest would.
func (e *mirrorEnv) save(k *synclayer.Cart) {
	e.t.Helper()
	k.ChangedAt, k.UpdatedAt = e.now, e.now
	e.tx(func(tx synclayer.Tx) error { return tx.SaveCart(context.Background(), k) })
}

func (e *mirrorEnv) tx(f func(synclayer.Tx) error) {
	e.t.Helper()
	if err := e.db.Tx(context.Background(), f); err != nil {
		e.t.Fatal(err)
	}
}

// run runs h on cart id's job as the queue would, recording the state it
// returns, and returns the trace line.
func (e *mirrorEnv) run(h interface {
	Handle(context.Context, *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error)
}, queue, id string) string {
	e.t.Helper()
	st, tr, err := h.Handle(context.Background(), &synclayer.Job{Queue: queue, Destination: "mailchimp", RecordKey: id})
	if err != nil {
		e.t.Fatal(err)
	}
	if st != nil {
		if err := e.db.SaveSyncState(context.Background(), st, e.now); err != nil {
			e.t.Fatal(err)
		}
	}
	if tr == nil {
		return ""
	}
	e.t.Logf("%s: %s", queue, tr.Summary)
	return tr.Summary
}

// changed is the handler of the watcher's queue, which hears of each change.
func (e *mirrorEnv) changed(id string, requireConsent bool) string {
	return e.run(&skill.CartStarted{Store: e.db, Destination: "mailchimp", Watcher: e.sync, RequireConsent: requireConsent},
		skill.CartStartedQueue("mailchimp"), id)
}

// due is the handler of the abandonment queue, run at the end of the wait.
func (e *mirrorEnv) due(id string) string {
	return e.run(&skill.CartEvents{Store: e.db, Destination: "mailchimp", Sync: e.sync, Triggers: e,
		AbandonAfter: time.Hour, RequireConsent: true, Now: func() time.Time { return e.now.Add(2 * time.Hour) }},
		synclayer.Queue(skill.CartEventsName, "mailchimp"), id)
}

func mcCart(id, contactID string, lines int) *synclayer.Cart {
	k := &synclayer.Cart{ID: id, Source: "shop", SourceID: strings.TrimPrefix(id, "shop:"), ContactID: contactID, Currency: "EUR",
		RecoveryURL: "https://shop.example/cart/" + id, Total: synclayer.MustMoney("0")}
	for i := range lines {
		p := []string{"shop:p1", "shop:p2", "shop:p3"}[i]
		k.Items = append(k.Items, synclayer.OrderItem{ProductID: p, Name: p, Price: synclayer.MustMoney("10.00"), Quantity: 1})
		k.Total = k.Total.Add(synclayer.MustMoney("10.00"))
	}
	return k
}

// TestCartEvents_Mirror follows a cart on Mailchimp, whose automation
// decides on abandonment itself: saved twice it is created, then
// updated (one cart, the latest lines); run again unchanged it sends
// nothing; judged abandoned it fires the workflow trigger and sends
// Mailchimp nothing more; converted, it is deleted from Mailchimp.
func TestCartEvents_Mirror(t *testing.T) {
	e := newMirrorEnv(t)
	c := e.buyer("bo@example.com", synclayer.ConsentSubscribed)
	k := mcCart("shop:tok1", c.ID, 3)

	e.save(k)
	if s := e.changed(k.ID, true); !strings.Contains(s, "POST") {
		t.Fatalf("first save: %q", s)
	}
	k.Items, k.Total = k.Items[:2], synclayer.MustMoney("20.00")
	e.save(k)
	if s := e.changed(k.ID, true); !strings.Contains(s, "PATCH") {
		t.Fatalf("second save: %q", s)
	}
	carts := e.sim.Carts(mcStore)
	if len(carts) != 1 || len(carts[0].Lines) != 2 || carts[0].OrderTotal != "20.00" || carts[0].CheckoutURL != k.RecoveryURL {
		t.Fatalf("Mailchimp holds %+v, want one cart of the two latest lines", carts)
	}

	calls := len(e.sim.Calls())
	if s := e.changed(k.ID, true); !strings.Contains(s, "no call") || len(e.sim.Calls()) != calls {
		t.Fatalf("the same cart again: %q, calls %+v", s, e.sim.Calls()[calls:])
	}

	if s := e.due(k.ID); !strings.Contains(s, "no call (abandoned") || len(e.sim.Calls()) != calls {
		t.Fatalf("abandonment: %q, calls %+v", s, e.sim.Calls()[calls:])
	}
	if len(e.fired) != 1 || e.fired[0].Type != synclayer.EventCartAbandoned || e.fired[0].Key != skill.CartTriggerKey(k) {
		t.Fatalf("triggers fired: %+v, want one cart_abandoned", e.fired)
	}

	k.ConvertedAt, k.ConvertedBy = e.now, "shop:1001"
	e.tx(func(tx synclayer.Tx) error { return tx.SaveCart(context.Background(), k) })
	if s := e.due(k.ID); !strings.Contains(s, "DELETE") || !strings.Contains(s, "converted by shop:1001") {
		t.Fatalf("converted: %q", s)
	}
	if carts := e.sim.Carts(mcStore); len(carts) != 0 {
		t.Fatalf("Mailchimp still holds the converted cart: %+v", carts)
	}
	calls = len(e.sim.Calls())
	if s := e.changed(k.ID, true); !strings.Contains(s, "no call") || len(e.sim.Calls()) != calls {
		t.Fatalf("converted cart seen again: %q", s)
	}
	if len(e.fired) != 1 {
		t.Fatalf("triggers fired: %+v", e.fired)
	}
}

// TestCartEvents_MirrorClosed: a cart emptied, or bought as an order
// ingest has not matched to it, leaves Mailchimp when it changes.
func TestCartEvents_MirrorClosed(t *testing.T) {
	e := newMirrorEnv(t)
	c := e.buyer("bo@example.com", synclayer.ConsentSubscribed)
	k := mcCart("shop:tok1", c.ID, 1)
	e.save(k)
	e.changed(k.ID, true)
	k.Items, k.Total = []synclayer.OrderItem{}, synclayer.MustMoney("0")
	e.save(k)
	if s := e.changed(k.ID, true); !strings.Contains(s, "DELETE") || !strings.Contains(s, "empty") || len(e.sim.Carts(mcStore)) != 0 {
		t.Fatalf("emptied: %q, carts %+v", s, e.sim.Carts(mcStore))
	}

	j := mcCart("shop:tok2", c.ID, 1)
	e.save(j)
	e.changed(j.ID, true)
	e.tx(func(tx synclayer.Tx) error {
		return tx.SaveOrder(context.Background(), &synclayer.Order{ID: "shop:1002", Source: "shop", SourceID: "1002", ContactID: c.ID,
			CartID: "tok2", Status: synclayer.OrderPaid, Total: j.Total, Currency: "EUR", Items: j.Items, CreatedAt: e.now, UpdatedAt: e.now})
	})
	if s := e.due(j.ID); !strings.Contains(s, "DELETE") || !strings.Contains(s, "order shop:1002") || len(e.sim.Carts(mcStore)) != 0 {
		t.Fatalf("bought: %q, carts %+v", s, e.sim.Carts(mcStore))
	}
}

// TestCartEvents_MirrorConsent: a buyer without marketing consent gets
// the cart only when require_consent is off, and then with opt_in_status
// false, held transactional; with it on nothing is sent, and the trace
// says why.
func TestCartEvents_MirrorConsent(t *testing.T) {
	for _, require := range []bool{false, true} {
		t.Run(map[bool]string{false: "NotRequired", true: "Required"}[require], func(t *testing.T) {
			e := newMirrorEnv(t)
			c := e.buyer("quiet@example.com", synclayer.ConsentUnknown)
			k := mcCart("shop:tok1", c.ID, 1)
			e.save(k)
			s := e.changed(k.ID, require)
			carts := e.sim.Carts(mcStore)
			if require {
				if len(carts) != 0 || !strings.Contains(s, "no marketing consent") {
					t.Fatalf("%q, carts %+v", s, carts)
				}
				return
			}
			if len(carts) != 1 {
				t.Fatalf("%q, carts %+v", s, carts)
			}
			for _, call := range e.sim.CallsTo("POST", "/ecommerce/stores/"+mcStore+"/carts") {
				var body struct {
					Customer struct {
						OptInStatus *bool `json:"opt_in_status"`
					}
				}
				if json.Unmarshal(call.Body, &body) != nil || body.Customer.OptInStatus == nil || *body.Customer.OptInStatus {
					t.Fatalf("cart POST %s, want opt_in_status false", call.Body)
				}
			}
			if m, ok := e.sim.MemberOf("aud1", "quiet@example.com"); !ok || m.Status != "transactional" {
				t.Fatalf("member %+v, want transactional", m)
			}
		})
	}
}
