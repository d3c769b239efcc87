package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/source/bigcommerce/bigcommercesim"
)

// withBigCommerceCarts enables cart-events on bigcommerce, judged after
// cartWait.
func withBigCommerceCarts() envOption {
	return func(c *Config) {
		c.Skills.CartEvents = &CartEventsConfig{Enabled: true, Source: StringList{"bigcommerce"},
			Options: CartEventsOptions{AbandonAfter: cartWait}}
	}
}

func bigcommerceCart(id, email string, customerID int, updated time.Time, amount float64) map[string]any {
	return map[string]any{"id": id, "customer_id": customerID, "email": email, "currency": map[string]any{"code": "USD"},
		"base_amount": amount, "cart_amount": amount, "created_time": updated.Add(-time.Minute).UTC().Format(time.RFC3339),
		"updated_time": updated.UTC().Format(time.RFC3339),
		"line_items": map[string]any{"physical_items": []any{map[string]any{"id": "li-" + id, "product_id": 77, "variant_id": 78, "sku": "MUG",
			"name": "Mug", "quantity": 2, "list_price": amount / 2, "sale_price": amount / 2, "url": "https://store.example/mug/"}},
			"digital_items": []any{}, "gift_certificates": []any{}, "custom_items": []any{}}}
}

// bigcommerceData posts a signed callback whose data is given.
func (e *env) bigcommerceData(scope string, data map[string]any, msgID string) (int, map[string]any) {
	body := bigcommercesim.CallbackData("abc123", scope, data, time.Now().Unix())
	h := bigcommercesim.Sign(bigcommerceClientSecret, msgID, time.Now(), body)
	h.Set("Content-Type", "application/json")
	return e.post("/webhooks/bigcommerce", body, h)
}

