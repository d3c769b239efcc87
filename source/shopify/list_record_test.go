package shopify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify"
	"synclayer/source/shopify/shopifysim"
)

var orderAt = time.Date(2024, 10, 2, 14, 0, 0, 0, time.UTC)

// parseWebhook is what the source makes of a webhook of topic with body.
func parseWebhook(t *testing.T, topic, body string) *synclayer.Event {
	t.Helper()
	h := http.Header{}
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Shop-Domain", "demo.myshopify.com")
	h.Set("X-Shopify-API-Version", "2025-10")
	h.Set("X-Shopify-Webhook-Id", "8d0bfa5c-7d5d-4c1b-b3ab-1c3a1e0e2a11")
	h.Set("X-Shopify-Hmac-Sha256", sign(testSecret, []byte(body)))
	events, err := shopify.New(shopify.Config{Secrets: []string{testSecret}}).Parse(h, []byte(body), time.Now())
	if err != nil || len(events) != 1 {
		t.Fatalf("%s webhook: %v", topic, err)
	}
	return events[0]
}

func TestList_Orders(t *testing.T) {
	t.Parallel()
	sim, _, src := mustOpenLister(t, shopifysim.Options{}, "")
	sim.PutCustomer(shopifysim.Customer{ID: "7001", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"})
	sim.PutOrder(shopifysim.Order{ID: "820982911946154508", Name: "#1001", Currency: "EUR", Total: "59.90", Email: "ada@example.com",
		CustomerID: "7001", FinancialStatus: "PARTIALLY_REFUNDED", FulfillmentStatus: "FULFILLED",
		CreatedAt: orderAt, UpdatedAt: orderAt.Add(time.Hour), Billing: &shopifysim.Address{FirstName: "Ada", LastName: "Lovelace", Phone: "+33612345678"},
		Lines: []shopifysim.LineItem{
			{ID: "466157049", ProductID: "632910392", VariantID: "808950810", Name: "IPod Nano - 8gb", SKU: "IPOD2008", Quantity: 2, Price: "19.95"},
			{ID: "466157050", Name: "Gift wrap", Quantity: 1, Price: "20.00"},
		},
		Refunds: []shopifysim.Refund{{ID: "509562969", CreatedAt: orderAt.Add(30 * time.Minute), Amount: "10.00"}}})
	var long []shopifysim.LineItem
	for i := range 30 {
		long = append(long, shopifysim.LineItem{ID: "9" + strings.Repeat("0", 3) + string(rune('a'+i%26)), Name: "Line", Quantity: 1, Price: "1.00"})
	}
	sim.PutOrder(shopifysim.Order{ID: "820982911946154600", Name: "#1002", Currency: "EUR", Total: "30.00", CreatedAt: orderAt, Lines: long})

	p, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListOrders})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 1 || len(p.Failed) != 1 || p.More || p.Total != -1 {
		t.Fatalf("%d events, %d failed, More %v, Total %d; want 1, 1, false, -1", len(p.Events), len(p.Failed), p.More, p.Total)
	}
	if msg := p.Failed[0].Error(); !strings.Contains(msg, "order 820982911946154600") || !strings.Contains(msg, "more than 25 lines") {
		t.Errorf("Failed: %s", msg)
	}
	// The order's webhook, as Shopify's REST payload (less what the
	// parser does not read). It has no checkout_token: the GraphQL Order
	// has none, so a listed order converts no cart.
	hook := parseWebhook(t, "orders/updated", `{"id": 820982911946154508, "name": "#1001", "currency": "EUR", "total_price": "59.90",
		"email": "ada@example.com", "phone": null, "financial_status": "partially_refunded", "fulfillment_status": "fulfilled", "cancelled_at": null,
		"created_at": "2024-10-02T14:00:00Z", "updated_at": "2024-10-02T15:00:00Z",
		"customer": {"id": 7001, "email": "ada@example.com", "phone": null, "first_name": "Ada", "last_name": "Lovelace"},
		"billing_address": {"first_name": "Ada", "last_name": "Lovelace", "phone": "+33612345678"},
		"line_items": [{"id": 466157049, "product_id": 632910392, "variant_id": 808950810, "name": "IPod Nano - 8gb", "sku": "IPOD2008", "quantity": 2, "price": "19.95"},
			{"id": 466157050, "product_id": null, "variant_id": null, "name": "Gift wrap", "sku": null, "quantity": 1, "price": "20.00"}],
		"refunds": [{"id": 509562969, "created_at": "2024-10-02T14:30:00Z", "transactions": [{"kind": "refund", "status": "success", "amount": "10.00"}]}]}`)
	compareEvents(t, "order", p.Events[0], hook)
	if want := "shopify:orders:820982911946154508:2024-10-02T15:00:00Z"; p.Events[0].DedupeKey != want {
		t.Errorf("DedupeKey %q, want %q", p.Events[0].DedupeKey, want)
	}
}

