package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer/destination/conformance"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/skill"
	"synclayer/store/storetest"
)

func TestCartEvents_MailchimpMirror_SQLite(t *testing.T) {
	t.Parallel()
	testMailchimpMirror(t, withStorage("sqlite", filepath.Join(t.TempDir(), "synclayer.db")))
}

func TestCartEvents_MailchimpMirror_Postgres(t *testing.T) {
	t.Parallel()
	testMailchimpMirror(t, withStorage("postgres", storetest.NewPostgresDatabase(t)))
}

// testMailchimpMirror: on Mailchimp, whose own automation decides when to
// email about a cart, a Shopify checkout saved twice is one cart there
// with the latest lines; redelivered unchanged it sends nothing; left
// behind it fires the cart_abandoned rule but sends Mailchimp nothing
// more; a checkout that became an order is deleted from Mailchimp.
func testMailchimpMirror(t *testing.T, storage envOption) {
	hook := newReceiver(t, 0)
	cfg, err := ParseConfig([]byte(`
workflows:
  - name: cart-left
    owner: sales@example.com
    trigger: cart_abandoned
    actions:
      - slack: { webhook_url: "`+hook.URL+`", text: "Cart {{ .cart.id }} left by {{ .contact.email }}" }
`), "")
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := commerceOptions(t, "mailchimp")
	e := startConformance(t, storage, false, []string{"mailchimp"}, withCommerceOn("mailchimp", opts), withWorkflows(cfg.Workflows),
		func(c *Config) { c.Skills.CartEvents.Options.AbandonAfter = 3 * time.Second })
	sim := e.m.destinations["mailchimp"].(*mailchimp.Destination).Simulator()
	e.customer(7001, "buyer@example.com", "Bo", "subscribed", 0)
	e.customer(7002, "paid@example.com", "Pa", "subscribed", 0)
	e.waitIdle(20 * time.Second)

	held := func(id string) *mailchimpsim.Cart {
		for _, k := range sim.Carts(mailchimp.SimulatorStore) {
			if k.ID == id {
				return &k
			}
		}
		return nil
	}
	waitHeld := func(id string, ok func(*mailchimpsim.Cart) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if k := held(id); k != nil && ok(k) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("Mailchimp holds %+v for %s", held(id), id)
	}
	cartCalls := func(method, id string) (n int) {
		carts := "/ecommerce/stores/" + mailchimp.SimulatorStore + "/carts"
		for _, c := range sim.Calls() {
			var body struct{ ID string }
			switch {
			case c.Method != method || c.Status >= 300:
			case c.Path == carts && json.Unmarshal(c.Body, &body) == nil && body.ID == id, c.Path == carts+"/"+id:
				n++
			}
		}
		return n
	}

	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-left", 7001, "buyer@example.com", 1, "398.00")))
	waitHeld("shopify:tok-left", func(*mailchimpsim.Cart) bool { return true })
	later := shopifyCheckout("tok-left", 7001, "buyer@example.com", 2, "597.00")
	later["line_items"] = []any{map[string]any{"product_id": 632910392, "variant_id": 808950810, "sku": "IPOD2008PINK", "title": "IPod Nano", "quantity": 3, "price": "199.00"}}
	e.mustAccept(e.shopify("checkouts/update", later))
	waitHeld("shopify:tok-left", func(k *mailchimpsim.Cart) bool { return k.OrderTotal == "597.00" })
	e.mustAccept(e.shopify("checkouts/update", later)) // redelivered under another webhook id

	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-paid", 7002, "paid@example.com", 1, "398.00")))
	waitHeld("shopify:tok-paid", func(*mailchimpsim.Cart) bool { return true })
	order := shopifyOrder(450789481, 7002, "paid@example.com", 3, "398.00")
	order["checkout_token"] = "tok-paid"
	e.mustAccept(e.shopify("orders/create", order))

	hook.waitFor(t, 1)
	e.waitIdle(20 * time.Second)

	k := held("shopify:tok-left")
	if k == nil || len(k.Lines) != 1 || k.Lines[0].Quantity != 3 || k.CheckoutURL != "https://demo.myshopify.com/checkouts/tok-left/recover" {
		t.Errorf("Mailchimp holds %+v for the cart left behind, want its latest line (3 × IPod Nano)", k)
	}
	if post, patch := cartCalls(http.MethodPost, "shopify:tok-left"), cartCalls(http.MethodPatch, "shopify:tok-left"); post != 1 || patch != 1 {
		t.Errorf("the cart left behind: %d POSTs and %d PATCHes, want 1 and 1 (created, updated once; nothing for the redelivery or the abandonment)", post, patch)
	}
	if k := held("shopify:tok-paid"); k != nil || cartCalls(http.MethodDelete, "shopify:tok-paid") != 1 {
		t.Errorf("the bought cart: Mailchimp holds %+v, %d DELETEs, want it deleted once", k, cartCalls(http.MethodDelete, "shopify:tok-paid"))
	}
	if got := hook.received(); len(got) != 1 || !strings.Contains(slackText(t, got[0]), "shopify:tok-left") {
		t.Errorf("cart_abandoned rule: %d messages, want 1 for the cart left behind", len(got))
	}
	if !e.traceSays("buyer@example.com", "no call (abandoned") || !e.traceSays("paid@example.com", "DELETE") {
		t.Error("the trace does not say what was done at the abandonment and the conversion")
	}
	if c := e.holds("mailchimp", "buyer@example.com"); c.Marketing != conformance.Subscribed {
		t.Errorf("carts changed the buyer's consent: %+v", c)
	}
}

