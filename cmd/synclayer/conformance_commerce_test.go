package main

import (
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/conformance"
)

// withCommerceOn turns on order-events, product-catalog and cart-events
// (abandon_after 1 s) on destination d, with the simulator's own options
// for each.
func withCommerceOn(d string, options map[string]any) envOption {
	return func(c *Config) {
		src := StringList{"shopify"}
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: src, Destination: d, Options: CommerceOptions{Extra: options}}
		c.Skills.ProductCatalog = &CommerceSkillConfig{Enabled: true, Source: src, Destination: d, Options: CommerceOptions{Extra: options}}
		c.Skills.CartEvents = &CartEventsConfig{Enabled: true, Source: src, Destination: d,
			Options: CartEventsOptions{AbandonAfter: time.Second, Extra: options}}
	}
}

// commerceOptions are the options destination type d's commerce skills
// need in its simulator (a Mailchimp store and audience); ok is false
// when d offers none of the three skills.
func commerceOptions(t *testing.T, d string) (opts map[string]any, ok bool) {
	cfg := &Config{Destinations: map[string]*DestinationSection{d: {Settings: map[string]any{}}}}
	dest, err := cfg.openDestination(d, checkEnv())
	if err != nil {
		t.Fatal(err)
	}
	_, orders := dest.(synclayer.OrderDestination)
	_, products := dest.(synclayer.ProductDestination)
	_, carts := dest.(synclayer.CartDestination)
	if !orders || !products || !carts {
		return nil, false
	}
	if subj, ok := dest.(conformance.Subject); ok {
		if ct, ok := subj.Conformance().(conformance.CommerceTarget); ok {
			return ct.CommerceOptions(), true
		}
	}
	t.Fatalf("%s takes orders, products and carts, but its simulator does not show them to the suite (conformance.CommerceTarget)", d)
	return nil, false
}

// TestCommerceConformance runs the commerce records every destination that
// takes orders, products and carts must be tried with, through the real
// program: an order placed, delivered again under the same and another
// webhook id, refunded and cancelled; a product created, changed and
// updated without a change; a cart left behind, and one converted.
func TestCommerceConformance(t *testing.T) {
	for _, typ := range destinationTypes {
		t.Run(typ.Type, func(t *testing.T) {
			t.Parallel()
			opts, ok := commerceOptions(t, typ.Type)
			if !ok {
				t.Skipf("%s does not offer order-events, product-catalog and cart-events", typ.Type)
			}
			e := startConformance(t, nil, false, []string{typ.Type}, withCommerceOn(typ.Type, opts))
			target := e.targets[typ.Type].(conformance.CommerceTarget)
			e.customer(7001, "buyer@example.com", "Bo", "subscribed", 0)
			e.waitIdle(20 * time.Second)

			const id = "shopify:450789469"
			order := shopifyOrder(450789469, 7001, "buyer@example.com", 1, "409.94")
			body := mustMarshal(order)
			for range 2 {
				if status, reply := e.post("/webhooks/shopify", body, shopifyHeaders("orders/create", "order-once", body, shopifySecret)); status != 200 {
					t.Fatalf("%d %v", status, reply)
				}
			}
			e.waitIdle(20 * time.Second)
			if o := target.Order(id); o == nil || !sameMoney(o.Amount, "409.94") || o.Cancelled {
				t.Fatalf("after orders/create: %+v", o)
			}
			writes := target.CommerceWrites()
			e.mustAccept(e.shopify("orders/updated", order)) // the same order under another webhook id
			e.waitIdle(20 * time.Second)
			if n := target.CommerceWrites(); n != writes {
				t.Errorf("an order update that changes nothing made %d more writes", n-writes)
			}

			refund := map[string]any{"id": 929361462, "order_id": 450789469, "created_at": ts(5),
				"transactions": []any{map[string]any{"kind": "refund", "status": "success", "amount": "41.94"}}}
			e.mustAccept(e.shopify("refunds/create", refund))
			e.waitIdle(20 * time.Second)
			if o := target.Order(id); o == nil || !sameMoney(o.Amount, "368.00") {
				t.Errorf("after a 41.94 refund: %+v, want 368.00 kept", o)
			}
			cancelled := shopifyOrder(450789469, 7001, "buyer@example.com", 20, "409.94", refund)
			cancelled["cancelled_at"] = ts(20)
			e.mustAccept(e.shopify("orders/cancelled", cancelled))
			e.waitIdle(20 * time.Second)
			if o := target.Order(id); o == nil || !o.Cancelled {
				t.Errorf("after orders/cancelled: %+v", o)
			}

			e.mustAccept(e.shopify("products/create", shopifyProduct(1, 5, "<p>Nano</p>")))
			e.waitIdle(20 * time.Second)
			if name := target.Product("shopify:632910392"); name == "" {
				t.Errorf("the product did not arrive")
			}
			writes = target.CommerceWrites()
			e.mustAccept(e.shopify("products/update", shopifyProduct(1, 5, "<p>Nano</p>")))
			e.waitIdle(20 * time.Second)
			if n := target.CommerceWrites(); n != writes {
				t.Errorf("a product update that changes nothing synced made %d more writes", n-writes)
			}
			renamed := shopifyProduct(2, 5, "<p>Nano</p>")
			renamed["title"] = "IPod Nano - 16GB"
			e.mustAccept(e.shopify("products/update", renamed))
			e.waitIdle(20 * time.Second)
			if name := target.Product("shopify:632910392"); name != "IPod Nano - 16GB" {
				t.Errorf("after a rename the destination holds %q", name)
			}

			e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-left", 7001, "buyer@example.com", 1, "398.00")))
			e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-done", 7001, "buyer@example.com", 1, "398.00")))
			done := shopifyCheckout("tok-done", 7001, "buyer@example.com", 2, "398.00")
			done["completed_at"] = ts(2)
			e.mustAccept(e.shopify("checkouts/update", done))
			deadline := time.Now().Add(20 * time.Second)
			for target.Abandonments("shopify:tok-left") == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			e.waitIdle(20 * time.Second)
			if n := target.Abandonments("shopify:tok-left"); n != 1 {
				t.Errorf("a cart left behind: %d abandonments, want 1", n)
			}
			if n := target.Abandonments("shopify:tok-done"); n != 0 {
				t.Errorf("a converted cart: %d abandonments, want none", n)
			}
			if c := e.holds(typ.Type, "buyer@example.com"); c.Marketing != conformance.Subscribed {
				t.Errorf("orders and carts changed the buyer's consent: %+v", c)
			}
		})
	}
}

func sameMoney(a, b string) bool {
	x, err1 := synclayer.ParseMoney(a)
	y, err2 := synclayer.ParseMoney(b)
	return err1 == nil && err2 == nil && x.Cmp(y) == 0
}
