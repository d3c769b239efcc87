package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
)

// TestLog_VerboseRedacts runs a server that logs every Brevo request and
// answer (log_level: verbose, and debug: true), pushes customers through
// every source, the API and the error paths, and then reads the whole log:
// no secret, email or phone number may be in it, while the request lines
// must still say what was sent.
func TestLog_VerboseRedacts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		option envOption
	}{
		{"LogLevelVerbose", func(c *Config) { c.Skills.CustomerSync.LogLevel = "verbose"; c.Log.Format = "json" }},
		{"Debug", func(c *Config) { c.Skills.CustomerSync.Debug = true; withDelete("hard")(c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := startAPI(t, tc.option)
			e := a.env
			personal := []string{"Jane@Example.com", "jane@example.com", "woo.buyer@example.com", "custom.person@example.com",
				"manual.person@example.com", "not-an-email@@example.com"}
			phone := func(id int64) string { return fmt.Sprintf("+1415555%04d", id%10000) }

			e.shopify("customers/create", shopifyCustomer(6001, "Jane@Example.com", "Janeway", 0, "subscribed", 0))
			e.waitIdle(10 * time.Second)
			updated := shopifyCustomer(6001, "Jane@Example.com", "Janeway", 5, "subscribed", 0)
			updated["phone"] = "+14155556999"
			e.shopify("customers/update", updated)
			e.shopify("customers_email_marketing_consent/update", map[string]any{"customer_id": 6001, "email_address": "jane@example.com",
				"email_marketing_consent": map[string]any{"state": "unsubscribed", "consent_updated_at": ts(10)}})
			e.woo("customer.created", map[string]any{"id": 77, "email": "woo.buyer@example.com", "first_name": "Wilhelmina",
				"date_modified_gmt": "2026-11-20T10:00:00", "billing": map[string]any{"phone": "+14155556002"}})
			now := time.Now()
			e.custom(mustMarshal(map[string]any{"event": "customer_created", "timestamp": now.UTC().Format(time.RFC3339),
				"data": map[string]any{"id": "cu-9", "email": "custom.person@example.com", "phone": "+14155556003", "firstName": "Cornelius"}}), "msg_log_1", now)
			e.shopify("customers/create", shopifyCustomer(6004, "not-an-email@@example.com", "Invalid", 0, "", 0))
			// Refused webhooks: a bad signature over a body full of personal data, and a wrong type.
			body := mustMarshal(shopifyCustomer(6005, "Jane@Example.com", "Janeway", 0, "", 0))
			e.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "bad-sig", body, "wrong-secret"))
			e.custom(mustMarshal(map[string]any{"event": "customer_created", "timestamp": now.UTC().Format(time.RFC3339),
				"data": map[string]any{"id": "cu-10", "email": "custom.person@example.com", "phone": 14155556003}}), "msg_log_2", now)
			a.call("POST", "/api/v1/skills/customer-sync/trigger", a.keys[synclayer.RoleOperator], map[string]any{"event": "customer_created",
				"data": map[string]any{"id": "man-1", "email": "manual.person@example.com", "phone": "+14155556004", "firstName": "Manfred"}})
			e.m.wake("")
			e.waitIdle(10 * time.Second)
			e.shopify("customers/delete", map[string]any{"id": 6001})
			e.waitIdle(10 * time.Second)
			e.scrape(a.keys[synclayer.RoleViewer])

			log := e.logs.String()
			if !strings.Contains(log, "brevo request") || !strings.Contains(log, "FIRSTNAME") || !strings.Contains(log, "listIds") || !strings.Contains(log, "emailBlacklisted") {
				t.Fatalf("the verbose log does not describe the Brevo requests:\n%s", log)
			}
			secrets := []string{shopifySecret, wooSecret, customSecret, strings.TrimPrefix(customSecret, "whsec_"), "xkeysib-e2e"}
			for _, k := range a.keys {
				secrets = append(secrets, k, strings.TrimPrefix(k, synclayer.KeyPrefix))
			}
			for _, s := range secrets {
				if strings.Contains(log, s) {
					t.Errorf("the log holds the secret %q", s)
				}
			}
			for _, id := range []int64{6001, 6004, 6005} {
				personal = append(personal, phone(id), strings.TrimPrefix(phone(id), "+1"))
			}
			personal = append(personal, "+14155556999", "4155556999", "+14155556002", "4155556002", "+14155556003", "4155556003", "+14155556004",
				"Janeway", "Wilhelmina", "Cornelius", "Manfred")
			for _, p := range personal {
				if strings.Contains(strings.ToLower(log), strings.ToLower(p)) {
					t.Errorf("the log holds personal data %q", p)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", log)
			}
		})
	}
}
