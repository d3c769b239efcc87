package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer/destination/conformance"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
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
