package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/skill"
	"synclayer/store/storetest"
)

// cartWait is abandon_after in these tests: long enough for a restart
// inside it, short enough to wait out.
const cartWait = 2 * time.Second

// withCarts enables cart-events on shopify and custom; requireConsent nil
// keeps the default (on).
func withCarts(requireConsent *bool) envOption {
	return func(c *Config) {
		c.Skills.CartEvents = &CartEventsConfig{Enabled: true, Source: StringList{"shopify", "custom"},
			Options: CartEventsOptions{AbandonAfter: cartWait, RequireConsent: requireConsent}}
	}
}

func withOrderEvents() envOption {
	return func(c *Config) {
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: StringList{"shopify", "woocommerce", "custom"}}
	}
}

func withStorage(driver, dsn string) envOption {
	return func(c *Config) { c.Storage = StorageConfig{Driver: driver, DSN: dsn} }
}

func shopifyCheckout(token string, customerID int64, email string, updated int, total string) map[string]any {
	return map[string]any{
		"id": 9000 + customerID, "token": token, "cart_token": "cart-" + token, "email": email, "currency": "USD", "total_price": total,
		"abandoned_checkout_url": "https://demo.myshopify.com/checkouts/" + token + "/recover", "created_at": ts(0), "updated_at": ts(updated),
		"completed_at": nil, "customer": map[string]any{"id": customerID, "email": email},
		"line_items": []any{map[string]any{"product_id": 632910392, "variant_id": 808950810, "sku": "IPOD2008PINK", "title": "IPod Nano", "quantity": 2, "price": "199.00"}},
	}
}

// customEvent posts a signed custom-source event with a fresh message ID.
func (e *env) customEvent(name string, data map[string]any) {
	e.t.Helper()
	now := time.Now()
	body := mustMarshal(map[string]any{"event": name, "timestamp": now.UTC().Format(time.RFC3339), "data": data})
	e.mustAccept(e.custom(body, fmt.Sprintf("msg_cart_%d", e.n.Add(1)), now))
}

func customCart(id, email string, updated time.Time, total string) map[string]any {
	return map[string]any{"cart_id": id, "email": email, "currency": "EUR", "total": total, "recovery_url": "https://shop.example/cart/" + id,
		"updated_at": updated.UTC().Format(time.RFC3339Nano),
		"items":      []any{map[string]any{"product_id": "tee", "variant_id": "tee-red", "sku": "TEE-RED", "price": total, "quantity": 1}}}
}

// subscribe creates a Shopify customer who opted in to email marketing.
func (e *env) subscribe(id int64, email string) {
	e.t.Helper()
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(id, email, "C", 0, "subscribed", 0)))
}

// abandoned returns the cart_abandoned events Brevo received for cartID.
func abandoned(sim *brevosim.Server, cartID string) []brevosim.Event {
	var out []brevosim.Event
	for _, ev := range sim.EventsNamed(brevo.CartAbandonedEvent) {
		if ev.Properties["cart_id"] == cartID {
			out = append(out, ev)
		}
	}
	return out
}

// waitAbandoned waits until Brevo holds n cart_abandoned events for cartID.
func waitAbandoned(t *testing.T, sim *brevosim.Server, cartID string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if len(abandoned(sim, cartID)) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Brevo has %d cart_abandoned events for %s after 15s, want %d; all events: %+v", len(abandoned(sim, cartID)), cartID, n, sim.Events())
}

func TestCartEvents_AbandonedAcrossRestart_SQLite(t *testing.T) {
	t.Parallel()
	testAbandonedAcrossRestart(t, withStorage("sqlite", filepath.Join(t.TempDir(), "synclayer.db")))
}

func TestCartEvents_AbandonedAcrossRestart_Postgres(t *testing.T) {
	t.Parallel()
	testAbandonedAcrossRestart(t, withStorage("postgres", storetest.NewPostgresDatabase(t)))
}

