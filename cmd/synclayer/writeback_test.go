package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/skill"
	"synclayer/source/shopify/shopifysim"
)

// TestWriteBack_BrevoUnsubscribeReachesShopify runs an unsubscribe made in
// a Brevo campaign through to the store: Brevo's webhook opts the
// canonical contact out (source brevo), the write-back sets the Shopify
// customer's email marketing consent to UNSUBSCRIBED once, at the time of
// Brevo's statement; Shopify's echo of that write (its customers/update
// webhook) changes nothing and writes nothing again; a stale Shopify
// update saying subscribed resubscribes nobody, in Brevo or in Shopify.
func TestWriteBack_BrevoUnsubscribeReachesShopify(t *testing.T) {
	t.Parallel()
	shop := shopifysim.New(shopifysim.Options{AccessToken: "shpat_e2e_token"})
	hs := httptest.NewServer(shop)
	t.Cleanup(hs.Close)
	shop.AddCustomer("2001", "back@example.com", "+14155552001")
	shop.SetConsent("2001", false, shopifysim.Consent{MarketingState: "SUBSCRIBED", MarketingOptInLevel: "SINGLE_OPT_IN"})

	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Destinations["brevo"].Settings["webhook"] = map[string]any{"token": brevoWebhookToken}
		c.Sources["shopify"].Settings = map[string]any{"admin": map[string]any{
			"shop": "demo.myshopify.com", "access_token": "shpat_e2e_token", "base_url": hs.URL}}
	})
	cl := brevo.New(brevo.Config{APIKey: "xkeysib-e2e", BaseURL: setting(e.m.Config, "brevo", "base_url")})
	if _, err := cl.CreateWebhook(context.Background(), brevo.CreateWebhookRequest{URL: e.base + "/webhooks/brevo", Type: "marketing",
		Events: brevo.MarketingEvents, Auth: &brevo.WebhookAuth{Type: "bearer", Token: brevoWebhookToken}}); err != nil {
		t.Fatal(err)
	}
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(2001, "back@example.com", "Bea", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	if n := len(shop.Calls()); n != 0 {
		t.Fatalf("%d calls to Shopify before anyone unsubscribed: an opt-in is never written back", n)
	}

	if err := e.sim.Unsubscribe("back@example.com"); err != nil {
		t.Fatalf("Brevo's webhook: %v", err)
	}
	e.waitIdle(10 * time.Second)
	cu, _ := shop.Customer("2001")
	if cu.EmailConsent == nil || cu.EmailConsent.MarketingState != "UNSUBSCRIBED" || cu.EmailWrites != 1 {
		t.Fatalf("Shopify holds %+v after the Brevo unsubscribe, want UNSUBSCRIBED written once", cu.EmailConsent)
	}
	ct := e.canonical("back@example.com")
	if !cu.EmailConsent.ConsentUpdatedAt.Equal(ct.EmailConsent.At) {
		t.Errorf("Shopify's consentUpdatedAt %s, want the time of Brevo's statement %s", cu.EmailConsent.ConsentUpdatedAt, ct.EmailConsent.At)
	}
	if cu.SMSWrites != 0 {
		t.Errorf("the SMS consent was written (%d), though nobody opted out of SMS", cu.SMSWrites)
	}
	if !e.traceSays("back@example.com", "customerEmailMarketingConsentUpdate") {
		t.Error("the trace does not record the write-back")
	}

	// Shopify's echo of the write: same state, the time that was written.
	calls, brevoWrites := len(shop.Calls()), e.contactCalls("PUT")+e.contactCalls("POST")
	echo := shopifyCustomer(2001, "back@example.com", "Bea", 5, "", 0)
	echo["email_marketing_consent"] = map[string]any{"state": "unsubscribed", "opt_in_level": "single_opt_in",
		"consent_updated_at": cu.EmailConsent.ConsentUpdatedAt.Format(time.RFC3339)}
	e.mustAccept(e.shopify("customers/update", echo))
	// A stale statement saying subscribed, delivered late.
	e.mustAccept(e.shopify("customers/update", shopifyCustomer(2001, "back@example.com", "Bea", 6, "subscribed", 1)))
	e.waitIdle(10 * time.Second)
	if n := len(shop.Calls()); n != calls {
		t.Errorf("the echo and the stale update made %d more calls to Shopify, want none", n-calls)
	}
	if cu, _ := shop.Customer("2001"); cu.EmailConsent.MarketingState != "UNSUBSCRIBED" {
		t.Errorf("Shopify holds %+v", cu.EmailConsent)
	}
	if c := e.contact("back@example.com"); !c.EmailBlacklisted || e.sentBlacklistFalse() || e.contactCalls("PUT")+e.contactCalls("POST") != brevoWrites {
		t.Errorf("Brevo: %+v, %d more contact writes; the echo must change nothing", c, e.contactCalls("PUT")+e.contactCalls("POST")-brevoWrites)
	}
	if dead, _ := e.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead}); len(dead) != 0 {
		t.Errorf("dead jobs: %+v", dead)
	}
	if _, err := e.m.DB.FindSyncState(context.Background(), skill.ConsentWriteBackKey(ct.ID), "shopify"); err != nil {
		t.Errorf("the write-back's state is not recorded: %v", err)
	}
}