// TestCartEvents_MailchimpConversionAtOnce: a cart Mailchimp holds is
// deleted there as soon as it converts, by an order naming its checkout
// or by the checkout completing, not when the abandonment wait ends: in
// between, Mailchimp's own abandoned-cart automation would mail a buyer
// who has paid.
func TestCartEvents_MailchimpConversionAtOnce(t *testing.T) {
	t.Parallel()
	opts, _ := commerceOptions(t, "mailchimp")
	e := startConformance(t, withStorage("sqlite", filepath.Join(t.TempDir(), "synclayer.db")), false, []string{"mailchimp"},
		withCommerceOn("mailchimp", opts), func(c *Config) { c.Skills.CartEvents.Options.AbandonAfter = time.Hour })
	sim := e.m.destinations["mailchimp"].(*mailchimp.Destination).Simulator()
	held := func(id string) bool {
		for _, k := range sim.Carts(mailchimp.SimulatorStore) {
			if k.ID == id {
				return true
			}
		}
		return false
	}
	waitHeld := func(id string, want bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if held(id) == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("Mailchimp holds %s: %v, want %v (the abandonment wait is an hour)", id, held(id), want)
	}
	e.customer(7101, "ordered@example.com", "Or", "subscribed", 0)
	e.customer(7102, "completed@example.com", "Co", "subscribed", 0)
	e.waitIdle(20 * time.Second)

	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-order", 7101, "ordered@example.com", 1, "398.00")))
	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-done", 7102, "completed@example.com", 1, "398.00")))
	waitHeld("shopify:tok-order", true)
	waitHeld("shopify:tok-done", true)

	order := shopifyOrder(450789482, 7101, "ordered@example.com", 3, "398.00")
	order["checkout_token"] = "tok-order"
	e.mustAccept(e.shopify("orders/create", order))
	waitHeld("shopify:tok-order", false)

	done := shopifyCheckout("tok-done", 7102, "completed@example.com", 2, "398.00")
	done["completed_at"] = time.Now().UTC().Format(time.RFC3339)
	e.mustAccept(e.shopify("checkouts/update", done))
	waitHeld("shopify:tok-done", false)
	// The trace is written as the job completes, just after the DELETE.
	deadline := time.Now().Add(10 * time.Second)
	for !e.traceSays("ordered@example.com", "DELETE") || !e.traceSays("completed@example.com", "DELETE") {
		if time.Now().After(deadline) {
			t.Fatal("the trace does not say the converted carts were deleted from Mailchimp")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPlan_MailchimpCart: the dry run of a cart Mailchimp holds shows
// what would reach it: a PATCH of the held cart when it changes (not a
// second POST), and its DELETE when the checkout completes.
func TestPlan_MailchimpCart(t *testing.T) {
	t.Parallel()
	opts, _ := commerceOptions(t, "mailchimp")
	e := startConformance(t, withStorage("sqlite", filepath.Join(t.TempDir(), "synclayer.db")), false, []string{"mailchimp"},
		withCommerceOn("mailchimp", opts), func(c *Config) { c.Skills.CartEvents.Options.AbandonAfter = time.Hour })
	sim := e.m.destinations["mailchimp"].(*mailchimp.Destination).Simulator()
	e.customer(7201, "new.customer@example.com", "Nu", "subscribed", 0)
	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("cart-2001", 7201, "new.customer@example.com", 1, "398.00")))
	// The abandonment waits an hour; the copy's sync state is what the
	// dry run reads.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := e.m.DB.FindSyncState(context.Background(), skill.CartMirrorKey("shopify:cart-2001"), "mailchimp"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Mailchimp's copy of the cart was never recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	calls := len(sim.Calls())

	samples := t.TempDir()
	write := func(name, doc string) {
		if err := os.WriteFile(filepath.Join(samples, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("01-cart.json", `{"event": "cart_updated", "timestamp": "2026-11-25T09:06:00Z", "data": {"cart_id": "cart-2001",
  "email": "new.customer@example.com", "total": "60.00", "currency": "EUR", "updated_at": "2026-11-25T09:06:00Z",
  "recovery_url": "https://shop.example.com/cart/recover/cart-2001",
  "items": [{"product_id": "tee", "variant_id": "tee-red-m", "sku": "TEE-RED-M", "price": "60.00", "quantity": 1}]}}`)
	write("02-checkout.json", `{"event": "checkout_completed", "timestamp": "2026-11-25T09:08:00Z",
  "data": {"cart_id": "cart-2001", "order_id": "order-1001", "completed_at": "2026-11-25T09:08:00Z"}}`)
	options, _ := json.Marshal(opts)
	mapping, _ := json.Marshal(e.m.Config.Skills.CustomerSync.FieldMapping)
	csOptions, _ := json.Marshal(e.m.Config.Skills.CustomerSync.Options.Extra)
	cfg := filepath.Join(t.TempDir(), "new.yaml")
	doc := fmt.Sprintf(`storage: {driver: sqlite, dsn: %q}
sources:
  shopify: {secret: %q}
destinations:
  mailchimp: {api_key: "0123456789abcdef0123456789abcdef-us21"}
skills:
  customer-sync: {enabled: true, source: [shopify], destination: mailchimp, field_mapping: %s, options: %s}
  cart-events: {enabled: true, source: [shopify], destination: mailchimp, options: %s}
`, e.m.Config.Storage.DSN, shopifySecret, mapping, csOptions, options)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", samples, "--source", "shopify", "--json"}, &out, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Records) != 2 {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	cartCalls := func(r planRecord) (got []string) {
		for _, c := range r.Calls {
			if c.Skill == "cart-events" && strings.Contains(c.Path, "/carts") {
				got = append(got, c.Method+" "+c.Path)
			}
		}
		return got
	}
	path := "/ecommerce/stores/" + mailchimp.SimulatorStore + "/carts/shopify:cart-2001"
	if got := cartCalls(rep.Records[0]); len(got) != 1 || got[0] != "PATCH "+path {
		t.Errorf("the changed cart plans %v, want one PATCH %s\n%s", got, path, out.String())
	}
	if got := cartCalls(rep.Records[1]); len(got) != 1 || got[0] != "DELETE "+path {
		t.Errorf("the completed checkout plans %v, want DELETE %s\n%s", got, path, out.String())
	}
	if n := len(sim.Calls()); n != calls {
		t.Errorf("the dry run called Mailchimp: %d calls", n-calls)
	}
}