// testAbandonedAcrossRestart: a Shopify checkout left behind sends one
// cart_abandoned after the wait, although the server restarted during the
// wait; a redelivered webhook changes nothing; a later change to the cart
// sends once more after a new wait.
func testAbandonedAcrossRestart(t *testing.T, storage envOption) {
	e := startEnv(t, brevosim.Options{}, storage, withCarts(nil))
	e.subscribe(7101, "bob@example.com")
	body := mustMarshal(shopifyCheckout("tok-bob", 7101, "bob@example.com", 1, "398.00"))
	h := shopifyHeaders("checkouts/create", "wh-checkout-bob", body, shopifySecret)
	posted := time.Now()
	e.mustAccept(e.post("/webhooks/shopify", body, h))
	e.m.Close() // inside the wait

	if time.Since(posted) < cartWait {
		if n := len(e.sim.EventsNamed(brevo.CartAbandonedEvent)); n != 0 {
			t.Fatalf("%d cart_abandoned events before the wait ended", n)
		}
	} else {
		t.Logf("the first server took %s to stop, longer than the wait: the restart did not fall inside it", time.Since(posted))
	}
	sim := e.sim
	again := startEnv(t, brevosim.Options{}, storage, withCarts(nil), withBrevo(setting(e.m.Config, "brevo", "base_url")))
	waitAbandoned(t, sim, "shopify:tok-bob", 1)
	again.waitIdle(30 * time.Second)

	ev := abandoned(sim, "shopify:tok-bob")[0]
	c, _ := sim.ContactByEmail("bob@example.com")
	items, _ := ev.Properties["items"].([]any)
	if ev.Identifiers["email_id"] != "bob@example.com" || ev.Identifiers["ext_id"] != c.ExtID || ev.Properties["total"] != "398.00" ||
		ev.Properties["currency"] != "USD" || ev.Properties["recovery_url"] != "https://demo.myshopify.com/checkouts/tok-bob/recover" || len(items) != 1 {
		t.Errorf("cart_abandoned event %+v (contact ext_id %s)", ev, c.ExtID)
	}
	if it, _ := items[0].(map[string]any); it["product_id"] != "shopify:632910392" || it["name"] != "IPod Nano" || it["price"] != "199.00" || fmt.Sprint(it["quantity"]) != "2" {
		t.Errorf("event item %+v", items[0])
	}

	t.Run("RedeliveredWebhookChangesNothing", func(t *testing.T) {
		status, reply := again.post("/webhooks/shopify", body, h)
		if status != 200 {
			t.Fatalf("redelivery answered %d %v", status, reply)
		}
		// The same content under a new webhook id is no change either.
		again.mustAccept(again.shopify("checkouts/update", shopifyCheckout("tok-bob", 7101, "bob@example.com", 2, "398.00")))
		time.Sleep(cartWait + time.Second)
		again.waitIdle(10 * time.Second)
		if n := len(abandoned(sim, "shopify:tok-bob")); n != 1 {
			t.Errorf("%d cart_abandoned events after redeliveries, want still 1", n)
		}
	})
	t.Run("LaterChangeFiresAgainOnce", func(t *testing.T) {
		again.mustAccept(again.shopify("checkouts/update", shopifyCheckout("tok-bob", 7101, "bob@example.com", 3, "597.00")))
		waitAbandoned(t, sim, "shopify:tok-bob", 2)
		time.Sleep(cartWait)
		again.waitIdle(10 * time.Second)
		got := abandoned(sim, "shopify:tok-bob")
		if len(got) != 2 || got[1].Properties["total"] != "597.00" {
			t.Errorf("events after a later change: %+v, want a second one with total 597.00", got)
		}
	})
}

