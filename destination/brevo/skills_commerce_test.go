package brevo

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevospec"
)

// mustValid fails t unless body is a request to path that Brevo's spec
// accepts.
func mustValid(t *testing.T, path string, body any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	r, _ := http.NewRequest("POST", "https://api.brevo.com/v3"+path, bytes.NewReader(b))
	r.Header.Set("content-type", "application/json")
	r.Header.Set("api-key", "k")
	if err := brevospec.Load(t).Validate(r, b); err != nil {
		t.Errorf("the spec rejects %s: %v", b, err)
	}
	return b
}

var when = time.Date(2026, 11, 20, 9, 10, 11, 500, time.FixedZone("", -5*3600))

func testOrder() *synclayer.Order {
	return &synclayer.Order{
		ID: "shopify:1001", Source: "shopify", SourceID: "1001", ContactID: "ct_1", Number: "#1001", Status: synclayer.OrderPaid,
		Currency: "USD", Total: synclayer.MustMoney("409.94"), CreatedAt: when, UpdatedAt: when.Add(time.Hour),
		Items: []synclayer.OrderItem{
			{ProductID: "shopify:632910392", VariantID: "shopify:632910392-39072856", Price: synclayer.MustMoney("199.00"), Quantity: 2},
			{ProductID: "shopify:line-7", Price: synclayer.MustMoney("11.94"), Quantity: 1},
		},
	}
}

