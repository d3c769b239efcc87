package brevosim_test

import (
	"fmt"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

const order = `{"id":"shopify:1","createdAt":"2026-11-20T15:00:00Z","updatedAt":"2026-11-20T15:00:00Z","status":"paid","amount":409.94,
	"products":[{"productId":"shopify:9","variantId":"shopify:9-1","price":199.97,"quantity":2}],"identifiers":{"email_id":"bob@example.com","ext_id":"ct_1"}}`

func TestServer_Orders(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	if a := s.do("POST", "/orders/status", order); a.status != 204 {
		t.Fatalf("POST /orders/status = %d %s, want 204", a.status, a.raw)
	}
	o, ok := s.OrderByID("shopify:1")
	if !ok || o.Amount != "409.94" || o.Products[0].Price != "199.97" || o.Identifiers["email_id"] != "bob@example.com" {
		t.Errorf("held %+v", o)
	}
	for _, tc := range []struct{ name, body, code string }{
		{"EmptyStatus", `{"id":"x","createdAt":"2026-11-20T15:00:00Z","updatedAt":"2026-11-20T15:00:00Z","status":"","amount":1,"products":[]}`, "missing_parameter"},
		{"LocalTime", `{"id":"x","createdAt":"2026-11-20T15:00:00+01:00","updatedAt":"2026-11-20T15:00:00Z","status":"paid","amount":1,"products":[]}`, "invalid_parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := s.do("POST", "/orders/status", tc.body); a.status != 400 || a.code() != tc.code {
				t.Errorf("answer %d %s, want 400 %s", a.status, a.raw, tc.code)
			}
		})
	}
	a := s.do("POST", "/orders/status/batch", `{"orders":[`+order+`,{"id":"shopify:2","createdAt":"2026-11-20T15:00:00Z","updatedAt":"2026-11-20T15:00:00Z","status":"cancelled","amount":0,"products":[]}],"historical":true}`)
	if a.status != 202 || a.body["count"] != float64(2) || a.body["batchId"] == nil {
		t.Fatalf("batch = %d %s", a.status, a.raw)
	}
	if o, _ := s.OrderByID("shopify:1"); o.Posts != 2 || !o.Historical {
		t.Errorf("after the batch: %+v", o)
	}
	if a := s.do("GET", "/orders?limit=1", ""); a.status != 200 || a.body["count"] != float64(2) || len(a.body["orders"].([]any)) != 1 {
		t.Errorf("GET /orders = %d %s", a.status, a.raw)
	}
}

func TestServer_ProductsAndCategories(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{ProductRateLimit: -1})
	if a := s.do("POST", "/products", `{"id":"shopify:9","name":"","updateEnabled":true}`); a.status != 400 || a.code() != "missing_parameter" {
		t.Errorf("new product without a name: %d %s", a.status, a.raw)
	}
	if a := s.do("POST", "/products", `{"id":"shopify:9","name":"Shirt","price":19.90,"stock":3,"categories":["woocommerce:15"],"updateEnabled":true}`); a.status != 201 || a.body["id"] == nil {
		t.Errorf("create: %d %s", a.status, a.raw)
	}
	if a := s.do("POST", "/products", `{"id":"shopify:9","name":"Shirt","stock":2,"updateEnabled":true}`); a.status != 204 {
		t.Errorf("update: %d %s", a.status, a.raw)
	}
	if a := s.do("POST", "/products", `{"id":"shopify:9","name":"Shirt"}`); a.status != 400 || a.code() != "duplicate_parameter" {
		t.Errorf("create again: %d %s", a.status, a.raw)
	}
	p, _ := s.ProductByID("shopify:9")
	if p.Price != "19.90" || p.Stock != "2" || p.Posts != 2 || len(p.Categories) != 1 {
		t.Errorf("held %+v", p)
	}
	if a := s.do("GET", "/products/shopify:9", ""); a.status != 200 || a.body["stock"] != float64(2) {
		t.Errorf("GET product: %d %s", a.status, a.raw)
	}
	if a := s.do("GET", "/products/nope", ""); a.status != 404 {
		t.Errorf("GET unknown product: %d %s", a.status, a.raw)
	}
	if a := s.do("GET", "/products", ""); a.status != 200 || a.body["count"] != float64(1) {
		t.Errorf("GET /products: %d %s", a.status, a.raw)
	}
	// A category ID is the shop's, not an email (see brevospec's errata).
	if a := s.do("POST", "/categories", `{"id":"woocommerce:15","name":"Shirts","updateEnabled":true}`); a.status != 201 {
		t.Errorf("category: %d %s", a.status, a.raw)
	}
	if a := s.do("GET", "/categories", ""); a.status != 200 || a.body["count"] != float64(1) {
		t.Errorf("GET /categories: %d %s", a.status, a.raw)
	}
}

// TestServer_CommerceBuckets checks that orders and products each have a
// window of their own, at Brevo's general-tier limits by default, apart
// from the contacts limit.
func TestServer_CommerceBuckets(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	s := mustSim(t, brevosim.Options{RateLimit: 1, Now: func() time.Time { return now }})
	statuses := func(method, path string, n int, body func(i int) string) []int {
		var out []int
		for i := range n {
			out = append(out, s.do(method, path, body(i)).status)
		}
		return out
	}
	orders := statuses("POST", "/orders/status", 6, func(i int) string {
		return fmt.Sprintf(`{"id":"o%d","createdAt":"2026-11-20T15:00:00Z","updatedAt":"2026-11-20T15:00:00Z","status":"paid","amount":1,"products":[]}`, i)
	})
	products := statuses("POST", "/products", 3, func(i int) string { return fmt.Sprintf(`{"id":"p%d","name":"P","updateEnabled":true}`, i) })
	contacts := statuses("POST", "/contacts", 2, func(i int) string { return fmt.Sprintf(`{"ext_id":"c%d"}`, i) })
	if fmt.Sprint(orders) != "[204 204 204 204 204 429]" || fmt.Sprint(products) != "[201 201 429]" || fmt.Sprint(contacts) != "[201 429]" {
		t.Errorf("orders %v, products %v, contacts %v", orders, products, contacts)
	}
	a := s.do("POST", "/orders/status", `{"id":"o9","createdAt":"2026-11-20T15:00:00Z","updatedAt":"2026-11-20T15:00:00Z","status":"paid","amount":1,"products":[]}`)
	if a.header.Get("x-sib-ratelimit-limit") != "5" || a.header.Get("x-sib-ratelimit-remaining") != "0" {
		t.Errorf("orders headers: limit %s remaining %s", a.header.Get("x-sib-ratelimit-limit"), a.header.Get("x-sib-ratelimit-remaining"))
	}
}
