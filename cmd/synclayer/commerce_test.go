package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

func withCommerce() envOption {
	return func(c *Config) {
		all := StringList{"shopify", "woocommerce", "custom"}
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: all}
		c.Skills.ProductCatalog = &CommerceSkillConfig{Enabled: true, Source: all}
	}
}

func shopifyOrder(id, customerID int64, email string, updated int, total string, refunds ...map[string]any) map[string]any {
	o := map[string]any{
		"id": id, "name": fmt.Sprintf("#%d", id), "email": email, "currency": "USD", "total_price": total,
		"financial_status": "paid", "fulfillment_status": nil, "cancelled_at": nil, "created_at": ts(0), "updated_at": ts(updated),
		"customer":   map[string]any{"id": customerID, "email": email, "orders_count": 99, "total_spent": "9999.00"},
		"line_items": []any{map[string]any{"id": 1, "product_id": 632910392, "variant_id": 808950810, "sku": "IPOD2008PINK", "quantity": 2, "price": "199.00"}},
		"refunds":    []any{},
	}
	if len(refunds) > 0 {
		o["refunds"] = refunds
	}
	return o
}

func shopifyProduct(updated int, pinkStock int, description string) map[string]any {
	return map[string]any{
		"id": 632910392, "title": "IPod Nano - 8GB", "handle": "ipod-nano", "product_type": "Cult Products", "body_html": description,
		"vendor": "Apple", "tags": "Emotive, MP3", "status": "active", "created_at": ts(0), "updated_at": ts(updated),
		"image": map[string]any{"id": 1, "src": "https://cdn.shopify.com/ipod-nano.png"},
		"variants": []any{
			map[string]any{"id": 808950810, "product_id": 632910392, "title": "Pink", "price": "199.00", "sku": "IPOD2008PINK", "inventory_quantity": pinkStock, "updated_at": ts(updated)},
			map[string]any{"id": 49148385, "product_id": 632910392, "title": "Red", "price": "189.00", "sku": "IPOD2008RED", "inventory_quantity": 20, "updated_at": ts(0)},
		},
	}
}

func (e *env) mustAccept(status int, reply map[string]any) {
	e.t.Helper()
	if status != 200 {
		e.t.Fatalf("webhook answered %d %v", status, reply)
	}
}

func (e *env) order(id string) brevosim.Order {
	e.t.Helper()
	o, ok := e.sim.OrderByID(id)
	if !ok {
		e.t.Fatalf("Brevo has no order %s; orders: %+v", id, e.sim.Orders())
	}
	return o
}

