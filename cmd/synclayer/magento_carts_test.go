package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/source/magento/magentosim"
)

// withMagentoCarts enables cart-events on magento, judged after cartWait.
func withMagentoCarts() envOption {
	return func(c *Config) {
		c.Skills.CartEvents = &CartEventsConfig{Enabled: true, Source: StringList{"magento"},
			Options: CartEventsOptions{AbandonAfter: cartWait}}
	}
}

func magentoQuote(id, customerID int, email, updated string, active bool) map[string]any {
	q := map[string]any{"id": id, "created_at": updated, "updated_at": updated, "is_active": active, "customer_is_guest": customerID == 0,
		"customer": map[string]any{"email": nil}, "currency": map[string]any{"base_currency_code": "USD", "quote_currency_code": "EUR"},
		"items": []any{map[string]any{"item_id": id * 10, "sku": "TEE", "name": "Tee", "qty": 2, "price": "54.75", "product_type": "simple", "quote_id": fmt.Sprint(id)}}}
	if customerID != 0 {
		q["customer"] = map[string]any{"id": customerID, "email": email, "firstname": "C"}
	}
	if !active {
		delete(q, "items") // getList loads no items of an inactive quote
		q["reserved_order_id"] = fmt.Sprintf("%09d", id)
	}
	return q
}

// TestMagento_CartsPolled: with cart-events on magento, the poll lists
// quotes (/V1/carts/search) after the customers: an active cart with an
// email, left alone past abandon_after, reaches Brevo as one
// cart_abandoned with its items, the sum of price × qty and the quote
// currency, and polling it again sends nothing more; a cart that became
// an order inside the wait (is_active false on the next poll), one whose
// order (quote_id) is read while the quote still lists active, and a
// guest's cart without an email send none.
func TestMagento_CartsPolled(t *testing.T) {
	t.Parallel()
	e, sim := startMagento(t, "0", withMagentoCarts())
	p := e.poller()
	if got := e.m.pollKinds("magento", p); !slices.Contains(got, synclayer.ListCarts) {
		t.Fatalf("poll kinds %v with cart-events on magento, want carts", got)
	}
	base := time.Now().Add(time.Minute) // changes after the first poll's start
	at := magentoTime(base)
	for i, email := range []string{"ann@example.com", "bob@example.com", "cy@example.com"} {
		sim.Put(magentosim.Customers, map[string]any{"id": 41 + i, "email": email, "firstname": "C", "created_at": at, "updated_at": at,
			"extension_attributes": map[string]any{"is_subscribed": true}})
	}
	sim.Put(magentosim.Carts, magentoQuote(812, 41, "Ann@Example.com", at, true)) // left behind
	sim.Put(magentosim.Carts, magentoQuote(813, 42, "bob@example.com", at, true)) // ordered inside the wait
	sim.Put(magentosim.Carts, magentoQuote(815, 0, "", at, true))                 // a guest who never gave an email
	sim.Put(magentosim.Carts, magentoQuote(816, 43, "cy@example.com", at, true))  // ordered; the quote's save not read yet
	ctx := context.Background()
	e.m.pollSource(ctx, "magento", p)
	// Bob places the order: Magento deactivates the quote.
	later := magentoTime(base.Add(time.Second))
	sim.Put(magentosim.Carts, magentoQuote(813, 42, "bob@example.com", later, false))
	// Cy's order is read, naming its quote; the quote still lists active.
	sim.Put(magentosim.Orders, map[string]any{"entity_id": 900, "increment_id": "000000900", "state": "processing", "customer_id": 43,
		"customer_email": "cy@example.com", "order_currency_code": "EUR", "grand_total": "109.50", "quote_id": 816, "created_at": later, "updated_at": later,
		"items": []map[string]any{{"item_id": 1, "product_id": 9, "sku": "TEE", "name": "Tee", "price": "54.75", "qty_ordered": "2.0000"}}})
	e.m.pollSource(ctx, "magento", p)

	waitAbandoned(t, e.sim, "magento:812", 1)
	time.Sleep(cartWait + time.Second) // every cart's wait has passed
	e.m.pollSource(ctx, "magento", p)  // the same carts again: duplicates
	e.waitIdle(30 * time.Second)

	got := abandoned(e.sim, "magento:812")
	if len(got) != 1 {
		t.Fatalf("%d cart_abandoned events for the polled cart, want 1: %+v", len(got), got)
	}
	ev := got[0]
	items, _ := ev.Properties["items"].([]any)
	if ev.Identifiers["email_id"] != "ann@example.com" || ev.Properties["total"] != "109.50" || ev.Properties["currency"] != "EUR" ||
		ev.Properties["recovery_url"] != nil || len(items) != 1 {
		t.Errorf("cart_abandoned %+v", ev)
	}
	if it, _ := items[0].(map[string]any); it["sku"] != "TEE" || it["name"] != "Tee" || it["price"] != "54.75" || fmt.Sprint(it["quantity"]) != "2" {
		t.Errorf("item %+v", items[0])
	}
	for _, id := range []string{"magento:813", "magento:815", "magento:816"} {
		if got := abandoned(e.sim, id); len(got) != 0 {
			t.Errorf("cart %s sent %+v", id, got)
		}
	}
	if n := len(e.sim.EventsNamed(brevo.CartAbandonedEvent)); n != 1 {
		t.Errorf("%d cart_abandoned events, want only the left cart's", n)
	}
	c, err := e.m.DB.FindCartByID(ctx, "magento:813")
	if err != nil || !c.Converted() {
		t.Errorf("cart 813 %+v, %v; want converted", c, err)
	}
	if c, err := e.m.DB.FindCartByID(ctx, "magento:816"); err != nil || c.ConvertedBy != "magento:900" {
		t.Errorf("cart 816 %+v, %v; want converted by order magento:900 (its quote_id)", c, err)
	}
}
