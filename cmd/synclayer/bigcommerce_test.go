package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/source/bigcommerce/bigcommercesim"
)

const bigcommerceClientSecret = "bc-e2e-client-secret"

func startBigCommerce(t *testing.T, opts ...envOption) (*env, *bigcommercesim.Server) {
	t.Helper()
	sim := bigcommercesim.New("abc123", "bc-e2e-token")
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources["bigcommerce"] = &SourceConfig{Secret: bigcommerceClientSecret, Settings: map[string]any{
			"store_hash": "abc123", "access_token": "bc-e2e-token", "api_url": hs.URL}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "bigcommerce")
		c.Skills.CustomerSync.FieldMapping = map[string]string{"email": "email", "firstName": "FIRSTNAME"}
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: StringList{"bigcommerce"}}
		c.Skills.ProductCatalog = &CommerceSkillConfig{Enabled: true, Source: StringList{"bigcommerce"}}
		for _, o := range opts {
			o(c)
		}
	})
	return e, sim
}

func (e *env) bigcommerce(scope, kind string, id any, msgID string) (int, map[string]any) {
	body := bigcommercesim.Callback("abc123", scope, kind, id, time.Now().Unix())
	h := bigcommercesim.Sign(bigcommerceClientSecret, msgID, time.Now(), body)
	h.Set("Content-Type", "application/json")
	return e.post("/webhooks/bigcommerce", body, h)
}

// TestBigCommerce_Orders: a burst of callbacks for one order is
// acknowledged at once and read once (the fetch job coalesces), through
// a 429 waited out, and the order reaches Brevo; a customer callback
// creates the contact, and a product callback reaches the catalog.
func TestBigCommerce_Orders(t *testing.T) {
	e, sim := startBigCommerce(t)
	sim.AddCustomer(map[string]any{"id": 32, "email": "Ann@Example.com", "first_name": "Ann", "last_name": "Lee",
		"date_created": "2026-11-20T10:00:00Z", "date_modified": "2026-11-20T10:00:00Z", "accepts_product_review_abandoned_cart_emails": true})
	sim.AddOrder(map[string]any{"id": 250, "customer_id": 32, "status_id": 11, "currency_code": "USD", "total_inc_tax": "109.5000",
		"date_created": "Fri, 20 Nov 2026 10:00:00 +0000", "date_modified": "Fri, 20 Nov 2026 10:05:00 +0000",
		"billing_address": map[string]any{"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}},
		[]map[string]any{{"product_id": 77, "variant_id": 78, "sku": "MUG", "name": "Mug", "price_inc_tax": "54.7500", "quantity": 2}})
	sim.AddProduct(map[string]any{"id": 77, "name": "Mug", "sku": "MUG", "price": "54.75", "inventory_tracking": "none", "date_modified": "2026-11-20T09:00:00Z"})
	sim.RateLimitNext(1)
	for i, scope := range []string{"store/order/created", "store/order/updated", "store/order/statusUpdated", "store/order/updated"} {
		e.mustAccept(e.bigcommerce(scope, "order", 250, fmt.Sprintf("msg_order_%d", i)))
	}
	if code, reply := e.bigcommerce("store/order/created", "order", 250, "msg_order_0"); code != 200 || reply["status"] != "duplicate" {
		t.Errorf("a redelivered callback: %d %v, want a duplicate", code, reply)
	}
	if code, _ := e.post("/webhooks/bigcommerce", bigcommercesim.Callback("abc123", "store/order/created", "order", 250, 1), http.Header{}); code != http.StatusUnauthorized {
		t.Errorf("an unsigned callback: %d, want 401", code)
	}
	e.mustAccept(e.bigcommerce("store/customer/created", "customer", 32, "msg_customer"))
	e.mustAccept(e.bigcommerce("store/product/updated", "product", 77, "msg_product"))
	e.waitIdle(30 * time.Second)
	if p, ok := e.sim.ProductByID("bigcommerce:77"); !ok || p.Name != "Mug" {
		t.Errorf("Brevo product %+v (%v), want the mug; products: %+v", p, ok, e.sim.Products())
	}
	o := e.order("bigcommerce:250")
	if o.Amount != "109.5000" || o.Status != "paid" || len(o.Products) != 1 {
		t.Errorf("Brevo order %+v, want 109.5000 paid with one product", o)
	}
	if c := e.contact("ann@example.com"); c.Attributes["FIRSTNAME"] != "Ann" {
		t.Errorf("Brevo contact %+v, want FIRSTNAME Ann", c)
	}
	if n := sim.Reads("/v2/orders/250"); n != 1 {
		t.Errorf("order 250 read %d times for four callbacks, want it coalesced", n)
	}
}

// TestBigCommerce_Register: sources register creates a hook per scope at
// server.public_url/webhooks/<name>, updates none when run again, moves
// them to a new public URL, and refuses an address BigCommerce will not
// deliver to.
func TestBigCommerce_Register(t *testing.T) {
	sim := bigcommercesim.New("abc123", "bc-reg-token")
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	write := func(public string) string {
		p := filepath.Join(t.TempDir(), "synclayer.yaml")
		doc := fmt.Sprintf("server:\n  public_url: %q\nstorage:\n  driver: sqlite\n  dsn: %q\nsources:\n  shop-bc:\n    type: bigcommerce\n    secret: s\n    store_hash: abc123\n    access_token: bc-reg-token\n    api_url: %q\n    header_name: X-Synclayer-Token\n    header_value: hv\n",
			public, filepath.Join(t.TempDir(), "db"), hs.URL)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write("https://sync.example.com")
	out, stderr, err := cliRun(t, "sources", "register", "--config", cfg)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, stderr)
	}
	// customer-sync is the one skill taking the source's events: its
	// scopes (the customers and the newsletter subscribers), and no
	// order's, product's or cart's.
	scopes := []string{"store/customer/created", "store/customer/deleted", "store/customer/updated",
		"store/subscriber/created", "store/subscriber/deleted", "store/subscriber/updated"}
	hooks := sim.Hooks()
	if len(hooks) != len(scopes) || strings.Count("\n"+out, "\ncreated ") != len(scopes) {
		t.Fatalf("hooks %+v after:\n%s", hooks, out)
	}
	for _, h := range hooks {
		if h.Destination != "https://sync.example.com/webhooks/shop-bc" || !h.IsActive || h.Headers["X-Synclayer-Token"] != "hv" || !slices.Contains(scopes, h.Scope) {
			t.Errorf("hook %+v", h)
		}
	}
	if out, _, err := cliRun(t, "sources", "register", "shop-bc", "--config", cfg); err != nil || strings.Count("\n"+out, "\nunchanged ") != len(scopes) {
		t.Errorf("register again: %v\n%s", err, out)
	}
	if out, _, err := cliRun(t, "sources", "check", "shop-bc", "--config", cfg); err != nil || strings.Count("\n"+out, "\nok ") != len(scopes) {
		t.Errorf("check: %v\n%s", err, out)
	}
	if out, _, err := cliRun(t, "sources", "register", "--source", "shop-bc", "--config", write("https://new.example.com:443")); err != nil || strings.Count("\n"+out, "\nupdated ") != len(scopes) || len(sim.Hooks()) != len(scopes) {
		t.Errorf("register at a new URL: %v\n%s", err, out)
	}
	for _, bad := range []string{"http://sync.example.com", "https://sync.example.com:8443"} {
		if _, _, err := cliRun(t, "sources", "register", "--config", write(bad)); err == nil || !strings.Contains(err.Error(), "BigCommerce delivers") {
			t.Errorf("public_url %s: %v", bad, err)
		}
	}
}
