package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

// cartIngester runs cart-events on shopify and custom, with order-events
// on or off, on a fixed clock (c0).
func cartIngester(s synclayer.Store, orderEvents bool) *ingest.Ingester {
	routes := []ingest.Route{{Skill: "cart-events", Destination: "brevo", Sources: []string{"shopify", "custom"}, Records: ingest.RecordCarts, Wait: time.Hour}}
	if orderEvents {
		routes = append(routes, ingest.Route{Skill: "order-events", Destination: "brevo", Sources: []string{"shopify", "custom", "woocommerce"}, Records: ingest.RecordOrders})
	}
	return ingest.New(ingest.Config{Store: s, Routes: routes, Now: func() time.Time { return c0 }})
}

func cartEvent(source, token, email string, updated time.Time, total string) *synclayer.Event {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	if email != "" {
		ch.Fields["email"] = json.RawMessage(fmt.Sprintf("%q", email))
	}
	c := &synclayer.Cart{SourceID: token, Currency: "USD", Total: synclayer.MustMoney(total), UpdatedAt: updated,
		Items: []synclayer.OrderItem{{ProductID: "9", VariantID: "9-1", Price: synclayer.MustMoney(total), Quantity: 1}}}
	return &synclayer.Event{Source: source, DedupeKey: fmt.Sprint("c-", dedupe.Add(1)), Topic: "cart_updated", Type: synclayer.EventCartUpdated,
		OccurredAt: updated, Cart: &synclayer.CartChange{SourceID: token, Cart: c, Customer: ch}}
}

func cart(t *testing.T, s synclayer.Store, id string) *synclayer.Cart {
	t.Helper()
	c, err := s.FindCartByID(context.Background(), id)
	if err != nil {
		t.Fatalf("cart %s: %v", id, err)
	}
	return c
}

func cartJobs(t *testing.T, s synclayer.Store) map[string]time.Time {
	t.Helper()
	jobs, err := s.FindJobs(context.Background(), synclayer.JobFilter{Queue: "cart-events", State: synclayer.JobPending})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, j := range jobs {
		out[j.RecordKey] = j.RunAt
	}
	return out
}

func TestIngest_Carts(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	in := cartIngester(s, true)

	res := mustIngest(t, in, cartEvent("shopify", "tok1", "Ann@Example.com", c0.Add(-time.Minute), "19.99"))
	if res.Status != synclayer.EventApplied || !strings.HasPrefix(res.ContactID, "ct_") {
		t.Fatalf("first cart event: %+v, want applied to a new contact", res)
	}
	c := cart(t, s, "shopify:tok1")
	if c.ContactID != res.ContactID || c.Items[0].ProductID != "shopify:9" || c.Total.String() != "19.99" || !c.ChangedAt.Equal(c0) {
		t.Errorf("stored cart %+v", c)
	}
	if got := cartJobs(t, s)["shopify:tok1"]; !got.Equal(c0.Add(time.Hour)) {
		t.Errorf("cart job due %v, want an hour after the change (%v)", got, c0.Add(time.Hour))
	}
	t.Run("SameContentAgainChangesNothing", func(t *testing.T) {
		res := mustIngest(t, in, cartEvent("shopify", "tok1", "ann@example.com", c0, "19.99"))
		if res.Status != synclayer.EventUnchanged || cart(t, s, "shopify:tok1").Version != c.Version {
			t.Errorf("the same cart again: %+v, version %d; want unchanged", res, cart(t, s, "shopify:tok1").Version)
		}
	})
	t.Run("StaleUpdateIsIgnored", func(t *testing.T) {
		res := mustIngest(t, in, cartEvent("shopify", "tok1", "ann@example.com", c0.Add(-time.Hour), "5.00"))
		if res.Status != synclayer.EventUnchanged || !strings.Contains(res.Reason, "newer version") || cart(t, s, "shopify:tok1").Total.String() != "19.99" {
			t.Errorf("stale cart: %+v", res)
		}
	})
	t.Run("OrderFromTheCheckoutConverts", func(t *testing.T) {
		o := shopifyOrder("1001", "paid", "19.99", c0, "", "someone-else@example.com")
		o.Order.CartID = "tok1"
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, o, c0))
		if c := cart(t, s, "shopify:tok1"); !c.Converted() || c.ConvertedBy != "shopify:1001" {
			t.Errorf("cart after its checkout's order: %+v, want converted by shopify:1001", c)
		}
		// A late update of the converted cart keeps it converted and waits on nothing.
		before := cartJobs(t, s)["shopify:tok1"]
		mustIngest(t, in, cartEvent("shopify", "tok1", "ann@example.com", c0.Add(time.Minute), "39.98"))
		if c := cart(t, s, "shopify:tok1"); !c.Converted() || c.Total.String() != "39.98" || !cartJobs(t, s)["shopify:tok1"].Equal(before) {
			t.Errorf("converted cart after an update: %+v; job moved to %v", c, cartJobs(t, s)["shopify:tok1"])
		}
	})
}

