package main

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"synclayer/destination/brevo/brevosim"
)

const stripeSecret = "whsec_e2e_endpoint_secret"

// withStripe adds a Stripe source to customer-sync's sources and maps
// the subscription fields to Brevo attributes.
func withStripe() envOption {
	return func(c *Config) {
		c.Sources["stripe"] = &SourceConfig{Secret: stripeSecret}
		cs := c.Skills.CustomerSync
		cs.Source = append(cs.Source, "stripe")
		if cs.FieldMapping == nil {
			cs.FieldMapping = map[string]string{"email": "email", "firstName": "FIRSTNAME", "lastName": "LASTNAME"}
		}
		cs.FieldMapping["subscriptionStatus"] = "SUBSCRIPTION_STATUS"
		cs.FieldMapping["plan"] = "PLAN"
		cs.FieldMapping["mrr"] = "MRR"
	}
}

// stripe posts a Stripe event signed as Stripe signs it, and returns the
// body, so a test can deliver the very same bytes again.
func (e *env) stripe(body []byte) (int, map[string]any) {
	e.t.Helper()
	now := time.Now()
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(webhook.ComputeSignature(now, body, stripeSecret))))
	return e.post("/webhooks/stripe", body, h)
}

func stripeSubscription(evtID, typ, status string, created int64) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2025-03-31.basil","created":%d,"type":%q,
  "data":{"object":{"id":"sub_e2e","object":"subscription","customer":"cus_eve","status":%q,"currency":"usd","cancel_at_period_end":false,
  "start_date":1763632800,"items":{"object":"list","data":[{"id":"si_e2e","quantity":1,"current_period_end":1766224800,
  "price":{"id":"price_pro","nickname":"Pro","currency":"usd","unit_amount":2900,"recurring":{"interval":"month","interval_count":1}}}]}}}}`,
		evtID, created, typ, status))
}

// TestStripe_PaymentFailedAndSubscription: a Stripe customer's
// subscription reaches Brevo as SUBSCRIPTION_STATUS, PLAN and MRR (with a
// subscription event that arrives before the customer's, and a stale
// one after a newer that must not undo it); the shipped payment-failed
// rule fires once for an invoice.payment_failed Stripe delivers twice,
// and again for Stripe's next attempt; a forged event is refused.
func TestStripe_PaymentFailedAndSubscription(t *testing.T) {
	hook := newReceiver(t, 0)
	t.Setenv("SLACK_WEBHOOK_URL", hook.URL+"/services/T0/B0/billing")
	e := startEnv(t, brevosim.Options{}, withStripe(), withWorkflows(loadExample(t, "payment-failed")))
	e.subscribe(901, "eve@example.com")
	e.waitIdle(10 * time.Second)

	customer := []byte(`{"id":"evt_cus","object":"event","api_version":"2025-03-31.basil","created":1763632700,"type":"customer.created",
  "data":{"object":{"id":"cus_eve","object":"customer","email":"Eve@Example.com","name":"Eve"}}}`)
	e.mustAccept(e.stripe(customer))
	e.mustAccept(e.stripe(stripeSubscription("evt_sub1", "customer.subscription.created", "active", 1763632800)))
	// A past_due report older than the active one held changes nothing.
	stale := stripeSubscription("evt_sub0", "customer.subscription.updated", "past_due", 1763632790)
	if code, reply := e.stripe(stale); code != http.StatusOK || fmt.Sprint(reply) == "" {
		t.Fatalf("stale report: %d %v", code, reply)
	}
	e.waitIdle(15 * time.Second)
	c := e.contact("eve@example.com")
	if c.Attributes["SUBSCRIPTION_STATUS"] != "active" || c.Attributes["PLAN"] != "Pro" || c.Attributes["MRR"] != 29.0 {
		t.Errorf("Brevo attributes %v, want SUBSCRIPTION_STATUS active, PLAN Pro, MRR 29", c.Attributes)
	}

	failed := func(evt string, attempt int) []byte {
		return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2025-03-31.basil","created":%d,"type":"invoice.payment_failed",
  "data":{"object":{"id":"in_e2e","object":"invoice","customer":"cus_eve","customer_email":"eve@example.com","amount_due":2900,"amount_paid":0,
  "currency":"usd","attempt_count":%d,"status":"open","created":1766224800,"parent":{"subscription_details":{"subscription":"sub_e2e"}}}}}`, evt, 1766224900+attempt, attempt))
	}
	first := failed("evt_fail1", 1)
	e.mustAccept(e.stripe(first))
	if code, reply := e.stripe(first); code != http.StatusOK || reply["status"] != "duplicate" {
		t.Errorf("Stripe's redelivery: %d %v, want 200 duplicate", code, reply)
	}
	e.waitIdle(15 * time.Second)
	if got := hook.received(); len(got) != 1 || !contains(slackText(t, got[0]), "in_e2e", "29.00 USD", "eve@example.com", "attempt 1", "billing@example.com") {
		t.Fatalf("Slack after one failure delivered twice: %d messages %v", len(got), got)
	}
	if evs := e.sim.EventsNamed("payment_failed"); len(evs) != 1 || evs[0].Properties["invoice"] != "in_e2e" {
		t.Errorf("Brevo payment_failed events %+v, want one for in_e2e", evs)
	}
	e.mustAccept(e.stripe(failed("evt_fail2", 2)))
	e.waitIdle(15 * time.Second)
	if got := hook.received(); len(got) != 2 || !contains(slackText(t, got[1]), "attempt 2") {
		t.Errorf("Slack after Stripe's second attempt: %d messages, want 2", len(got))
	}

	h := http.Header{}
	h.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", time.Now().Unix(), hex.EncodeToString(webhook.ComputeSignature(time.Now(), first, "whsec_wrong"))))
	if code, _ := e.post("/webhooks/stripe", failed("evt_forged", 3), h); code != http.StatusUnauthorized {
		t.Errorf("forged event: %d, want 401", code)
	}
}