// canonical returns the canonical contact of email.
func (e *env) canonical(email string) *synclayer.Contact {
	e.t.Helper()
	cs, err := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: email})
	if err != nil || len(cs) != 1 {
		e.t.Fatalf("contacts for %s: %v, %v", email, cs, err)
	}
	return cs[0]
}

// TestPlan_WriteBack: the dry run of an opt-out from another source shows
// the Shopify consent mutation the write-back would send to the contact's
// Shopify customer; an opt-out from Shopify itself plans none.
func TestPlan_WriteBack(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(7001, "existing@example.com", "Erin", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	samples := t.TempDir()
	if err := os.WriteFile(filepath.Join(samples, "01-out.json"), []byte(`{"event": "customer_updated", "timestamp": "2026-12-01T09:00:00Z",
  "data": {"id": "c-9", "email": "existing@example.com", "emailConsent": "unsubscribed"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "new.yaml")
	doc := fmt.Sprintf(`storage: {driver: sqlite, dsn: %q}
sources:
  shopify:
    secret: %q
    admin: {shop: demo.myshopify.com, access_token: shpat_plan}
  custom: {secret: %q}
destinations:
  brevo: {api_key: "xkeysib-e2e", base_url: %q}
skills:
  customer-sync: {enabled: true, source: [shopify, custom], options: {list_id: 5}}
`, e.m.Config.Storage.DSN, shopifySecret, customSecret, setting(e.m.Config, "brevo", "base_url"))
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", samples, "--source", "custom", "--json"}, &out, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Records) != 1 {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	var wb []planCall
	for _, c := range rep.Records[0].Calls {
		if c.Skill == skill.ConsentWriteBackName {
			wb = append(wb, c)
		}
	}
	if len(wb) != 1 || wb[0].Destination != "shopify" || wb[0].Path != "/admin/api/2025-10/graphql.json" {
		t.Fatalf("write-back calls %+v, want one Admin API call to Shopify\n%s", wb, out.String())
	}
	if b, _ := json.Marshal(wb[0].Body); !strings.Contains(string(b), `"customerEmailMarketingConsentUpdate"`) ||
		!strings.Contains(string(b), `"gid://shopify/Customer/7001"`) || !strings.Contains(string(b), `"UNSUBSCRIBED"`) {
		t.Errorf("the planned mutation: %s", b)
	}

	out.Reset()
	if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", samples, "--source", "shopify", "--json"}, &out, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Records) != 1 {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	for _, c := range rep.Records[0].Calls {
		if c.Skill == skill.ConsentWriteBackName {
			t.Errorf("Shopify's own opt-out plans a write-back to Shopify: %+v", c)
		}
	}
}
