package bigcommerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/bigcommerce"
	"synclayer/source/bigcommerce/bigcommercesim"
	"synclayer/source/sourcetest"
)

const clientSecret = "bc-client-secret"

var now = time.Unix(1561479335, 0).UTC()

func open(t testing.TB, apiURL string, extra map[string]any) synclayer.Source {
	t.Helper()
	m := map[string]any{"store_hash": "abc123", "access_token": "bc-token", "api_url": apiURL}
	for k, v := range extra {
		m[k] = v
	}
	section, _ := json.Marshal(m)
	src, err := bigcommerce.Type.Open([]string{clientSecret}, synclayer.SourceSettings{Name: "bigcommerce", Section: section})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + "/body.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func code(err error) string {
	var e *synclayer.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestParse_StandardWebhooksVector: a signature computed apart from Go
// (Python's hmac: base64(HMAC-SHA256(secret, id + "." + ts + "." + body)))
// is accepted, and the callback becomes a notification of order 250.
func TestParse_StandardWebhooksVector(t *testing.T) {
	h := http.Header{}
	h.Set("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
	h.Set("webhook-timestamp", "1561479335")
	h.Set("webhook-signature", "v1,vDgRCWrw3j+Wr4rUNRbamRaicFVAfhhkkB8zn2zXozg=")
	evs, err := open(t, "https://api.bigcommerce.com", nil).Parse(h, fixture(t, "order-created"), now)
	if err != nil || len(evs) != 1 || evs[0].Fetch == nil || *evs[0].Fetch != (synclayer.FetchRef{Kind: "order", ID: "250"}) ||
		evs[0].DedupeKey != "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W" || evs[0].Type != synclayer.EventFetchRequested {
		t.Fatalf("Parse = %+v, %v", evs, err)
	}
	h.Set("webhook-signature", "v1,AAAARCWrw3j+Wr4rUNRbamRaicFVAfhhkkB8zn2zXozg=")
	if _, err := open(t, "https://api.bigcommerce.com", nil).Parse(h, fixture(t, "order-created"), now); code(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("a wrong signature: %v", err)
	}
	h.Set("webhook-signature", "v1,vDgRCWrw3j+Wr4rUNRbamRaicFVAfhhkkB8zn2zXozg=")
	if _, err := open(t, "https://api.bigcommerce.com", nil).Parse(h, fixture(t, "order-created"), now.Add(time.Hour)); code(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("a stale timestamp: %v", err)
	}
}

// TestParse_Cases: each fixture, signed as BigCommerce signs.
func TestParse_Cases(t *testing.T) {
	src := open(t, "https://api.bigcommerce.com", nil)
	parse := func(name string) ([]*synclayer.Event, error) {
		body := fixture(t, name)
		return src.Parse(bigcommercesim.Sign(clientSecret, "msg_"+name, now, body), body, now)
	}
	t.Run("CustomerDeleted", func(t *testing.T) {
		evs, err := parse("customer-deleted")
		if err != nil || len(evs) != 1 || evs[0].Customer == nil || !evs[0].Customer.Delete || evs[0].Customer.SourceID != "32" || evs[0].Fetch != nil {
			t.Fatalf("Parse = %+v, %v", evs, err)
		}
	})
	t.Run("AddressIgnored", func(t *testing.T) {
		if evs, err := parse("address-ignored"); err != nil || len(evs) != 0 {
			t.Fatalf("Parse = %+v, %v", evs, err)
		}
	})
	t.Run("OtherStore", func(t *testing.T) {
		body := []byte(strings.Replace(string(fixture(t, "order-created")), "stores/abc123", "stores/zzz999", 1))
		if _, err := src.Parse(bigcommercesim.Sign(clientSecret, "m", now, body), body, now); code(err) != synclayer.EINVALID || !strings.Contains(err.Error(), "producer") {
			t.Fatalf("another store's callback: %v", err)
		}
	})
	t.Run("Unsigned", func(t *testing.T) {
		if _, err := src.Parse(http.Header{}, fixture(t, "order-created"), now); code(err) != synclayer.EUNAUTHORIZED || !strings.Contains(err.Error(), "webhook-signature") {
			t.Fatalf("unsigned: %v", err)
		}
	})
}

// TestParse_CustomHeader: a store whose hooks carry a custom header is
// checked on it; a signed callback is still checked as signed.
func TestParse_CustomHeader(t *testing.T) {
	src := open(t, "https://api.bigcommerce.com", map[string]any{"header_name": "X-Synclayer-Token", "header_value": "s3cret-value"})
	body := fixture(t, "order-created")
	h := http.Header{}
	h.Set("X-Synclayer-Token", "s3cret-value")
	if evs, err := src.Parse(h, body, now); err != nil || len(evs) != 1 || evs[0].DedupeKey != "store/order/created|250|dd70c0976e06b67aaf671e73f49dcb79230ebf9d" {
		t.Fatalf("Parse = %+v, %v", evs, err)
	}
	h.Set("X-Synclayer-Token", "s3cret-valuf")
	if _, err := src.Parse(h, body, now); code(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("a wrong value: %v", err)
	}
	if _, err := src.Parse(http.Header{}, body, now); code(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("no header: %v", err)
	}
	bad := bigcommercesim.Sign("another-secret", "m", now, body)
	bad.Set("X-Synclayer-Token", "s3cret-value")
	if _, err := src.Parse(bad, body, now); code(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("a bad signature beside a good header: %v", err)
	}
}

// TestFetch: records are read with X-Auth-Token and their errors classified.
func TestFetch(t *testing.T) {
	sim := bigcommercesim.New("abc123", "bc-token")
	sim.AddCustomer(map[string]any{"id": 32, "email": "Ann@Example.com", "first_name": "Ann", "last_name": "Lee", "phone": "+14155550123",
		"date_created": "2026-11-20T10:00:00Z", "date_modified": "2026-11-20T10:00:00Z", "accepts_product_review_abandoned_cart_emails": false})
	sim.AddOrder(map[string]any{"id": 250, "customer_id": 32, "status_id": 11, "status": "Awaiting Fulfillment", "currency_code": "USD",
		"total_inc_tax": "109.5000", "date_created": "Fri, 20 Nov 2026 10:00:00 +0000", "date_modified": "Fri, 20 Nov 2026 10:05:00 +0000",
		"billing_address": map[string]any{"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}},
		[]map[string]any{{"product_id": 77, "variant_id": 78, "sku": "MUG", "name": "Mug", "price_inc_tax": "54.7500", "quantity": 2}})
	sim.AddProduct(map[string]any{"id": 77, "name": "Mug", "sku": "MUG", "price": 54.75, "inventory_tracking": "product", "inventory_level": 9,
		"date_modified": "2026-11-20T09:00:00Z", "custom_url": map[string]any{"url": "/mug/"}, "categories": []any{23, 24}})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	f := open(t, hs.URL, nil).(synclayer.Fetcher)
	ctx := context.Background()

	evs, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "order", ID: "250"})
	if err != nil || len(evs) != 1 || evs[0].Order == nil {
		t.Fatalf("Fetch order = %+v, %v", evs, err)
	}
	o := evs[0].Order
	if o.Order.Status != synclayer.OrderPaid || o.Order.Total.String() != "109.5000" || len(o.Order.Items) != 1 || o.Order.Items[0].Quantity != 2 ||
		o.Customer == nil || o.Customer.SourceID != "32" || o.Customer.Email() != "ann@example.com" {
		t.Fatalf("order = %+v, customer %+v", o.Order, o.Customer)
	}
	sourcetest.CheckCommerce(t, evs[0])

	evs, err = f.Fetch(ctx, synclayer.FetchRef{Kind: "customer", ID: "32"})
	if err != nil || len(evs) != 1 || evs[0].Customer.Email() != "ann@example.com" || evs[0].Type != synclayer.EventCustomerCreated {
		t.Fatalf("Fetch customer = %+v, %v", evs, err)
	}
	if c := evs[0].Customer; c.EmailConsent != nil || string(c.Fields["acceptsAbandonedCartEmails"]) != "false" {
		t.Fatalf("abandoned-cart consent read as marketing consent: %+v", c)
	}

	evs, err = f.Fetch(ctx, synclayer.FetchRef{Kind: "product", ID: "77"})
	if err != nil || len(evs) != 1 || evs[0].Product.Product.Name != "Mug" || *evs[0].Product.Product.Stock != 9 || len(evs[0].Product.Product.Categories) != 2 {
		t.Fatalf("Fetch product = %+v, %v", evs, err)
	}

	var ra *synclayer.RetryAfterError
	sim.RateLimitNext(1)
	if _, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "product", ID: "77"}); !errors.As(err, &ra) || !ra.Throttled || ra.After != 50*time.Millisecond {
		t.Fatalf("a 429: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	var perm *synclayer.PermanentError
	sim.FailNext(1)
	if _, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "product", ID: "77"}); err == nil || errors.As(err, &perm) {
		t.Fatalf("a 500 is retried: %v", err)
	}
	if _, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "order", ID: "999"}); !errors.As(err, &perm) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("a 404: %v", err)
	}
	if _, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "customer", ID: "999"}); !errors.As(err, &perm) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("a customer not found: %v", err)
	}
	other := open(t, hs.URL, map[string]any{"access_token": "stale-token-xyz"}).(synclayer.Fetcher)
	_, err = other.Fetch(ctx, synclayer.FetchRef{Kind: "order", ID: "250"})
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "access_token") || strings.Contains(err.Error(), "stale-token-xyz") || synclayer.HTTPStatus(err) != 401 {
		t.Fatalf("a refused token: %v", err)
	}
}

// FuzzParse: a signed delivery of any body gives an EINVALID error, no
// event (a scope not read) or one complete event.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"order-created", "customer-deleted", "address-ignored", "cart-converted", "cart-deleted", "cart-abandoned", "cart-lineitem-ignored", "subscriber-deleted"} {
		b, _ := os.ReadFile("testdata/" + n + "/body.json")
		f.Add(b)
	}
	src := open(f, "https://api.bigcommerce.com", nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := src.Parse(bigcommercesim.Sign(clientSecret, "msg_fuzz", now, body), body, now)
		if err == nil && len(evs) == 0 {
			return
		}
		sourcetest.CheckFuzzResult(t, evs, err)
	})
}