func TestPlanOrder(t *testing.T) {
	t.Parallel()
	c := &synclayer.Contact{ID: "ct_1", Email: "bob@example.com"}
	p := PlanOrder(testOrder(), c, nil)
	if p.Op != OpUpsert {
		t.Fatalf("plan %+v", p)
	}
	body := mustValid(t, "/orders/status", p.Order)
	want := `{"id":"shopify:1001","createdAt":"2026-11-20T14:10:11Z","updatedAt":"2026-11-20T15:10:11Z","status":"paid","amount":409.94,` +
		`"products":[{"productId":"shopify:632910392","variantId":"shopify:632910392-39072856","price":199.00,"quantity":2},` +
		`{"productId":"shopify:line-7","price":11.94,"quantity":1}],"identifiers":{"email_id":"bob@example.com","ext_id":"ct_1"},` +
		`"metaInfo":{"currency":"USD","number":"#1001","source":"shopify"}}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}

	t.Run("Unchanged", func(t *testing.T) {
		if again := PlanOrder(testOrder(), c, p.Order); again.Op != OpNone {
			t.Errorf("the same order again: %+v", again)
		}
	})
	t.Run("RefundLowersAmountAndDatesTheChange", func(t *testing.T) {
		o := testOrder()
		o.Refunds = []synclayer.Refund{{ID: "r1", Amount: synclayer.MustMoney("41.94"), CreatedAt: when.Add(2 * time.Hour)}}
		next := PlanOrder(o, c, p.Order)
		if next.Op != OpUpsert || next.Order.Amount.String() != "368.00" || next.Order.UpdatedAt != "2026-11-20T16:10:11Z" {
			t.Errorf("after a refund: %+v", next.Order)
		}
		mustValid(t, "/orders/status", next.Order)
	})
	t.Run("CancelledAndDeleted", func(t *testing.T) {
		o := testOrder()
		o.Deleted = true
		if next := PlanOrder(o, c, p.Order); next.Op != OpUpsert || next.Order.Status != "cancelled" {
			t.Errorf("deleted order: %+v", next.Order)
		}
	})
	t.Run("NoContact", func(t *testing.T) {
		o := testOrder()
		o.ContactID, o.Items, o.Number, o.Currency = "", nil, "", ""
		next := PlanOrder(o, nil, nil)
		body := mustValid(t, "/orders/status", next.Order)
		if next.Order.Identifiers != nil || !bytes.Contains(body, []byte(`"products":[]`)) {
			t.Errorf("order without a contact or lines: %s", body)
		}
	})
}

func testProduct() *synclayer.Product {
	stock := int64(10)
	return &synclayer.Product{ID: "shopify:632910392-808950810", Source: "shopify", ParentID: "shopify:632910392", SKU: "IPOD2008PINK",
		Name: "IPod Nano - 8GB - Pink", URL: "https://shop.example/products/ipod-nano?variant=808950810", ImageURL: "https://cdn.example/p.png",
		Price: synclayer.MustMoney("199.00"), Stock: &stock, Categories: []string{"shopify:type:Cult Products"}, UpdatedAt: when}
}

func TestPlanProduct(t *testing.T) {
	t.Parallel()
	p, err := PlanProduct(testProduct(), nil)
	if err != nil || p.Op != OpUpsert {
		t.Fatalf("plan %+v, %v", p, err)
	}
	body := mustValid(t, "/products", p.Product)
	want := `{"id":"shopify:632910392-808950810","name":"IPod Nano - 8GB - Pink","url":"https://shop.example/products/ipod-nano?variant=808950810",` +
		`"imageUrl":"https://cdn.example/p.png","sku":"IPOD2008PINK","price":199.00,"categories":["shopify:type:Cult Products"],` +
		`"parentId":"shopify:632910392","stock":10,"updateEnabled":true}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	held := p.Product

	t.Run("NothingSyncedChanged", func(t *testing.T) {
		q := testProduct()
		q.UpdatedAt, q.Version = when.Add(time.Hour), 7
		if next, _ := PlanProduct(q, held); next.Op != OpNone {
			t.Errorf("an update of nothing synced: %+v", next)
		}
	})
	t.Run("StockChange", func(t *testing.T) {
		q := testProduct()
		*q.Stock = 9
		next, _ := PlanProduct(q, held)
		if next.Op != OpUpsert || *next.Product.Stock != 9 {
			t.Errorf("stock change: %+v", next)
		}
	})
	t.Run("DeleteAndRestore", func(t *testing.T) {
		q := testProduct()
		q.Deleted, q.DeletedAt, q.Name = true, when, ""
		del, err := PlanProduct(q, held)
		if err != nil || del.Op != OpUpsert || del.Product.IsDeleted == nil || !*del.Product.IsDeleted || del.Product.Name != held.Name || del.Product.DeletedAt != "2026-11-20T14:10:11Z" {
			t.Fatalf("delete: %+v, %v", del.Product, err)
		}
		mustValid(t, "/products", del.Product)
		if again, _ := PlanProduct(q, del.Product); again.Op != OpNone {
			t.Errorf("delete again: %+v", again)
		}
		back, _ := PlanProduct(testProduct(), del.Product)
		if back.Op != OpUpsert || back.Product.IsDeleted == nil || *back.Product.IsDeleted {
			t.Errorf("restore: %+v", back.Product)
		}
	})
	t.Run("DeletedNeverSent", func(t *testing.T) {
		q := testProduct()
		q.Deleted = true
		if next, _ := PlanProduct(q, nil); next.Op != OpNone {
			t.Errorf("delete of a product Brevo never had: %+v", next)
		}
	})
	t.Run("NoName", func(t *testing.T) {
		q := testProduct()
		q.Name = ""
		if _, err := PlanProduct(q, nil); err == nil {
			t.Error("a product without a name was planned")
		}
	})
}

func TestPlanCategory(t *testing.T) {
	t.Parallel()
	c := &synclayer.Category{ID: "woocommerce:15", Name: "Shirts", URL: "https://shop.example/c/shirts"}
	p := PlanCategory(c, nil)
	if p.Op != OpUpsert {
		t.Fatalf("plan %+v", p)
	}
	mustValid(t, "/categories", p.Category)
	if again := PlanCategory(c, p.Category); again.Op != OpNone {
		t.Errorf("unchanged category: %+v", again)
	}
	c.Name = "T-shirts"
	if next := PlanCategory(c, p.Category); next.Op != OpUpsert || next.Category.Name != "T-shirts" {
		t.Errorf("renamed category: %+v", next)
	}
}
