package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/klaviyo"
)

const brevoWebhookToken = "tok_0123456789abcdef0123"

// TestInbound_BrevoUnsubscribe runs Brevo's side back through the real
// program: a Shopify customer who opted in reaches list 5; the person
// unsubscribes in a Brevo campaign, and Brevo's webhook (from the
// simulator, with the bearer token) opts the canonical contact out with
// source brevo, says so in the trace, and a later stale Shopify update
// saying subscribed resubscribes nobody. A wrong token is 401 and stores
// nothing.
func TestInbound_BrevoUnsubscribe(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Destinations["brevo"].Settings["webhook"] = map[string]any{"token": brevoWebhookToken}
	})
	cl := brevo.New(brevo.Config{APIKey: "xkeysib-e2e", BaseURL: setting(e.m.Config, "brevo", "base_url")})
	if _, err := cl.CreateWebhook(context.Background(), brevo.CreateWebhookRequest{URL: e.base + "/webhooks/brevo", Type: "marketing",
		Events: brevo.MarketingEvents, Auth: &brevo.WebhookAuth{Type: "bearer", Token: brevoWebhookToken}}); err != nil {
		t.Fatal(err)
	}
	e.shopify("customers/create", shopifyCustomer(2001, "back@example.com", "Bea", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	if c := e.contact("back@example.com"); !hasList(c, 5) || c.EmailBlacklisted {
		t.Fatalf("the opted-in customer is not on list 5: %+v", c)
	}

	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Bearer wrong-token-wrong-token")
	if status, _ := e.post("/webhooks/brevo", []byte(`{"event":"unsubscribed","email":"back@example.com","ts_event":1}`), h); status != 401 {
		t.Errorf("a wrong token: %d, want 401", status)
	}

	if err := e.sim.Unsubscribe("back@example.com"); err != nil {
		t.Fatalf("Brevo's webhook: %v", err)
	}
	cs, err := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: "back@example.com"})
	if err != nil || len(cs) != 1 {
		t.Fatalf("contacts: %v, %v", cs, err)
	}
	if got := cs[0].EmailConsent; got.State != synclayer.ConsentUnsubscribed || got.Source != "brevo" {
		t.Errorf("canonical consent after Brevo's unsubscribe: %+v, want unsubscribed by brevo", got)
	}
	if !e.traceSays("back@example.com", "brevo reports unsubscribed") {
		t.Error("the trace does not record Brevo's report")
	}
	// Shopify's older statement, delivered late, changes nothing.
	e.shopify("customers/update", shopifyCustomer(2001, "back@example.com", "Bea", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	if c := e.contact("back@example.com"); !c.EmailBlacklisted || e.sentBlacklistFalse() {
		t.Errorf("a stale Shopify opt-in resubscribed a contact who unsubscribed in Brevo: %+v", c)
	}
	var rejected bool
	rej, _ := e.m.DB.FindRejections(context.Background(), 10)
	for _, r := range rej {
		rejected = rejected || r.Source == "brevo" && r.Status == 401
	}
	if !rejected {
		t.Error("the wrong-token delivery was not kept for inspection")
	}
}

// TestInbound_BrevoReconcile: an unsubscribe whose webhook was lost is
// found by the reconciliation, goes through ingest as a webhook's would
// (the canonical contact opted out by brevo), and the cursor stored after
// it means the next run finds nothing new.
func TestInbound_BrevoReconcile(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Destinations["brevo"].Settings["webhook"] = map[string]any{"token": brevoWebhookToken, "reconcile_interval": "15m"}
	})
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(2101, "lost@example.com", "Lou", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	if err := e.sim.UnsubscribeSilently("lost@example.com"); err != nil {
		t.Fatal(err)
	}
	r := e.m.destinations["brevo"].(synclayer.Reconciler)
	n, err := e.m.reconcile(context.Background(), "brevo", r)
	if err != nil || n != 1 {
		t.Fatalf("reconcile: %d events, %v; want the lost unsubscribe", n, err)
	}
	if got := e.canonical("lost@example.com").EmailConsent; got.State != synclayer.ConsentUnsubscribed || got.Source != "brevo" {
		t.Errorf("canonical consent: %+v, want unsubscribed by brevo", got)
	}
	e.waitIdle(10 * time.Second) // the opt-out's own delivery records the block
	if cp, err := e.m.DB.FindCheckpoint(context.Background(), reconcileCheckpoint("brevo")); err != nil || len(cp.Detail) == 0 {
		t.Fatalf("no cursor stored: %v", err)
	}
	if n, err := e.m.reconcile(context.Background(), "brevo", r); err != nil || n != 0 {
		t.Errorf("the next run: %d events, %v; want nothing new", n, err)
	}
}