// TestOrderEvents_ShopifyOrder follows a customer's order from Shopify to
// a Brevo order, and the contact's totals computed from it, through a
// refund, while Shopify's own counters are ignored.
func TestOrderEvents_ShopifyOrder(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withCommerce())
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(7001, "bob@example.com", "Bob", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	// While order-events runs it owns the totals: Shopify's orders_count
	// of 3 is not taken, and the totals start from the orders synclayer
	// sees (hence the backfill a shop with history needs).
	if got, ok := e.contact("bob@example.com").Attributes["TOTAL_ORDERS"]; ok {
		t.Fatalf("before any order TOTAL_ORDERS = %v, want none: Shopify's counter is ignored", got)
	}

	status, reply := e.shopify("orders/create", shopifyOrder(450789469, 7001, "bob@example.com", 1, "409.94"))
	e.mustAccept(status, reply)
	e.waitIdle(10 * time.Second)
	c := e.contact("bob@example.com")
	o := e.order("shopify:450789469")
	if o.Amount != "409.94" || o.Status != "paid" || o.CreatedAt != "2026-11-20T10:00:00Z" || o.UpdatedAt != "2026-11-20T10:01:00Z" {
		t.Errorf("Brevo order %+v", o)
	}
	if o.Identifiers["ext_id"] != c.ExtID || o.Identifiers["email_id"] != "bob@example.com" || !strings.HasPrefix(c.ExtID, "ct_") {
		t.Errorf("order identifiers %v, contact ext_id %s", o.Identifiers, c.ExtID)
	}
	if len(o.Products) != 1 || o.Products[0].ProductID != "shopify:632910392" || o.Products[0].VariantID != "shopify:632910392-808950810" ||
		o.Products[0].Price != "199.00" || o.Products[0].Quantity != "2" {
		t.Errorf("order products %+v", o.Products)
	}
	if got := fmt.Sprint(c.Attributes["TOTAL_ORDERS"], " ", c.Attributes["TOTAL_SPENT"], " ", c.Attributes["LAST_ORDER_DATE"]); got != "1 409.94 2026-11-20" {
		t.Errorf("contact totals %s, want 1 409.94 2026-11-20 from the order, not Shopify's counters", got)
	}

	t.Run("RefundLowersTotalSpent", func(t *testing.T) {
		refund := map[string]any{"id": 929361462, "order_id": 450789469, "created_at": ts(5),
			"transactions": []any{map[string]any{"kind": "refund", "status": "success", "amount": "41.94"}}}
		e.mustAccept(e.shopify("refunds/create", refund))
		e.waitIdle(10 * time.Second)
		if got := fmt.Sprint(e.contact("bob@example.com").Attributes["TOTAL_SPENT"]); got != "368" {
			t.Errorf("TOTAL_SPENT %s after a 41.94 refund, want 368", got)
		}
		if o := e.order("shopify:450789469"); o.Amount != "368.00" || o.UpdatedAt != "2026-11-20T10:05:00Z" || o.Posts != 2 {
			t.Errorf("Brevo order after the refund %+v", o)
		}
		// The orders/updated Shopify sends with the same refund inside
		// changes nothing more.
		posts := e.sim.CallCount("POST", "/orders/status")
		e.mustAccept(e.shopify("orders/updated", shopifyOrder(450789469, 7001, "bob@example.com", 1, "409.94", refund)))
		e.waitIdle(10 * time.Second)
		if n := e.sim.CallCount("POST", "/orders/status"); n != posts {
			t.Errorf("POST /orders/status %d times after a redundant update, want still %d", n, posts)
		}
	})
	t.Run("PlatformCountersIgnored", func(t *testing.T) {
		e.mustAccept(e.shopify("customers/update", shopifyCustomer(7001, "bob@example.com", "Bobby", 10, "subscribed", 0)))
		e.waitIdle(10 * time.Second)
		c := e.contact("bob@example.com")
		if c.Attributes["FIRSTNAME"] != "Bobby" || fmt.Sprint(c.Attributes["TOTAL_ORDERS"]) != "1" {
			t.Errorf("after a customer update saying orders_count 3: %+v", c.Attributes)
		}
	})
	t.Run("CancellationSubtracts", func(t *testing.T) {
		cancelled := shopifyOrder(450789469, 7001, "bob@example.com", 20, "409.94")
		cancelled["cancelled_at"] = ts(20)
		e.mustAccept(e.shopify("orders/cancelled", cancelled))
		e.waitIdle(10 * time.Second)
		c := e.contact("bob@example.com")
		if got := fmt.Sprint(c.Attributes["TOTAL_ORDERS"], " ", c.Attributes["TOTAL_SPENT"]); got != "0 0" {
			t.Errorf("totals after the cancellation: %s, want 0 0", got)
		}
		if o := e.order("shopify:450789469"); o.Status != "cancelled" {
			t.Errorf("Brevo order status %s", o.Status)
		}
	})
}

