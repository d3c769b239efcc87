package shopify_test

import (
	"context"
	"strings"
	"testing"

	"synclayer"
	"synclayer/source/shopify/shopifysim"
)

func TestSource_HookTopics(t *testing.T) {
	src := mustOpenSource(t, `{}`).(synclayer.HookRegistrar)
	got := strings.Join(src.HookTopics([]string{"order-events", "customer-sync", "no-such-skill"}), " ")
	want := "CUSTOMERS_CREATE CUSTOMERS_DELETE CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE CUSTOMERS_MARKETING_CONSENT_UPDATE CUSTOMERS_UPDATE " +
		"ORDERS_CANCELLED ORDERS_CREATE ORDERS_PAID ORDERS_UPDATED REFUNDS_CREATE"
	if got != want {
		t.Errorf("HookTopics = %s\nwant %s", got, want)
	}
	if got := src.HookTopics([]string{"cart-events", "product-catalog"}); strings.Join(got, " ") != "CHECKOUTS_CREATE CHECKOUTS_UPDATE PRODUCTS_CREATE PRODUCTS_DELETE PRODUCTS_UPDATE" {
		t.Errorf("HookTopics(cart-events, product-catalog) = %v", got)
	}
	_, err := src.RegisterHooks(context.Background(), "https://sync.example.com/webhooks/shopify", []string{"CUSTOMERS_UPDATE"})
	if !isPermanent(err) || !strings.Contains(err.Error(), "admin") {
		t.Errorf("RegisterHooks without admin: %v, want a Permanent error naming admin", err)
	}
}

func TestSource_RegisterHooks(t *testing.T) {
	ctx := context.Background()
	const target = "https://sync.example.com/webhooks/shopify"
	sim, _, src := mustOpenLister(t, shopifysim.Options{}, "")
	topics := src.HookTopics([]string{"customer-sync", "order-events", "product-catalog", "cart-events"})
	statuses := func(states []synclayer.HookState) map[string]string {
		out := map[string]string{}
		for _, s := range states {
			out[s.Topic] += s.Status
		}
		return out
	}
	all := func(states []synclayer.HookState, status string) bool {
		for _, s := range states {
			if s.Status != status {
				return false
			}
		}
		return len(states) == len(topics)
	}

	first, err := src.RegisterHooks(ctx, target, topics)
	if err != nil || !all(first, synclayer.HookCreated) {
		t.Fatalf("first register: %v %v, want every topic created", statuses(first), err)
	}
	for _, h := range sim.Webhooks() {
		if h.CallbackURL != target || h.Format != "JSON" {
			t.Errorf("subscription %+v, want JSON at %s", h, target)
		}
	}
	sim.ClearCalls()
	second, err := src.RegisterHooks(ctx, target, topics)
	if err != nil || !all(second, synclayer.HookUnchanged) {
		t.Errorf("second register: %v %v, want every topic unchanged", statuses(second), err)
	}
	if n := len(sim.Calls()); n != 1 {
		t.Errorf("second register made %d calls, want the one listing", n)
	}
	check, err := src.Hooks(ctx, target, topics)
	if err != nil || !all(check, synclayer.HookOK) {
		t.Errorf("check: %v %v, want every topic ok", statuses(check), err)
	}

	// Shopify removed one after failures; another was made on the old host
	// name; a third belongs to another source of the same app.
	var removed, moved string
	for _, h := range sim.Webhooks() {
		switch h.Topic {
		case "CUSTOMERS_UPDATE":
			removed = h.ID
		case "PRODUCTS_DELETE":
			moved = h.ID
		}
	}
	sim.RemoveWebhook(removed)
	sim.RemoveWebhook(moved)
	sim.AddWebhook("PRODUCTS_DELETE", "https://old-host.example.com/webhooks/shopify", "JSON")
	sim.AddWebhook("PRODUCTS_DELETE", "https://sync.example.com/webhooks/shopify-eu", "JSON")
	check, err = src.Hooks(ctx, target, topics)
	got := statuses(check)
	if err != nil || got["CUSTOMERS_UPDATE"] != synclayer.HookMissing || got["PRODUCTS_DELETE"] != synclayer.HookElsewhere || got["ORDERS_PAID"] != synclayer.HookOK {
		t.Errorf("check after the changes: %v %v; want CUSTOMERS_UPDATE missing, PRODUCTS_DELETE elsewhere, the rest ok", got, err)
	}
	fixed, err := src.RegisterHooks(ctx, target, topics)
	got = statuses(fixed)
	if err != nil || got["CUSTOMERS_UPDATE"] != synclayer.HookCreated || got["PRODUCTS_DELETE"] != synclayer.HookUpdated || got["CHECKOUTS_UPDATE"] != synclayer.HookUnchanged {
		t.Errorf("register after the changes: %v %v; want CUSTOMERS_UPDATE created, PRODUCTS_DELETE updated, the rest unchanged", got, err)
	}
	eu := 0
	for _, h := range sim.Webhooks() {
		if strings.HasSuffix(h.CallbackURL, "/shopify-eu") {
			eu++
		}
	}
	if eu != 1 || len(sim.Webhooks()) != len(topics)+1 {
		t.Errorf("%d subscriptions, the other source's kept %d times; want %d and 1", len(sim.Webhooks()), eu, len(topics)+1)
	}

	t.Run("ShopifyRefusesHTTP", func(t *testing.T) {
		_, err := src.RegisterHooks(ctx, "http://sync.example.com/webhooks/shopify", []string{"CUSTOMERS_CREATE"})
		if !isPermanent(err) || !strings.Contains(err.Error(), "Address protocol http:// is not supported") || !strings.Contains(err.Error(), "CUSTOMERS_CREATE") {
			t.Errorf("http target: %v, want a Permanent error with Shopify's message", err)
		}
	})
}