func TestList_Products(t *testing.T) {
	t.Parallel()
	sim, _, src := mustOpenLister(t, shopifysim.Options{}, "")
	ten, twenty := 10, 20
	sim.PutProduct(shopifysim.Product{ID: "632910392", Title: "IPod Nano - 8GB", Handle: "ipod-nano", ProductType: "Cult Products",
		ImageURL: "https://cdn.shopify.com/s/files/1/ipod-nano.png", CreatedAt: orderAt, UpdatedAt: orderAt.Add(time.Hour),
		Variants: []shopifysim.Variant{
			{ID: "808950810", Title: "Pink", SKU: "IPOD2008PINK", Price: "199.00", Inventory: &ten, ImageID: "562641783",
				ImageURL: "https://cdn.shopify.com/s/files/1/ipod-pink.png", UpdatedAt: orderAt.Add(2 * time.Hour)},
			{ID: "49148385", Title: "Red", SKU: "IPOD2008RED", Price: "189.00", Inventory: &twenty, UpdatedAt: orderAt},
		}})
	var many []shopifysim.Variant
	for i := range 101 {
		many = append(many, shopifysim.Variant{ID: "7" + strings.Repeat("1", i%5+1), Title: "V", Price: "1.00"})
	}
	sim.PutProduct(shopifysim.Product{ID: "632910500", Title: "Many", Handle: "many", CreatedAt: orderAt, Variants: many})

	events, failed := []*synclayer.Event{}, []error{}
	req := synclayer.ListRequest{Kind: synclayer.ListProducts}
	for {
		p, err := src.List(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		events, failed = append(events, p.Events...), append(failed, p.Failed...)
		if !p.More {
			break
		}
		req.Cursor = p.Next
	}
	if len(events) != 1 || len(failed) != 1 || !strings.Contains(failed[0].Error(), "more than 100 variants") {
		t.Fatalf("%d events, failed %v; want 1 and the product of 101 variants", len(events), failed)
	}
	hook := parseWebhook(t, "products/update", `{"id": 632910392, "title": "IPod Nano - 8GB", "handle": "ipod-nano", "product_type": "Cult Products",
		"created_at": "2024-10-02T14:00:00Z", "updated_at": "2024-10-02T15:00:00Z",
		"image": {"id": 1, "src": "https://cdn.shopify.com/s/files/1/ipod-nano.png"},
		"images": [{"id": 1, "src": "https://cdn.shopify.com/s/files/1/ipod-nano.png"}, {"id": 562641783, "src": "https://cdn.shopify.com/s/files/1/ipod-pink.png"}],
		"variants": [{"id": 808950810, "title": "Pink", "sku": "IPOD2008PINK", "price": "199.00", "inventory_quantity": 10, "image_id": 562641783, "updated_at": "2024-10-02T16:00:00Z"},
			{"id": 49148385, "title": "Red", "sku": "IPOD2008RED", "price": "189.00", "inventory_quantity": 20, "image_id": null, "updated_at": "2024-10-02T14:00:00Z"}]}`)
	compareEvents(t, "product", events[0], hook)
}

// costRecorder keeps the requestedQueryCost Shopify answers for each
// root field.
type costRecorder struct {
	mu    sync.Mutex
	costs map[string]float64
}

func (c *costRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/graphql.json") {
		return resp, err
	}
	ans, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(ans))
	var a struct {
		Data       map[string]json.RawMessage `json:"data"`
		Extensions struct {
			Cost struct{ RequestedQueryCost float64 } `json:"cost"`
		} `json:"extensions"`
	}
	json.Unmarshal(ans, &a)
	c.mu.Lock()
	for k := range a.Data {
		c.costs[k] = a.Extensions.Cost.RequestedQueryCost
	}
	c.mu.Unlock()
	return resp, nil
}

// TestListing_Cost: the simulator's cost of each default page, computed
// from the query as Shopify documents it, is what the source takes from
// its limiter before sending (502, 682, 818 points: under the 1000 a
// query may ask), so the limiter paces what Shopify charges.
func TestListing_Cost(t *testing.T) {
	t.Parallel()
	sim := shopifysim.New(shopifysim.Options{AccessToken: adminToken, Validate: mustLoadSchema(t).validate})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	rec := &costRecorder{costs: map[string]float64{}}
	src, err := shopify.NewAdminSource(shopify.Config{Secrets: []string{testSecret}}, shopify.AdminConfig{
		Shop: "demo.myshopify.com", AccessToken: adminToken, Endpoint: srv.URL + "/admin/api/2025-10/graphql.json", Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	sim.SeedCustomers(3, seedFrom)
	for _, kind := range []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts} {
		if _, err := src.List(context.Background(), synclayer.ListRequest{Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.Hooks(context.Background(), "https://sync.example.com/webhooks/shopify", []string{"CUSTOMERS_UPDATE"}); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]float64{"customers": 502, "customersCount": 1, "orders": 682, "products": 818, "webhookSubscriptions": 102} {
		if got := rec.costs[op]; got != want {
			t.Errorf("%s: Shopify's requested cost %v, the source's %v", op, got, want)
		}
	}
	for _, v := range sim.Violations() {
		t.Errorf("request refused by the Admin schema: %s", v)
	}
}
