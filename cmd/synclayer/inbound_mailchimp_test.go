package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/conformance"
	"synclayer/destination/mailchimp"
)

const mailchimpWebhookSecret = "mc-secret-0123456789abcdef"

// TestInbound_MailchimpUnsubscribe runs Mailchimp's side back through the
// real program: its webhook is created on the audience (Mailchimp first
// checks the URL with a GET, which the server answers from the secret in
// the query), the member unsubscribes in a Mailchimp campaign, and the
// delivery opts the canonical contact out with source mailchimp; a later
// stale Shopify opt-in resubscribes nobody. A wrong secret is 401, kept
// for inspection without the secret.
func TestInbound_MailchimpUnsubscribe(t *testing.T) {
	t.Parallel()
	e := startConformance(t, withStorage("sqlite", filepath.Join(t.TempDir(), "synclayer.db")), false, []string{"mailchimp"}, func(c *Config) {
		c.Destinations["mailchimp"].Settings["webhook"] = map[string]any{"secret": mailchimpWebhookSecret}
	})
	d := e.m.destinations["mailchimp"].(*mailchimp.Destination)
	audience, _ := e.m.Config.Skills.CustomerSync.Options.Extra["audience_id"].(string)
	if audience == "" {
		t.Fatalf("no audience in the conformance options: %v", e.m.Config.Skills.CustomerSync.Options.Extra)
	}
	if _, err := d.Client().CreateWebhook(context.Background(), audience, mailchimp.WebhookConfig{
		URL: e.base + "/webhooks/mailchimp?secret=" + mailchimpWebhookSecret, Events: &mailchimp.RegisteredEvents, Sources: &mailchimp.RegisteredSources}); err != nil {
		t.Fatalf("create the webhook (Mailchimp checks the URL with a GET first): %v", err)
	}
	e.customer(4001, "mc@example.com", "Mo", "subscribed", 0)
	e.waitIdle(20 * time.Second)
	if c := e.holds("mailchimp", "mc@example.com"); c.Marketing != conformance.Subscribed {
		t.Fatalf("Mailchimp holds %+v before the unsubscribe", c)
	}

	if status, _ := e.post("/webhooks/mailchimp?secret=wrong-secret-0123456789", []byte("type=unsubscribe&data%5Bemail%5D=mc%40example.com"),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); status != 401 {
		t.Errorf("a wrong secret: %d, want 401", status)
	}
	if err := d.Simulator().Unsubscribe(audience, "mc@example.com", "camp1"); err != nil {
		t.Fatalf("Mailchimp's webhook: %v", err)
	}
	c := e.canonical("mc@example.com")
	if c.EmailConsent.State != synclayer.ConsentUnsubscribed || c.EmailConsent.Source != "mailchimp" {
		t.Errorf("canonical consent after Mailchimp's unsubscribe: %+v, want unsubscribed by mailchimp", c.EmailConsent)
	}
	e.customer(4001, "mc@example.com", "Mo", "subscribed", 1) // stale: Shopify's opt-in is older than the unsubscribe
	e.waitIdle(20 * time.Second)
	if c := e.holds("mailchimp", "mc@example.com"); c.Marketing != conformance.Unsubscribed {
		t.Errorf("Mailchimp holds %+v: a stale Shopify opt-in resubscribed a member who unsubscribed in Mailchimp", c)
	}
	rej, _ := e.m.DB.FindRejections(context.Background(), 10)
	found := false
	for _, r := range rej {
		if r.Source == "mailchimp" && r.Status == 401 {
			found = true
			for k, v := range r.Headers {
				if v == "secret=wrong-secret-0123456789" || k == synclayer.QueryHeader {
					t.Errorf("the rejection kept the query with the secret: %s: %s", k, v)
				}
			}
		}
	}
	if !found {
		t.Error("the wrong-secret delivery was not kept for inspection")
	}
}
