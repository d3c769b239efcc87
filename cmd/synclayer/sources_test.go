package main

import (
	"context"
	"slices"
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
