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
// says who owns it, the health figures count a conflict from brevo, and a
// field_conflict rule alerts Slack; the same webhook's FIRSTNAME edit, a
// field nobody owns, is applied. A webhook that edits only LASTNAME is a
// conflict too.
func TestFields_OwnerAcrossSystems(t *testing.T) {
	t.Parallel()
	hook := newReceiver(t, 0)
	rules, err := ParseConfig([]byte(`
workflows:
  - name: owned-field-edited
    trigger: field_conflict
    actions:
      - slack: { webhook_url: "`+hook.URL+`", text: "{{ .conflict.from }} edited {{ .conflict.field }}, which {{ index .conflict.owners 0 }} owns" }
`), "")
	if err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, brevosim.Options{}, withWorkflows(rules.Workflows), func(c *Config) {
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
	hook.waitFor(t, 1)
	if got := slackText(t, hook.received()[0]); got != "brevo edited lastName, which shopify owns" {
		t.Errorf("the field_conflict rule said %q", got)
	}
	// An edit of the owned field alone changes nothing, and still counts.
	if err := e.sim.SendMarketing("contact_updated", "owned@example.com", map[string]any{"content": []any{map[string]any{
		"email": "owned@example.com", "list": map[string]any{}, "attributes": map[string]any{"LASTNAME": "Again"}}}}); err != nil {
		t.Fatal(err)
	}
	hook.waitFor(t, 2)
	now := time.Now()
	f, err := e.m.DB.HealthFigures(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), now, nil)
	if err != nil || f.Tallies[synclayer.TallyConflict]["brevo"] != 2 {
		t.Errorf("conflicts counted: %v, %v; want 2 from brevo", f.Tallies[synclayer.TallyConflict], err)
	}
}
