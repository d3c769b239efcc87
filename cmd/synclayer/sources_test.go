package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// TestSources_TwoStoresOfOnePlatform runs two Shopify stores side by side,
// each named, with its own secret and endpoint: a delivery signed for one
// is refused at the other, the same webhook id in both stores is two
// deliveries, and one person who buys in both is one contact with a
// source ID from each.
func TestSources_TwoStoresOfOnePlatform(t *testing.T) {
	const euSecret, usSecret = "shpss_eu", "shpss_us"
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources = map[string]*SourceConfig{
			"shopify-eu": {Type: "shopify", Secret: euSecret},
			"shopify-us": {Type: "shopify", Secret: usSecret},
		}
		c.Skills.CustomerSync.Source = StringList{"shopify-eu", "shopify-us"}
	})
	body := mustMarshal(map[string]any{"id": 1, "email": "both@example.com", "first_name": "Bo", "updated_at": "2026-11-20T10:00:00Z",
		"email_marketing_consent": map[string]any{"state": "subscribed", "consent_updated_at": "2026-11-20T10:00:00Z"}})
	if status, reply := e.post("/webhooks/shopify-eu", body, shopifyHeaders("customers/create", "w-1", body, usSecret)); status != 401 {
		t.Errorf("a delivery signed with the US store's secret at the EU endpoint: %d %v, want 401", status, reply)
	}
	if status, reply := e.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "w-1", body, euSecret)); status != 404 {
		t.Errorf("the plain shopify endpoint with only named stores configured: %d %v, want 404", status, reply)
	}
	for _, src := range []struct{ name, secret string }{{"shopify-eu", euSecret}, {"shopify-us", usSecret}} {
		status, reply := e.post("/webhooks/"+src.name, body, shopifyHeaders("customers/create", "w-1", body, src.secret))
		if status != 200 || reply["status"] != "accepted" {
			t.Fatalf("%s: %d %v; the same webhook id in another store is another delivery", src.name, status, reply)
		}
	}
	e.waitIdle(10 * time.Second)
	cs, err := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: "both@example.com"})
	if err != nil || len(cs) != 1 {
		t.Fatalf("contacts for one person in two stores: %d, %v", len(cs), err)
	}
	if ids := cs[0].SourceIDs; ids["shopify-eu"] != "1" || ids["shopify-us"] != "1" {
		t.Errorf("source IDs %v, want customer 1 of each store apart", ids)
	}
	if c := e.contact("both@example.com"); !slices.Contains(c.ListIDs, 5) {
		t.Errorf("Brevo: %+v", c)
	}
}

// TestSources_OneAppTwoShops: one Shopify app signs the webhooks of every
// shop it is installed on with the same client secret, so each store's
// source names its shop (shop_domain): a webhook of the US shop sent to
// the EU endpoint is refused 403, naming the header and the shop, and
// kept for inspection; at its own endpoint it is taken.
func TestSources_OneAppTwoShops(t *testing.T) {
	t.Parallel()
	const secret = "shpss_one_app"
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources = map[string]*SourceConfig{
			"shopify-eu": {Type: "shopify", Secret: secret, Settings: map[string]any{"shop_domain": "demo.myshopify.com"}},
			"shopify-us": {Type: "shopify", Secret: secret, Settings: map[string]any{"shop_domain": "demo-us.myshopify.com"}},
		}
		c.Skills.CustomerSync.Source = StringList{"shopify-eu", "shopify-us"}
	})
	body := mustMarshal(map[string]any{"id": 2, "email": "us@example.com", "first_name": "Us", "updated_at": "2026-11-20T10:00:00Z"})
	us := shopifyHeaders("customers/create", "w-us-1", body, secret)
	us.Set("X-Shopify-Shop-Domain", "demo-us.myshopify.com")
	status, reply := e.post("/webhooks/shopify-eu", body, us)
	errBody, _ := reply["error"].(map[string]any)
	if msg, _ := errBody["message"].(string); status != 403 || !strings.Contains(msg, "X-Shopify-Shop-Domain") || !strings.Contains(msg, "demo-us.myshopify.com") {
		t.Errorf("the US shop's webhook at the EU endpoint: %d %v, want 403 naming the header and the shop", status, reply)
	}
	rej, _ := e.m.DB.FindRejections(context.Background(), 10)
	if len(rej) != 1 || rej[0].Source != "shopify-eu" || rej[0].Status != 403 {
		t.Errorf("rejections kept: %+v, want the refused webhook", rej)
	}
	if status, reply := e.post("/webhooks/shopify-us", body, us); status != 200 || reply["status"] != "accepted" {
		t.Errorf("the US shop's webhook at its own endpoint: %d %v", status, reply)
	}
	eu := shopifyHeaders("customers/create", "w-eu-1", body, secret) // demo.myshopify.com
	if status, reply := e.post("/webhooks/shopify-eu", body, eu); status != 200 {
		t.Errorf("the EU shop's webhook: %d %v", status, reply)
	}
}

// TestSources_SettingsInHistory: a source block's own keys survive the
// config history (stored as written, ${VAR} and all) and load again.
func TestSources_SettingsInHistory(t *testing.T) {
	t.Setenv("SHOP_EU", "demo-eu.myshopify.com")
	cfg, err := ParseConfig([]byte("sources:\n  shopify-eu: {type: shopify, secret: x, shop_domain: \"${SHOP_EU}\"}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sources["shopify-eu"].Settings["shop_domain"]; got != "demo-eu.myshopify.com" {
		t.Fatalf("shop_domain = %v", got)
	}
	doc, err := cfg.versionYAML()
	if err != nil || !strings.Contains(doc, "shop_domain: ${SHOP_EU}") {
		t.Fatalf("the stored config: %v\n%s", err, doc)
	}
	again, err := ParseConfig([]byte(doc), "")
	if err != nil || again.Sources["shopify-eu"].Settings["shop_domain"] != "demo-eu.myshopify.com" || again.Sources["shopify-eu"].Type != "shopify" {
		t.Fatalf("the stored config does not load again: %v\n%s", err, doc)
	}
}

// TestSources_AdminTokenIsSecret: the Shopify Admin API token is a secret
// like the signing secret: written literally it is warned about and
// redacted in the config history; from the environment the history keeps
// the reference.
func TestSources_AdminTokenIsSecret(t *testing.T) {
	t.Setenv("SHOPIFY_ADMIN_TOKEN", "shpat_from_the_environment")
	cfg, err := ParseConfig([]byte(`sources:
  shopify:
    secret: x
    admin: {shop: demo.myshopify.com, access_token: "shpat_written_in_the_file"}
  shopify-us:
    type: shopify
    secret: y
    admin: {shop: demo-us.myshopify.com, access_token: "${SHOPIFY_ADMIN_TOKEN}"}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc, "shpat_written_in_the_file") || strings.Contains(doc, "shpat_from_the_environment") || !strings.Contains(doc, "${SHOPIFY_ADMIN_TOKEN}") {
		t.Errorf("the stored config:\n%s", doc)
	}
	warned := false
	for _, w := range cfg.warnings {
		warned = warned || strings.Contains(w, "sources.shopify.admin.access_token is written in the config file")
	}
	if !warned {
		t.Errorf("no warning about the literal token: %v", cfg.warnings)
	}
	if got := cfg.sourceSecrets(); !slices.Contains(got, "shpat_written_in_the_file") || !slices.Contains(got, "shpat_from_the_environment") {
		t.Errorf("the log's redaction misses the tokens: %v", got)
	}
}
