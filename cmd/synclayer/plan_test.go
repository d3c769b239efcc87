package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// writeConfig writes a config file on the env's store and Brevo, with
// extra appended, and returns its path.
func (e *env) writeConfig(extra string) string {
	e.t.Helper()
	doc := fmt.Sprintf(`storage:
  driver: sqlite
  dsn: %q
sources:
  shopify: {secret: %q}
  woocommerce: {secret: %q}
  custom: {secret: %q}
destinations:
  brevo: {api_key: "xkeysib-e2e", base_url: %q}
`, e.m.Config.Storage.DSN, shopifySecret, wooSecret, customSecret, setting(e.m.Config, "brevo", "base_url")) + extra
	path := filepath.Join(e.t.TempDir(), "new.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// liveState sums up what the live store and Brevo hold, to show that a
// plan changed neither.
func (e *env) liveState() string {
	e.t.Helper()
	ctx := context.Background()
	contacts, _ := e.m.DB.FindContacts(ctx, synclayer.ContactFilter{Limit: 1000})
	events, _ := e.m.DB.FindEvents(ctx, synclayer.EventFilter{Limit: 1000})
	jobs, _ := e.m.DB.CountJobs(ctx)
	var versions []string
	for _, c := range contacts {
		versions = append(versions, fmt.Sprintf("%s@%d", c.ID, c.Version))
	}
	return fmt.Sprintf("contacts %v, events %d, jobs %v, brevo calls %d", versions, len(events), jobs, len(e.sim.Calls()))
}

// TestPlan_Samples runs samples/ through a new config (a different
// mapping) against a copy of a live store that holds the existing
// customer, and checks the planned calls, and that neither the store nor
// Brevo saw anything.
func TestPlan_Samples(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	_, reply := e.shopify("customers/create", shopifyCustomer(7001, "existing@example.com", "Erin", 0, "subscribed", 0))
	existing := reply["events"].([]any)[0].(map[string]any)["contactId"].(string)
	e.waitIdle(10 * time.Second)
	before := e.liveState()

	cfg := e.writeConfig(`skills:
  customer-sync:
    enabled: true
    source: [shopify, custom]
    field_mapping: {email: email, firstName: FIRSTNAME, lastName: LASTNAME, totalOrders: TOTAL_ORDERS, totalSpent: TOTAL_SPENT, customerTier: LOYALTY_TIER}
    options: {list_id: 5}
  order-events: {enabled: true, source: [shopify]}
`)
	var out, stderr bytes.Buffer
	if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", "../../samples", "--json"}, &out, &stderr); err != nil {
		t.Fatal(err)
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out.String())
	}
	if len(rep.Records) != 6 || rep.Source != "shopify" {
		t.Fatalf("plan: %s", out.String())
	}
	body := func(r planRecord) map[string]any {
		b, _ := json.Marshal(r.Calls[0].Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	changes := func(r planRecord) map[string]string {
		m := map[string]string{}
		for _, c := range r.Changes {
			m[c.Field] = string(c.Before) + " → " + string(c.After)
		}
		return m
	}
	newc, old, dup, optout, order, refund := rep.Records[0], rep.Records[1], rep.Records[2], rep.Records[3], rep.Records[4], rep.Records[5]

	t.Run("NewCustomer", func(t *testing.T) {
		if newc.Status != "planned" || len(newc.Calls) != 1 || newc.Calls[0].Method != "POST" || newc.Calls[0].Path != "/contacts" {
			t.Fatalf("new customer: %+v", newc)
		}
		if b := body(newc); fmt.Sprint(b["listIds"]) != "[5]" || b["email"] != "new.customer@example.com" || b["emailBlacklisted"] != nil {
			t.Errorf("new customer's POST body: %v", b)
		}
	})
	t.Run("ExistingCustomer", func(t *testing.T) {
		if old.ContactID != existing || len(old.Calls) != 1 || old.Calls[0].Method != "PUT" || !strings.Contains(old.Calls[0].Path, existing) {
			t.Fatalf("existing customer: %+v, want a PUT on %s", old, existing)
		}
		ch := changes(old)
		// order-events is on, so the count comes from the orders synclayer
		// holds, not from the record's totalOrders: TOTAL_ORDERS stays.
		if ch["attributes.LOYALTY_TIER"] != `null → "gold"` || ch["attributes.TOTAL_ORDERS"] != "" || ch["attributes.SMS"] != `"+14155557001" → null` {
			t.Errorf("existing customer's changes: %v; want the new attribute, the count left to order-events, and the unmapped SMS removed", ch)
		}
		if attrs, _ := body(old)["attributes"].(map[string]any); attrs["SMS"] != "" || attrs["FIRSTNAME"] != nil {
			t.Errorf("existing customer's PUT attributes: %v, want SMS emptied and the unchanged FIRSTNAME left out", attrs)
		}
	})
	t.Run("DuplicateEmailIsOneContact", func(t *testing.T) {
		if dup.ContactID != newc.ContactID || len(dup.Calls) != 1 || dup.Calls[0].Method != "PUT" {
			t.Errorf("duplicate email: %+v, want an update of contact %s", dup, newc.ContactID)
		}
		if ch := changes(dup); ch["attributes.LASTNAME"] != `"New" → "Newer"` {
			t.Errorf("duplicate email's changes: %v", ch)
		}
	})
	t.Run("OptedOut", func(t *testing.T) {
		if len(optout.Calls) != 1 || optout.Calls[0].Method != "POST" {
			t.Fatalf("opted out: %+v", optout)
		}
		if b := body(optout); b["emailBlacklisted"] != true || b["listIds"] != nil {
			t.Errorf("opted-out POST body: %v, want emailBlacklisted true and no list", b)
		}
	})
	// The order, then its refund: each is one POST /orders/status with the
	// amount kept, followed by customer-sync's update of the buyer's totals.
	orderCall := func(t *testing.T, r planRecord, amount string) map[string]string {
		t.Helper()
		if r.Status != "planned" || r.ContactID != newc.ContactID || len(r.Calls) != 2 || r.Calls[0].Path != "/orders/status" || r.Calls[1].Method != "PUT" {
			t.Fatalf("%s: %+v, want POST /orders/status then a PUT of contact %s", r.File, r, newc.ContactID)
		}
		b, _ := json.Marshal(r.Calls[0].Body)
		if !strings.Contains(string(b), `"amount":`+amount+`,`) || !strings.Contains(string(b), `"ext_id":"`+newc.ContactID+`"`) {
			t.Errorf("%s: order body %s, want amount %s for the contact", r.File, b, amount)
		}
		return changes(r)
	}
	t.Run("Order", func(t *testing.T) {
		if ch := orderCall(t, order, "120"); ch["attributes.TOTAL_ORDERS"] != "null → 1" || ch["attributes.TOTAL_SPENT"] != "null → 120.00" {
			t.Errorf("order's contact changes: %v", ch)
		}
	})
	t.Run("RefundLowersTotalSpent", func(t *testing.T) {
		if ch := orderCall(t, refund, "100"); ch["attributes.TOTAL_SPENT"] != "120.00 → 100.00" || ch["attributes.TOTAL_ORDERS"] != "" {
			t.Errorf("refund's contact changes: %v, want TOTAL_SPENT lowered and the count unchanged", ch)
		}
	})
	t.Run("NothingLiveTouched", func(t *testing.T) {
		if after := e.liveState(); after != before {
			t.Errorf("live state changed:\nbefore %s\nafter  %s", before, after)
		}
		if _, ok := e.sim.ContactByEmail("new.customer@example.com"); ok {
			t.Error("Brevo got a sample contact")
		}
	})
	t.Run("Text", func(t *testing.T) {
		var text bytes.Buffer
		if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", "../../samples"}, &text, &stderr); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Nothing live was touched", "01-new-customer.json  customer_created", `POST /contacts {"email":"new.customer@example.com"`,
			`attributes.LOYALTY_TIER: null → "gold"`, "06-refunded-order.json  order_refunded", `"amount":100.00,`, "attributes.TOTAL_SPENT: 120.00 → 100.00"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("text plan lacks %q:\n%s", want, text.String())
			}
		}
	})
}
