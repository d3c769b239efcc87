package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
)

// TestFields_OwnerAcrossSystems: with fields: { lastName: { owner: shopify } },
// a Brevo contact_updated that edits LASTNAME is not applied: the trace
// says who owns it and the health figures count a conflict from brevo;
// the same webhook's FIRSTNAME edit, a field nobody owns, is applied.
func TestFields_OwnerAcrossSystems(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Destinations["brevo"].Settings["webhook"] = map[string]any{"token": brevoWebhookToken}
		c.Fields = map[string]*FieldConfig{"lastName": {Owner: StringList{"shopify"}}}
	})
	cl := brevo.New(brevo.Config{APIKey: "xkeysib-e2e", BaseURL: setting(e.m.Config, "brevo", "base_url")})
	if _, err := cl.CreateWebhook(context.Background(), brevo.CreateWebhookRequest{URL: e.base + "/webhooks/brevo", Type: "marketing",
		Events: brevo.MarketingEvents, Auth: &brevo.WebhookAuth{Type: "bearer", Token: brevoWebhookToken}}); err != nil {
		t.Fatal(err)
	}
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(3001, "owned@example.com", "Olga", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)

	if err := e.sim.SendMarketing("contact_updated", "owned@example.com", map[string]any{"content": []any{map[string]any{
		"email": "owned@example.com", "list": map[string]any{}, "attributes": map[string]any{"LASTNAME": "Edited", "FIRSTNAME": "Olga-Marie"}}}}); err != nil {
		t.Fatalf("Brevo's contact_updated: %v", err)
	}
	e.waitIdle(10 * time.Second)
	c := e.canonical("owned@example.com")
	if got := string(c.Value(synclayer.FieldLastName)); got != `"Doe"` {
		t.Errorf("lastName = %s: a change from brevo overwrote a field shopify owns", got)
	}
	if got := string(c.Value(synclayer.FieldFirstName)); got != `"Olga-Marie"` {
		t.Errorf("firstName = %s: the edit of a field nobody owns was not applied", got)
	}
	entries, _ := e.m.DB.Trace(context.Background(), c.ID)
	conflict := false
	for _, en := range entries {
		conflict = conflict || strings.Contains(string(en.Detail), "owned by shopify, not brevo")
	}
	if !conflict {
		t.Error("the trace does not keep the refused change as a conflict")
	}
	now := time.Now()
	f, err := e.m.DB.HealthFigures(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), now, nil)
	if err != nil || f.Tallies[synclayer.TallyConflict]["brevo"] != 1 {
		t.Errorf("conflicts counted: %v, %v; want 1 from brevo", f.Tallies[synclayer.TallyConflict], err)
	}
}