func (e *env) deadJobs() int64 {
	e.t.Helper()
	counts, err := e.m.DB.CountJobs(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return int64(counts[synclayer.JobDead])
}

// TestBigCommerce_Carts: a cart created, then abandoned (BigCommerce's
// own store/cart/abandoned and the wait both say so) reaches Brevo as one
// cart_abandoned with its items, total, currency and recovery URL; a
// converted cart and a deleted one never do; a callback for a cart gone
// before it is read (404) is skipped, not dead-lettered.
func TestBigCommerce_Carts(t *testing.T) {
	e, sim := startBigCommerce(t, withBigCommerceCarts())
	now := time.Now()
	for i, email := range []string{"ann@example.com", "bob@example.com", "cy@example.com"} {
		sim.AddSubscriber(map[string]any{"id": 5 + i, "email": email, "source": "storefront",
			"date_created": now.Add(-time.Hour).UTC().Format(time.RFC3339), "date_modified": now.Add(-time.Hour).UTC().Format(time.RFC3339)})
		e.mustAccept(e.bigcommerce("store/subscriber/created", "subscriber", 5+i, fmt.Sprintf("msg_sub_%d", i)))
	}
	e.waitIdle(10 * time.Second)

	const left, bought, emptied, gone = "11111111-4175-44fd-be53-f7e598531b6c", "22222222-4175-44fd-be53-f7e598531b6c",
		"33333333-4175-44fd-be53-f7e598531b6c", "44444444-4175-44fd-be53-f7e598531b6c"
	sim.AddCart(bigcommerceCart(left, "Ann@Example.com", 32, now.Add(-time.Minute), 109.5))
	sim.AddCart(bigcommerceCart(bought, "bob@example.com", 0, now.Add(-time.Minute), 20))
	sim.AddCart(bigcommerceCart(emptied, "cy@example.com", 0, now.Add(-time.Minute), 30))
	for _, id := range []string{left, bought, emptied} {
		e.mustAccept(e.bigcommerce("store/cart/created", "cart", id, "msg_created_"+id))
	}
	e.mustAccept(e.bigcommerce("store/cart/updated", "cart", gone, "msg_gone")) // never in the store: 404
	// Each is read; not waitIdle, which would wait out the carts' judgement too.
	for _, id := range []string{left, bought, emptied, gone} {
		waitReads(t, sim, "/v3/carts/"+id, 1)
	}
	time.Sleep(100 * time.Millisecond) // the read's events are ingested

	// Bob checks out: BigCommerce deletes the cart and says converted.
	sim.DeleteCart(bought)
	e.mustAccept(e.bigcommerceData("store/cart/converted", map[string]any{"type": "cart", "id": bought, "orderId": 252}, "msg_converted"))
	e.mustAccept(e.bigcommerce("store/cart/updated", "cart", bought, "msg_late_update")) // read after: 404, skipped
	// Cy empties hers.
	sim.DeleteCart(emptied)
	e.mustAccept(e.bigcommerce("store/cart/deleted", "cart", emptied, "msg_deleted"))
	// Ann's is left: BigCommerce says abandoned after its hour.
	e.mustAccept(e.bigcommerce("store/cart/abandoned", "cart", left, "msg_abandoned"))

	waitAbandoned(t, e.sim, "bigcommerce:"+left, 1)
	time.Sleep(cartWait + time.Second) // the wait of every cart has passed
	e.waitIdle(10 * time.Second)

	got := abandoned(e.sim, "bigcommerce:"+left)
	if len(got) != 1 {
		t.Fatalf("%d cart_abandoned events for the abandoned cart, want 1: %+v", len(got), got)
	}
	ev := got[0]
	items, _ := ev.Properties["items"].([]any)
	if ev.Identifiers["email_id"] != "ann@example.com" || ev.Properties["total"] != "109.5" || ev.Properties["currency"] != "USD" || len(items) != 1 ||
		ev.Properties["recovery_url"] != "https://store-abc123.mybigcommerce.com/cart.php?action=load&id="+left {
		t.Errorf("cart_abandoned %+v", ev)
	}
	if it, _ := items[0].(map[string]any); it["product_id"] != "bigcommerce:77" || it["name"] != "Mug" || fmt.Sprint(it["quantity"]) != "2" {
		t.Errorf("item %+v", items[0])
	}
	for _, id := range []string{bought, emptied, gone} {
		if got := abandoned(e.sim, "bigcommerce:"+id); len(got) != 0 {
			t.Errorf("cart %s sent %+v", id, got)
		}
	}
	if n := len(e.sim.EventsNamed(brevo.CartAbandonedEvent)); n != 1 {
		t.Errorf("%d cart_abandoned events, want only the abandoned cart's", n)
	}
	if n := e.deadJobs(); n != 0 {
		t.Errorf("%d dead jobs; a cart gone before it was read is skipped, not dead-lettered", n)
	}
	trace, err := e.m.DB.Trace(context.Background(), "bigcommerce:"+gone)
	if err != nil || len(trace) != 1 || !strings.Contains(trace[0].Summary, "skipped") || !strings.Contains(trace[0].Summary, "404") {
		t.Errorf("the trace of the cart gone before it was read: %+v, %v; want the skip's note", trace, err)
	}
	if n := sim.Reads("/v3/carts/" + left); n != 2 {
		t.Errorf("the abandoned cart was read %d times, want 2 (created, abandoned)", n)
	}
}

// waitReads waits until the simulator answered path n times.
func waitReads(t *testing.T, sim *bigcommercesim.Server, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sim.Reads(path) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s read %d times after 10s, want %d", path, sim.Reads(path), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBigCommerce_Newsletter: a store/subscriber/created callback opts
// the contact in (Brevo's list); store/subscriber/deleted opts it out
// (blocklisted); a later customer update, which carries no consent, does
// not resubscribe it, and neither does the old subscriber read again.
func TestBigCommerce_Newsletter(t *testing.T) {
	e, sim := startBigCommerce(t)
	now := time.Now().UTC()
	sim.AddCustomer(map[string]any{"id": 32, "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
		"date_created": now.Add(-2 * time.Hour).Format(time.RFC3339), "date_modified": now.Add(-2 * time.Hour).Format(time.RFC3339)})
	e.mustAccept(e.bigcommerce("store/customer/created", "customer", 32, "msg_customer_created"))
	e.waitIdle(10 * time.Second)
	if c := e.contact("ann@example.com"); len(c.ListIDs) != 0 || c.EmailBlacklisted {
		t.Fatalf("a customer without a subscriber: lists %v, blocklisted %v; want neither", c.ListIDs, c.EmailBlacklisted)
	}

	sub := map[string]any{"id": 5, "email": "Ann@Example.com", "first_name": "Ann", "source": "storefront", "order_id": nil,
		"date_created": now.Add(-time.Hour).Format(time.RFC3339), "date_modified": now.Add(-time.Hour).Format(time.RFC3339)}
	sim.AddSubscriber(sub)
	e.mustAccept(e.bigcommerce("store/subscriber/created", "subscriber", 5, "msg_sub_created"))
	e.waitIdle(10 * time.Second)
	if c := e.contact("ann@example.com"); !slices.Equal(c.ListIDs, []int64{5}) || c.EmailBlacklisted {
		t.Fatalf("subscribed: lists %v, blocklisted %v; want list 5", c.ListIDs, c.EmailBlacklisted)
	}

	sim.DeleteSubscriber(5)
	e.mustAccept(e.bigcommerce("store/subscriber/deleted", "subscriber", 5, "msg_sub_deleted"))
	e.waitIdle(10 * time.Second)
	if c := e.contact("ann@example.com"); len(c.ListIDs) != 0 || !c.EmailBlacklisted {
		t.Fatalf("unsubscribed: lists %v, blocklisted %v; want blocklisted", c.ListIDs, c.EmailBlacklisted)
	}

	// The customer changes later: the record says nothing of consent.
	sim.AddCustomer(map[string]any{"id": 32, "email": "ann@example.com", "first_name": "Annie", "last_name": "Lee",
		"date_created": now.Add(-2 * time.Hour).Format(time.RFC3339), "date_modified": now.Add(time.Minute).Format(time.RFC3339),
		"accepts_product_review_abandoned_cart_emails": true})
	e.mustAccept(e.bigcommerce("store/customer/updated", "customer", 32, "msg_customer_updated"))
	// A subscriber read again with a date_modified before the opt-out (a
	// delayed callback) is an opt-in older than it: no resubscription.
	sub["date_modified"] = now.Add(-30 * time.Minute).Format(time.RFC3339)
	sim.AddSubscriber(sub)
	e.mustAccept(e.bigcommerce("store/subscriber/updated", "subscriber", 5, "msg_sub_updated"))
	e.waitIdle(10 * time.Second)
	c := e.contact("ann@example.com")
	if len(c.ListIDs) != 0 || !c.EmailBlacklisted {
		t.Errorf("after a customer update: lists %v, blocklisted %v; want still blocklisted", c.ListIDs, c.EmailBlacklisted)
	}
	if c.Attributes["FIRSTNAME"] != "Annie" {
		t.Errorf("the customer update was not applied: %v", c.Attributes)
	}
	if n := e.deadJobs(); n != 0 {
		t.Errorf("%d dead jobs", n)
	}
}