// TestCartEvents_ConvertedNeverFires: carts that became orders, by every
// way a conversion is seen, send nothing; a control cart, left behind at
// the same time, shows the wait has passed. With order-events off too,
// since orders must still convert carts then.
func TestCartEvents_ConvertedNeverFires(t *testing.T) {
	t.Parallel()
	for _, orderEvents := range []bool{true, false} {
		t.Run(fmt.Sprintf("OrderEvents=%v", orderEvents), func(t *testing.T) {
			t.Parallel()
			opts := []envOption{withCarts(nil)}
			if orderEvents {
				opts = append(opts, withOrderEvents())
			}
			e := startEnv(t, brevosim.Options{}, opts...)
			for i, email := range []string{"done@example.com", "shopdone@example.com", "token@example.com", "samebuyer@example.com", "control@example.com"} {
				e.subscribe(int64(7200+i), email)
			}
			now := time.Now()

			// checkout_completed from the cart plugin.
			e.customEvent("cart_updated", customCart("c-done", "done@example.com", now.Add(-time.Minute), "19.99"))
			e.customEvent("checkout_completed", map[string]any{"cart_id": "c-done", "order_id": "W-1"})

			// A Shopify checkout updated with completed_at.
			e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-done", 7201, "shopdone@example.com", 1, "398.00")))
			completed := shopifyCheckout("tok-done", 7201, "shopdone@example.com", 2, "398.00")
			completed["completed_at"] = ts(2)
			e.mustAccept(e.shopify("checkouts/update", completed))

			// A Shopify order carrying the checkout's token, for another buyer's email.
			e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-paid", 7202, "token@example.com", 1, "398.00")))
			order := shopifyOrder(450789480, 7299, "gift-giver@example.com", 3, "398.00")
			order["checkout_token"] = "tok-paid"
			e.mustAccept(e.shopify("orders/create", order))

			// An order by the same contact placed after the cart's last
			// change, with no token: WooCommerce, whose carts come through custom.
			e.customEvent("cart_updated", customCart("c-same", "samebuyer@example.com", now.Add(-time.Minute), "29.35"))
			e.mustAccept(e.woo("order.created", map[string]any{
				"id": 8801, "status": "processing", "currency": "EUR", "total": "29.35",
				"date_created_gmt": now.UTC().Format("2006-01-02T15:04:05"), "date_modified_gmt": now.UTC().Format("2006-01-02T15:04:05"),
				"billing":    map[string]any{"email": "samebuyer@example.com"},
				"line_items": []any{map[string]any{"id": 1, "product_id": 93, "variation_id": 0, "quantity": 1, "price": 29.35}},
			}))

			// The control: left behind.
			e.customEvent("cart_updated", customCart("c-control", "control@example.com", now.Add(-time.Minute), "5.00"))

			waitAbandoned(t, e.sim, "custom:c-control", 1)
			time.Sleep(cartWait)
			e.waitIdle(10 * time.Second)
			for _, id := range []string{"custom:c-done", "shopify:tok-done", "shopify:tok-paid", "custom:c-same"} {
				if got := abandoned(e.sim, id); len(got) != 0 {
					t.Errorf("converted cart %s sent %+v", id, got)
				}
			}
			if n := len(e.sim.EventsNamed(brevo.CartAbandonedEvent)); n != 1 {
				t.Errorf("%d cart_abandoned events, want only the control's", n)
			}
		})
	}
}

// TestCartEvents_Consent: a contact without marketing consent gets no
// event unless require_consent is off; an anonymous cart never does.
func TestCartEvents_Consent(t *testing.T) {
	t.Parallel()
	off := false
	for _, tc := range []struct {
		name    string
		require *bool
		want    int // events for the unconsented contact's cart
	}{{"Required", nil, 0}, {"NotRequired", &off, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, brevosim.Options{}, withCarts(tc.require))
			e.subscribe(7301, "yes@example.com")
			e.mustAccept(e.shopify("customers/create", shopifyCustomer(7302, "no@example.com", "N", 0, "unsubscribed", 0)))
			now := time.Now()
			e.customEvent("cart_updated", customCart("c-no", "no@example.com", now, "12.00"))
			e.customEvent("cart_updated", customCart("c-guest", "guest-never-seen@example.com", now, "12.00"))
			anon := customCart("c-anon", "", now, "12.00")
			delete(anon, "email")
			e.customEvent("cart_updated", anon)
			e.customEvent("cart_updated", customCart("c-yes", "yes@example.com", now, "12.00"))

			waitAbandoned(t, e.sim, "custom:c-yes", 1)
			if tc.want > 0 {
				waitAbandoned(t, e.sim, "custom:c-no", tc.want)
			}
			time.Sleep(cartWait)
			e.waitIdle(10 * time.Second)
			if got := abandoned(e.sim, "custom:c-no"); len(got) != tc.want {
				t.Errorf("unconsented contact's cart: %d events, want %d", len(got), tc.want)
			}
			if got := abandoned(e.sim, "custom:c-anon"); len(got) != 0 {
				t.Errorf("anonymous cart sent %+v", got)
			}
			if got := abandoned(e.sim, "custom:c-guest"); len(got) != tc.want {
				t.Errorf("a guest's cart (a contact made from it, no consent): %d events, want %d", len(got), tc.want)
			}
			// The trace says why nothing was sent.
			if tc.want == 0 {
				jobs, _ := e.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDone, Queue: skill.CartEventsName})
				if len(jobs) == 0 {
					t.Error("no finished cart-events jobs")
				}
				if !e.traceSays("no@example.com", "no marketing consent") {
					t.Error("the unconsented contact's trace does not say why no event was sent")
				}
			}
		})
	}
}

