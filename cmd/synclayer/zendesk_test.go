package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
)

const zendeskSecret = "zd-e2e-signing-secret"

// withZendesk adds a Zendesk source to customer-sync's sources and maps
// the ticket fields to Brevo attributes.
func withZendesk() envOption {
	return func(c *Config) {
		c.Sources["zendesk"] = &SourceConfig{Secret: zendeskSecret}
		cs := c.Skills.CustomerSync
		if cs.FieldMapping == nil {
			cs.FieldMapping = map[string]string{"email": "email", "firstName": "FIRSTNAME", "lastName": "LASTNAME"}
		}
		cs.FieldMapping["openTickets"] = "OPEN_TICKETS"
		cs.FieldMapping["lastTicketAt"] = "LAST_TICKET_AT"
	}
}

// zendesk posts a body signed as Zendesk signs its webhooks.
func (e *env) zendesk(body []byte, secret string, at time.Time) (int, map[string]any) {
	e.t.Helper()
	ts := at.UTC().Format(time.RFC3339)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
	h.Set("X-Zendesk-Webhook-Id", "01GK8E6BKWMJZD2T8Y5AXJQMG5")
	return e.post("/webhooks/zendesk", body, h)
}

// zendeskTrigger is the body the README has a Zendesk trigger send, with
// its placeholders filled as Zendesk fills them.
func zendeskTrigger(id, status, text, email string, updated time.Time) []byte {
	return []byte(fmt.Sprintf(`{"ticket": {"id": %q, "subject": "About my plan", "text": %q, "status": %q, "priority": "Normal",
  "channel": "Email", "tags": "billing", "created_at": "2026-11-20T09:00:00Z", "updated_at": %q,
  "requester": {"id": "9001", "email": %q, "name": "Eve"}}}`, id, text, status, updated.UTC().Format(time.RFC3339), email))
}

// TestZendesk_ChurnRisk: the shipped churn-risk example runs from a real
// Zendesk webhook with no glue: a ticket mentioning cancellation sets
// CHURN_RISK, takes the contact out of the upsell list and tells the
// owner once, however Zendesk reports the ticket afterwards (a retried
// request, a comment event naming only the requester's Zendesk id); the
// contact's open tickets reach Brevo as OPEN_TICKETS and drop to 0 once
// solved; a forged delivery is refused with 401 and changes nothing.
func TestZendesk_ChurnRisk(t *testing.T) {
	hook := newReceiver(t, 0)
	t.Setenv("CHURN_WEBHOOK_URL", hook.URL)
	t.Setenv("CHURN_WEBHOOK_SECRET", notifySecret)
	e := startEnv(t, brevosim.Options{}, withZendesk(), withWorkflows(loadExample(t, "churn-risk")))
	e.subscribe(701, "eve@example.com")
	e.waitIdle(10 * time.Second)
	c := e.contact("eve@example.com")
	if err := e.brevoClient().UpdateContact(context.Background(), c.ExtID, brevo.IdentifierExtID, brevo.UpdateContactRequest{ListIDs: []int64{7}}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	if code, _ := e.zendesk(zendeskTrigger("501", "Open", "x", "eve@example.com", now), "wrong-secret", now); code != http.StatusUnauthorized {
		t.Errorf("forged delivery: %d, want 401", code)
	}
	created := zendeskTrigger("501", "Open", "Please CANCEL my subscription", "Eve@Example.com", now.Add(-time.Minute))
	e.mustAccept(e.zendesk(created, zendeskSecret, now))
	if code, reply := e.zendesk(created, zendeskSecret, now); code != http.StatusOK || reply["status"] != "duplicate" {
		t.Errorf("the same request again: %d %v, want 200 duplicate", code, reply)
	}
	comment := []byte(fmt.Sprintf(`{"type":"zen:event-type:ticket.comment_added","account_id":1,"id":"01HQCOMMENT0000000000000001","time":%q,
  "zendesk_event_version":"2022-11-06","subject":"zen:ticket:501","detail":{"id":"501","status":"OPEN","subject":"About my plan",
  "requester_id":"9001","priority":"NORMAL","tags":["billing"],"created_at":"2026-11-20T09:00:00Z","updated_at":%q,"via":{"channel":"email"}},
  "event":{"comment":{"id":"7","body":"I said cancel!","is_public":true}}}`, now.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	e.mustAccept(e.zendesk(comment, zendeskSecret, now))
	e.waitIdle(15 * time.Second)

	c = e.contact("eve@example.com")
	if c.Attributes["CHURN_RISK"] != true {
		t.Errorf("CHURN_RISK = %v, want true", c.Attributes["CHURN_RISK"])
	}
	if hasList(c, 7) || !hasList(c, 5) {
		t.Errorf("lists %v, want out of 7 and still in 5", c.ListIDs)
	}
	if got := hook.received(); len(got) != 1 {
		t.Errorf("owner webhooks %d, want 1 for one ticket", len(got))
	}
	if n, ok := c.Attributes["OPEN_TICKETS"].(float64); !ok || n != 1 {
		t.Errorf("OPEN_TICKETS = %v, want 1", c.Attributes["OPEN_TICKETS"])
	}
	if c.Attributes["LAST_TICKET_AT"] == nil {
		t.Errorf("LAST_TICKET_AT not set: %v", c.Attributes)
	}

	solved := zendeskTrigger("501", "Solved", "", "eve@example.com", now.Add(time.Minute))
	e.mustAccept(e.zendesk(solved, zendeskSecret, now))
	e.waitIdle(15 * time.Second)
	if n, ok := e.contact("eve@example.com").Attributes["OPEN_TICKETS"].(float64); !ok || n != 0 {
		t.Errorf("OPEN_TICKETS after the solve = %v, want 0", e.contact("eve@example.com").Attributes["OPEN_TICKETS"])
	}
}