// TestOrderEvents_GuestAndCustom checks that a guest's order creates its
// contact, and that a custom order and its refund count like a platform's.
func TestOrderEvents_GuestAndCustom(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withCommerce())
	guest := map[string]any{
		"id": 900, "number": "900", "status": "processing", "currency": "EUR", "total": "29.35", "customer_id": 0,
		"date_created_gmt": "2026-11-20T10:00:00", "date_modified_gmt": "2026-11-20T10:00:00",
		"billing":    map[string]any{"email": "Guest@Example.com", "first_name": "Gus"},
		"line_items": []any{map[string]any{"id": 1, "product_id": 93, "variation_id": 0, "quantity": 1, "price": 29.35}},
	}
	e.mustAccept(e.woo("order.created", guest))
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"event": "order_created", "timestamp": now.UTC().Format(time.RFC3339), "data": map[string]any{
		"id": "A-1", "email": "guest@example.com", "status": "completed", "currency": "EUR", "total": 10.5,
		"items": []any{map[string]any{"product_id": "sku-1", "price": "10.50", "quantity": 1}}, "created_at": ts(30), "updated_at": ts(30)}})
	e.mustAccept(e.custom(body, "msg_order_a1", now))
	refund, _ := json.Marshal(map[string]any{"event": "order_refunded", "timestamp": now.UTC().Format(time.RFC3339),
		"data": map[string]any{"id": "R-1", "order_id": "A-1", "amount": "0.50"}})
	e.mustAccept(e.custom(refund, "msg_refund_r1", now))
	e.waitIdle(10 * time.Second)

	c := e.contact("guest@example.com")
	if got := fmt.Sprint(c.Attributes["TOTAL_ORDERS"], " ", c.Attributes["TOTAL_SPENT"], " ", c.Attributes["FIRSTNAME"]); got != "2 39.35 Gus" {
		t.Errorf("guest contact: %s (attributes %v), want 2 39.35 Gus", got, c.Attributes)
	}
	if hasList(c, 5) {
		t.Error("a guest order subscribed its buyer to the list")
	}
	if o := e.order("custom:A-1"); o.Amount != "10.00" || o.Status != "completed" || o.Identifiers["ext_id"] != c.ExtID {
		t.Errorf("custom order %+v", o)
	}
	if o := e.order("woocommerce:900"); o.Amount != "29.35" || o.Status != "paid" || o.Products[0].ProductID != "woocommerce:93" {
		t.Errorf("WooCommerce order %+v", o)
	}
}

// TestProductCatalog_OnlyRealChangesGoOut checks that a Shopify product
// and its variants reach Brevo with their category, that an update which
// changes nothing the product sync sends makes no Brevo call, and that a
// stock change does.
func TestProductCatalog_OnlyRealChangesGoOut(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withCommerce())
	e.mustAccept(e.shopify("products/create", shopifyProduct(0, 10, "<p>Small.</p>")))
	e.waitIdle(15 * time.Second)
	var ids []string
	for _, p := range e.sim.Products() {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	if fmt.Sprint(ids) != "[shopify:632910392 shopify:632910392-49148385 shopify:632910392-808950810]" {
		t.Fatalf("Brevo products %v", ids)
	}
	pink, _ := e.sim.ProductByID("shopify:632910392-808950810")
	if pink.ParentID != "shopify:632910392" || pink.Price != "199.00" || pink.Stock != "10" || pink.SKU != "IPOD2008PINK" ||
		pink.URL != "https://demo.myshopify.com/products/ipod-nano?variant=808950810" || len(pink.Categories) != 1 {
		t.Errorf("variant %+v", pink)
	}
	if parent, _ := e.sim.ProductByID("shopify:632910392"); parent.Price != "189.00" || parent.Stock != "30" {
		t.Errorf("product %+v, want the lowest price and the stock of all variants", parent)
	}
	if cats := e.sim.Categories(); len(cats) != 1 || cats[0].ID != pink.Categories[0] || cats[0].Name != "Cult Products" {
		t.Errorf("categories %+v", cats)
	}
	products, categories := e.sim.CallCount("POST", "/products"), e.sim.CallCount("POST", "/categories")

	t.Run("NoOpUpdateMakesNoCall", func(t *testing.T) {
		status, reply := e.shopify("products/update", shopifyProduct(5, 10, "<p>Small, and now described at length.</p>"))
		e.mustAccept(status, reply)
		if events, _ := reply["events"].([]any); len(events) != 1 || events[0].(map[string]any)["status"] != "unchanged" {
			t.Errorf("reply %v, want the event unchanged", reply)
		}
		e.waitIdle(10 * time.Second)
		if n := e.sim.CallCount("POST", "/products"); n != products {
			t.Errorf("POST /products %d times after an update of nothing synced, want still %d", n, products)
		}
	})
	t.Run("StockChangeGoesOut", func(t *testing.T) {
		e.mustAccept(e.shopify("products/update", shopifyProduct(10, 9, "<p>Small.</p>")))
		e.waitIdle(15 * time.Second)
		if n := e.sim.CallCount("POST", "/products"); n != products+2 {
			t.Errorf("POST /products %d times after a stock change, want %d (the variant and its product)", n, products+2)
		}
		if pink, _ := e.sim.ProductByID("shopify:632910392-808950810"); pink.Stock != "9" {
			t.Errorf("variant stock %s, want 9", pink.Stock)
		}
		if n := e.sim.CallCount("POST", "/categories"); n != categories {
			t.Errorf("POST /categories %d times, want still %d: the category did not change", n, categories)
		}
	})
	t.Run("OrderLinesNameCatalogProducts", func(t *testing.T) {
		e.mustAccept(e.shopify("orders/create", shopifyOrder(1, 7002, "ann@example.com", 0, "398.00")))
		e.waitIdle(10 * time.Second)
		line := e.order("shopify:1").Products[0]
		for _, id := range []string{line.ProductID, line.VariantID} {
			if _, ok := e.sim.ProductByID(id); !ok {
				t.Errorf("order line names %s, which the product catalog never sent", id)
			}
		}
	})
	t.Run("DeleteMarksDeleted", func(t *testing.T) {
		e.mustAccept(e.shopify("products/delete", map[string]any{"id": 632910392}))
		e.waitIdle(15 * time.Second)
		for _, p := range e.sim.Products() {
			if !p.IsDeleted || p.DeletedAt == "" {
				t.Errorf("%s after products/delete: %+v", p.ID, p)
			}
		}
	})
	if jobs, _ := e.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead}); len(jobs) != 0 {
		t.Errorf("dead jobs: %+v", jobs)
	}
}