func (e *env) traceSays(email, text string) bool {
	e.t.Helper()
	cs, err := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: email})
	if err != nil || len(cs) == 0 {
		e.t.Fatalf("contact %s: %v", email, err)
	}
	entries, err := e.m.DB.Trace(context.Background(), cs[0].ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range entries {
		if strings.Contains(t.Summary, text) {
			return true
		}
	}
	return false
}

func TestConfig_CartEvents(t *testing.T) {
	t.Parallel()
	base := `
sources:
  shopify:     { secret: "s" }
  woocommerce: { secret: "w" }
  custom:      { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
skills:
`
	cfg, err := ParseConfig([]byte(base+`
  cart-events:
    enabled: true
    source: [shopify, custom]
    options: { abandon_after: 1h, require_consent: true }
`), "")
	if err != nil {
		t.Fatalf("the issue's example: %v", err)
	}
	if ce := cfg.Skills.CartEvents; ce == nil || !ce.Enabled || len(ce.Source) != 2 || ce.Options.AbandonAfter != time.Hour || !*ce.Options.RequireConsent {
		t.Errorf("parsed %+v", cfg.Skills.CartEvents)
	}
	defaults, err := ParseConfig([]byte(base+"  cart-events: { enabled: true, source: custom }\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if o := defaults.Skills.CartEvents.Options; o.AbandonAfter != time.Hour || o.RequireConsent == nil || !*o.RequireConsent {
		t.Errorf("defaults %+v, want abandon_after 1h and require_consent on", o)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"  cart-events: { enabled: true, source: shopify, options: { abandon_after: -5m } }", "line 7: skills.cart-events.options.abandon_after: must be a positive duration"},
		{"  cart-events: { enabled: true, source: [custom, woocommerce] }", "skills.cart-events.source[1]: WooCommerce sends no cart webhooks"},
		{"  cart-events: { enabled: true }", "skills.cart-events.source: is required"},
		{"  cart-events: { enabled: true, source: shopify, options: { abandon_afer: 1h } }", "abandon_afer"},
		{"  cart-events: { enabled: true, source: shopify, options: { abandon_after: soon } }", `skills.cart-events.options.abandon_after: "soon" is not a duration`},
	} {
		_, err := ParseConfig([]byte(base+tc.yaml), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestCartEvents_WorkflowOnAbandonment: a workflow rule on cart_abandoned
// sees the cart's total as a number, so `cart.total >= 100` picks the big
// cart, and fires once for it, though the cart's job runs again; the
// small cart fires nothing.
func TestCartEvents_WorkflowOnAbandonment(t *testing.T) {
	t.Parallel()
	hook := newReceiver(t, 0)
	cfg, err := ParseConfig([]byte(`
workflows:
  - name: big-cart-left
    owner: sales@example.com
    trigger: cart_abandoned
    filter: 'cart.total >= 100 && contact.marketable'
    actions:
      - slack: { webhook_url: "`+hook.URL+`", text: "Cart {{ .cart.id }} left with {{ .cart.total }} {{ .cart.currency }} by {{ .contact.email }}" }
`), "")
	if err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, brevosim.Options{}, withCarts(nil), withWorkflows(cfg.Workflows))
	e.subscribe(7401, "big@example.com")
	e.subscribe(7402, "small@example.com")
	now := time.Now()
	e.customEvent("cart_updated", customCart("c-big", "big@example.com", now, "120.50"))
	e.customEvent("cart_updated", customCart("c-small", "small@example.com", now, "99.99"))
	waitAbandoned(t, e.sim, "custom:c-big", 1)
	waitAbandoned(t, e.sim, "custom:c-small", 1)
	hook.waitFor(t, 1)
	e.waitIdle(10 * time.Second)
	got := hook.received()
	if len(got) != 1 {
		t.Fatalf("Slack messages: %d, want 1 (the cart of 120.50 only)", len(got))
	}
	if text := slackText(t, got[0]); !contains(text, "custom:c-big", "120.50 EUR", "big@example.com") {
		t.Errorf("Slack text %q must name the cart, its exact total and the buyer", text)
	}
}