// TestIngest_CartConversion: an order converts the carts it was placed
// from by token (even before the cart arrives) and by contact (only the
// carts last changed before it), whether or not order-events runs, and
// from any source.
func TestIngest_CartConversion(t *testing.T) {
	t.Parallel()
	for _, orderEvents := range []bool{true, false} {
		t.Run(fmt.Sprintf("OrderEvents=%v", orderEvents), func(t *testing.T) {
			t.Parallel()
			s := storetest.OpenSQLite(t)
			in := cartIngester(s, orderEvents)
			mustIngest(t, in, cartEvent("custom", "old", "bob@example.com", c0.Add(-2*time.Hour), "10.00"))
			mustIngest(t, in, cartEvent("custom", "new", "bob@example.com", c0.Add(time.Hour), "20.00"))

			// WooCommerce, which sends no carts, places the order.
			o := shopifyOrder("77", "paid", "10.00", c0, "", "bob@example.com")
			res := mustIngest(t, in, orderEvent("woocommerce", synclayer.EventOrderCreated, o, c0))
			if !orderEvents && (res.Status != synclayer.EventApplied || !strings.Contains(res.Reason, "converted custom:old")) {
				t.Errorf("order with order-events off: %+v, want applied, saying it converted custom:old", res)
			}
			if c := cart(t, s, "custom:old"); !c.Converted() || c.ConvertedBy != "woocommerce:77" {
				t.Errorf("cart changed before the order: %+v, want converted by woocommerce:77", c)
			}
			if c := cart(t, s, "custom:new"); c.Converted() {
				t.Errorf("cart changed after the order was converted: %+v", c)
			}

			t.Run("CancelledOrderConvertsNothing", func(t *testing.T) {
				o := shopifyOrder("78", "cancelled", "20.00", c0.Add(2*time.Hour), "", "bob@example.com")
				o.Order.CreatedAt = c0.Add(2 * time.Hour)
				mustIngest(t, in, orderEvent("woocommerce", synclayer.EventOrderCancelled, o, c0.Add(2*time.Hour)))
				if c := cart(t, s, "custom:new"); c.Converted() {
					t.Errorf("a cancelled order converted %+v", c)
				}
			})
			t.Run("CartUpdatedAsCheckoutStarts", func(t *testing.T) {
				// The plugin dates the cart's last update in milliseconds,
				// as checkout starts; the shop dates the order in whole
				// seconds, so it looks 300 ms older than the cart.
				mustIngest(t, in, cartEvent("custom", "checkout", "dan@example.com", c0.Add(3*time.Hour+300*time.Millisecond), "30.00"))
				o := shopifyOrder("80", "paid", "30.00", c0.Add(3*time.Hour), "", "dan@example.com")
				o.Order.CreatedAt = c0.Add(3 * time.Hour)
				mustIngest(t, in, orderEvent("woocommerce", synclayer.EventOrderCreated, o, c0.Add(3*time.Hour)))
				if c := cart(t, s, "custom:checkout"); !c.Converted() || c.ConvertedBy != "woocommerce:80" {
					t.Errorf("cart updated as its checkout started: %+v, want converted by woocommerce:80", c)
				}
			})
			t.Run("OrderBeforeItsCart", func(t *testing.T) {
				o := shopifyOrder("79", "paid", "5.00", c0, "", "carol@example.com")
				o.Order.CartID = "late"
				mustIngest(t, in, orderEvent("custom", synclayer.EventOrderCreated, o, c0))
				mustIngest(t, in, cartEvent("custom", "late", "carol@example.com", c0.Add(-time.Minute), "5.00"))
				if c := cart(t, s, "custom:late"); !c.Converted() || c.ConvertedBy != "custom:79" || len(c.Items) != 1 {
					t.Errorf("cart arriving after its order: %+v, want its items, converted by custom:79", c)
				}
				if _, ok := cartJobs(t, s)["custom:late"]; ok {
					t.Error("a converted cart got a job")
				}
			})
		})
	}
}

func TestIngest_CheckoutAndAbandoned(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	in := cartIngester(s, false)
	mustIngest(t, in, cartEvent("custom", "c1", "dan@example.com", c0, "10.00"))

	ab := cartEvent("custom", "c1", "dan@example.com", c0, "10.00")
	ab.Type, ab.Topic, ab.Cart.Abandoned = synclayer.EventCartAbandoned, "cart_abandoned", true
	if res := mustIngest(t, in, ab); res.Status != synclayer.EventApplied {
		t.Fatalf("cart_abandoned: %+v", res)
	}
	if got := cartJobs(t, s)["custom:c1"]; !got.Equal(c0) {
		t.Errorf("job after cart_abandoned due %v, want now (%v)", got, c0)
	}
	if res := mustIngest(t, in, ab); !res.Duplicate {
		t.Errorf("redelivered cart_abandoned: %+v, want a duplicate", res)
	}

	done := &synclayer.Event{Source: "custom", DedupeKey: "done-1", Topic: "checkout_completed", Type: synclayer.EventCheckoutCompleted, OccurredAt: c0,
		Cart: &synclayer.CartChange{SourceID: "c1", Completed: true, CompletedAt: c0, OrderID: "501"}}
	if res := mustIngest(t, in, done); res.Status != synclayer.EventApplied {
		t.Fatalf("checkout_completed: %+v", res)
	}
	if c := cart(t, s, "custom:c1"); !c.Converted() || c.ConvertedBy != "custom:501" || c.Total.String() != "10.00" {
		t.Errorf("cart after checkout_completed: %+v", c)
	}
	t.Run("NoCartRoute", func(t *testing.T) {
		res := mustIngest(t, ingest.New(ingest.Config{Store: s, Now: func() time.Time { return c0 }}), cartEvent("shopify", "x", "e@example.com", c0, "1.00"))
		if res.Status != synclayer.EventUnchanged || !strings.Contains(res.Reason, "enable cart-events") {
			t.Errorf("cart without cart-events: %+v", res)
		}
	})
}
