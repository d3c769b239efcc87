package brevo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
)

func testOrder(id, amount string) brevo.Order {
	at := brevo.FormatTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.FixedZone("", -5*3600)))
	return brevo.Order{
		ID: id, CreatedAt: at, UpdatedAt: at, Status: "paid", Amount: synclayer.MustMoney(amount),
		Products:    []brevo.OrderProduct{{ProductID: "shopify:9", VariantID: "shopify:9-1", Price: synclayer.MustMoney("199.99"), Quantity: 2}},
		Identifiers: &brevo.OrderIdentifiers{EmailID: "bob@example.com", ExtID: "ct_01"},
		MetaInfo:    map[string]string{"currency": "USD"},
	}
}

func TestClient_UpsertOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	if got := brevo.FormatTime(time.Date(2026, 11, 20, 10, 0, 0, 5, time.FixedZone("", -5*3600))); got != "2026-11-20T15:00:00Z" {
		t.Errorf("FormatTime = %s, want UTC YYYY-MM-DDTHH:mm:ssZ", got)
	}
	// An amount with more digits than a float64 holds arrives digit for digit.
	if err := e.client.UpsertOrder(ctx, testOrder("shopify:1", "12345678901234567.89")); err != nil {
		t.Fatal(err)
	}
	next := testOrder("shopify:1", "0.10")
	next.Status = "refunded"
	if err := e.client.UpsertOrder(ctx, next); err != nil {
		t.Fatal(err)
	}
	o, ok := e.sim.OrderByID("shopify:1")
	if !ok || o.Posts != 2 || o.Status != "refunded" || o.Amount != "0.10" || o.CreatedAt != "2026-11-20T15:00:00Z" {
		t.Errorf("simulator holds %+v", o)
	}
	if len(o.Products) != 1 || o.Products[0].Price != "199.99" || o.Products[0].Quantity != "2" || o.Identifiers["ext_id"] != "ct_01" {
		t.Errorf("products %+v, identifiers %v", o.Products, o.Identifiers)
	}
	var first brevosim.Call
	for _, c := range e.sim.Calls() {
		if c.Method == "POST" && c.Path == "/orders/status" {
			first = c
			break
		}
	}
	if !strings.Contains(string(first.Body), `"amount":12345678901234567.89`) {
		t.Errorf("first body %s does not carry the amount exactly", first.Body)
	}
	if strings.Contains(e.logs.String(), "bob@example.com") {
		t.Error("the debug log holds the order's email")
	}

	bad := testOrder("", "1")
	if err := e.client.UpsertOrder(ctx, bad); kind(err) != "permanent" {
		t.Errorf("order without an id: err %v (%s), want permanent", err, kind(err))
	}
}

func TestClient_ImportOrders(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	id, n, err := e.client.ImportOrders(context.Background(), []brevo.Order{testOrder("woocommerce:1", "5"), testOrder("woocommerce:2", "6.5")}, true)
	if err != nil || id == "" || n != 2 {
		t.Fatalf("ImportOrders = %q, %d, %v", id, n, err)
	}
	if o, ok := e.sim.OrderByID("woocommerce:2"); !ok || !o.Historical || o.Amount != "6.5" {
		t.Errorf("imported order %+v", o)
	}
}

func TestClient_UpsertProductAndCategory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	price, stock := synclayer.MustMoney("19.90"), int64(4)
	p := brevo.Product{ID: "shopify:9", Name: "Shirt", URL: "https://shop.example/products/shirt", ImageURL: "https://cdn.example/s.png",
		SKU: "SH", Price: &price, Stock: &stock, Categories: []string{"shopify:type:Shirts"}, UpdateEnabled: true}
	created, err := e.client.UpsertProduct(ctx, p)
	if err != nil || !created {
		t.Fatalf("first UpsertProduct = %v, %v; want created", created, err)
	}
	p.Stock = new(int64)
	created, err = e.client.UpsertProduct(ctx, p)
	if err != nil || created {
		t.Fatalf("second UpsertProduct = %v, %v; want updated", created, err)
	}
	got, _ := e.sim.ProductByID("shopify:9")
	if got.Price != "19.90" || got.Stock != "0" || got.Posts != 2 || len(got.Categories) != 1 {
		t.Errorf("simulator holds %+v", got)
	}
	variant := brevo.Product{ID: "shopify:9-1", Name: "Shirt - S", ParentID: "shopify:9", UpdateEnabled: true}
	if _, err := e.client.UpsertProduct(ctx, variant); err != nil {
		t.Fatal(err)
	}
	yes := true
	del := brevo.Product{ID: "shopify:9", Name: "Shirt", IsDeleted: &yes, DeletedAt: brevo.FormatTime(time.Now()), UpdateEnabled: true}
	if _, err := e.client.UpsertProduct(ctx, del); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.sim.ProductByID("shopify:9"); !got.IsDeleted || got.Price != "19.90" {
		t.Errorf("after the delete: %+v", got)
	}
	if _, err := e.client.UpsertProduct(ctx, brevo.Product{ID: "shopify:9", Name: "Shirt"}); apiError(err) == nil || apiError(err).Code != "duplicate_parameter" {
		t.Errorf("existing product without updateEnabled: err %v, want 400 duplicate_parameter", err)
	}

	cat := brevo.Category{ID: "woocommerce:15", Name: "Shirts", URL: "https://shop.example/c/shirts", UpdateEnabled: true}
	if created, err := e.client.UpsertCategory(ctx, cat); err != nil || !created {
		t.Fatalf("UpsertCategory = %v, %v; want created", created, err)
	}
	cat.Name = "T-shirts"
	if created, err := e.client.UpsertCategory(ctx, cat); err != nil || created {
		t.Fatalf("UpsertCategory again = %v, %v; want updated", created, err)
	}
	if cs := e.sim.Categories(); len(cs) != 1 || cs[0].Name != "T-shirts" {
		t.Errorf("categories %+v", cs)
	}
}

// TestClient_ProductThrottle posts more products than the simulator's
// products bucket allows (2 a second, as at Brevo) from several
// goroutines: the client must wait for the windows, meet no 429, and leave
// the contacts bucket alone.
func TestClient_ProductThrottle(t *testing.T) {
	t.Parallel()
	waits := map[string]int{}
	var mu sync.Mutex
	e := mustEnv(t, withConfig(func(c *brevo.Config) {
		c.OnRateLimitWait = func(bucket string, d time.Duration) { mu.Lock(); waits[bucket]++; mu.Unlock() }
	}))
	const total = 7
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		wg.Go(func() {
			p := brevo.Product{ID: fmt.Sprintf("custom:%d", i), Name: "P", UpdateEnabled: true}
			if _, err := e.client.UpsertProduct(context.Background(), p); err != nil {
				t.Errorf("product %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for _, c := range e.sim.Calls() {
		if c.Status == 429 {
			t.Errorf("a 429 answered %s %s", c.Method, c.Path)
		}
	}
	if len(e.sim.Products()) != total {
		t.Errorf("%d products, want %d", len(e.sim.Products()), total)
	}
	// 7 requests at 2 per one-second window need at least 3 window changes.
	if elapsed := time.Since(start); elapsed < 2*time.Second {
		t.Errorf("took %v, faster than 2 a second", elapsed)
	}
	mu.Lock()
	defer mu.Unlock()
	if waits["products"] == 0 || waits["contacts"] != 0 {
		t.Errorf("waits per bucket: %v", waits)
	}
}