func TestConfig_Commerce(t *testing.T) {
	t.Parallel()
	base := `
sources:
  shopify:     { secret: "s" }
  woocommerce: { secret: "w" }
  custom:      { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
skills:
`
	cfg, err := ParseConfig([]byte(base+`
  order-events:    { enabled: true, source: [shopify, woocommerce, custom], options: { sync_mode: realtime } }
  product-catalog: { enabled: true, source: [shopify, woocommerce, custom], options: { sync_mode: realtime } }
`), "")
	if err != nil {
		t.Fatalf("the issue's example: %v", err)
	}
	if oe := cfg.Skills.OrderEvents; oe == nil || !oe.Enabled || len(oe.Source) != 3 || cfg.Skills.ProductCatalog.Options.SyncMode != "realtime" {
		t.Errorf("parsed %+v", cfg.Skills)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"  order-events: { enabled: true, source: shopify, options: { sync_mode: batch, batch: { max_size: 1000000 } } }", "skills.order-events.options.batch.max_size: must be between 1 and 100000"},
		{"  product-catalog: { enabled: true, source: [shopify, prestashop] }", "skills.product-catalog.source[1]: source \"prestashop\" is not configured"},
		{"  product-catalog: { enabled: true }", "skills.product-catalog.source: is required"},
		{"  order-events: { enabled: true, source: shopify, options: { mode: x } }", "mode"},
	} {
		_, err := ParseConfig([]byte(base+tc.yaml), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestOrderEvents_Postgres runs an order and its refund on PostgreSQL.
func TestOrderEvents_Postgres(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withCommerce(), withPostgres(t))
	e.mustAccept(e.shopify("orders/create", shopifyOrder(42, 8001, "pg@example.com", 0, "20.00")))
	e.mustAccept(e.shopify("refunds/create", map[string]any{"id": 1, "order_id": 42, "created_at": ts(1),
		"transactions": []any{map[string]any{"kind": "refund", "status": "success", "amount": "5.55"}}}))
	e.waitIdle(15 * time.Second)
	c := e.contact("pg@example.com")
	if got := fmt.Sprint(c.Attributes["TOTAL_ORDERS"], " ", c.Attributes["TOTAL_SPENT"]); got != "1 14.45" {
		t.Errorf("totals %s, want 1 14.45", got)
	}
	if o := e.order("shopify:42"); o.Amount != "14.45" {
		t.Errorf("Brevo order amount %s", o.Amount)
	}
}