// TestInbound_BrevoBlockIsNeverLifted: a person who unsubscribed from a
// Brevo campaign and later opts in again at the store is subscribed in
// the canonical store (a newer explicit opt-in), but their Brevo block
// stays: Brevo records their own unsubscription, and synclayer lifts only
// blocks that are its own. A block synclayer made (a Shopify opt-out) is
// lifted by the same newer opt-in.
func TestInbound_BrevoBlockIsNeverLifted(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Destinations["brevo"].Settings["webhook"] = map[string]any{"token": brevoWebhookToken}
	})
	cl := brevo.New(brevo.Config{APIKey: "xkeysib-e2e", BaseURL: setting(e.m.Config, "brevo", "base_url")})
	if _, err := cl.CreateWebhook(context.Background(), brevo.CreateWebhookRequest{URL: e.base + "/webhooks/brevo", Type: "marketing",
		Events: brevo.MarketingEvents, Auth: &brevo.WebhookAuth{Type: "bearer", Token: brevoWebhookToken}}); err != nil {
		t.Fatal(err)
	}
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(2201, "brevo-out@example.com", "Bo", 0, "subscribed", 0)))
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(2202, "shop-out@example.com", "So", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	if err := e.sim.Unsubscribe("brevo-out@example.com"); err != nil {
		t.Fatal(err)
	}
	e.mustAccept(e.shopify("customers/update", shopifyCustomer(2202, "shop-out@example.com", "So", 1, "unsubscribed", 1)))
	e.waitIdle(10 * time.Second)

	// Both opt in again at the store, after their opt-outs.
	later := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
	for id, email := range map[int64]string{2201: "brevo-out@example.com", 2202: "shop-out@example.com"} {
		c := shopifyCustomer(id, email, "X", 2, "", 0)
		c["updated_at"] = later
		c["email_marketing_consent"] = map[string]any{"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": later}
		e.mustAccept(e.shopify("customers/update", c))
	}
	e.waitIdle(10 * time.Second)
	if got := e.canonical("brevo-out@example.com").EmailConsent; got.State != synclayer.ConsentSubscribed {
		t.Errorf("canonical consent after the newer opt-in: %+v", got)
	}
	if c := e.contact("brevo-out@example.com"); !c.EmailBlacklisted {
		t.Errorf("Brevo lifted the block of a person who unsubscribed from a Brevo campaign: %+v", c)
	}
	if c := e.contact("shop-out@example.com"); c.EmailBlacklisted {
		t.Errorf("the block synclayer made for a Shopify opt-out was not lifted by the newer opt-in: %+v", c)
	}
}

// TestInbound_KlaviyoReconcile: Klaviyo sends no webhook for an
// unsubscribe most accounts can receive, so its reconciliation finds one
// made inside Klaviyo, at Klaviyo's time, and the canonical contact is
// opted out by klaviyo; the next run finds nothing new.
func TestInbound_KlaviyoReconcile(t *testing.T) {
	t.Parallel()
	e := startConformance(t, withStorage("sqlite", filepath.Join(t.TempDir(), "synclayer.db")), false, []string{"klaviyo"})
	e.customer(5001, "kl@example.com", "Kim", "subscribed", 0)
	e.waitIdle(20 * time.Second)
	sim := e.m.destinations["klaviyo"].(*klaviyo.Destination).Simulator()
	if !sim.UnsubscribeInKlaviyo("kl@example.com") {
		t.Fatal("Klaviyo holds no profile kl@example.com")
	}
	r := e.m.destinations["klaviyo"].(synclayer.Reconciler)
	if n, err := e.m.reconcile(context.Background(), "klaviyo", r); err != nil || n == 0 {
		t.Fatalf("reconcile: %d events, %v; want the unsubscribe made inside Klaviyo", n, err)
	}
	if got := e.canonical("kl@example.com").EmailConsent; got.State != synclayer.ConsentUnsubscribed || got.Source != "klaviyo" {
		t.Errorf("canonical consent: %+v, want unsubscribed by klaviyo", got)
	}
	e.waitIdle(20 * time.Second)
	if n, err := e.m.reconcile(context.Background(), "klaviyo", r); err != nil || n != 0 {
		t.Errorf("the next run: %d events, %v; want nothing new", n, err)
	}
}
