package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
)

const (
	intercomSecret  = "ic-e2e-client-secret"
	helpscoutSecret = "hs-e2e-secret-key"
	freshdeskSecret = "fd-e2e-shared-secret"
)

// withHelpdesks adds the Intercom, Help Scout and Freshdesk sources and
// maps the ticket fields to Brevo attributes.
func withHelpdesks() envOption {
	return func(c *Config) {
		c.Sources["intercom"] = &SourceConfig{Secret: intercomSecret}
		c.Sources["helpscout"] = &SourceConfig{Secret: helpscoutSecret}
		c.Sources["freshdesk"] = &SourceConfig{Secret: freshdeskSecret}
		cs := c.Skills.CustomerSync
		if cs.FieldMapping == nil {
			cs.FieldMapping = map[string]string{"email": "email", "firstName": "FIRSTNAME", "lastName": "LASTNAME"}
		}
		cs.FieldMapping["openTickets"] = "OPEN_TICKETS"
	}
}

// intercom posts a notification signed as Intercom signs them.
func (e *env) intercom(body []byte, secret string) (int, map[string]any) {
	e.t.Helper()
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "intercom-parrot-service-client/1.0")
	h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac.Sum(nil)))
	return e.post("/webhooks/intercom", body, h)
}

// helpscout posts a conversation signed as Help Scout signs its webhooks.
func (e *env) helpscout(event string, body []byte, secret string) (int, map[string]any) {
	e.t.Helper()
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-HelpScout-Event", event)
	h.Set("X-HelpScout-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return e.post("/webhooks/helpscout", body, h)
}

// freshdesk posts the README's rule body with the secret header the
// README has the admin add.
func (e *env) freshdesk(body []byte, secret string) (int, map[string]any) {
	e.t.Helper()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Synclayer-Token", secret)
	return e.post("/webhooks/freshdesk", body, h)
}

// intercomNotification is a conversation notification as Intercom sends
// it: the conversation whole, its latest parts, the contact who wrote.
func intercomNotification(id, topic, state, part, email string, updated time.Time) []byte {
	parts := "[]"
	if part != "" {
		parts = fmt.Sprintf(`[{"type":"conversation_part","id":"p-%s","part_type":"comment","body":%q,"created_at":%d,
  "author":{"type":"user","id":"6650aa01","email":%q}}]`, id, part, updated.Unix(), email)
	}
	return []byte(fmt.Sprintf(`{"type":"notification_event","app_id":"a86dr8yl","id":%q,"topic":%q,"created_at":%d,
  "data":{"type":"notification_event_data","item":{"type":"conversation","id":"8800","created_at":%d,"updated_at":%d,
  "state":%q,"open":true,"priority":"not_priority",
  "source":{"type":"conversation","subject":"","body":"<p>Hello, please <b>cancel</b> my plan</p>",
    "author":{"type":"user","id":"6650aa01","name":"Eve","email":%q}},
  "contacts":{"type":"contact.list","contacts":[{"type":"contact","id":"6650aa01"}]},
  "tags":{"type":"tag.list","tags":[]},
  "conversation_parts":{"type":"conversation_part.list","conversation_parts":%s,"total_count":1}}}}`,
		id, topic, updated.Unix(), updated.Add(-time.Minute).Unix(), updated.Unix(), state, email, parts))
}

// TestHelpdesk_ChurnRisk: the shipped churn-risk example runs from
// Intercom, Help Scout and Freshdesk webhooks with no glue: a
// conversation or ticket mentioning cancellation sets CHURN_RISK, takes
// its contact out of the upsell list and tells the owner once per
// ticket, however often the help desk reports it afterwards (a
// redelivery, a reply, a close); OPEN_TICKETS follows the status; a
// forged delivery to each is refused with 401 and changes nothing.
func TestHelpdesk_ChurnRisk(t *testing.T) {
	hook := newReceiver(t, 0)
	t.Setenv("CHURN_WEBHOOK_URL", hook.URL)
	t.Setenv("CHURN_WEBHOOK_SECRET", notifySecret)
	e := startEnv(t, brevosim.Options{}, withHelpdesks(), withWorkflows(loadExample(t, "churn-risk")))
	people := []string{"eve@example.com", "max@example.com", "ada@example.com"}
	for i, email := range people {
		e.subscribe(int64(801+i), email)
	}
	e.waitIdle(10 * time.Second)
	for _, email := range people {
		c := e.contact(email)
		if err := e.brevoClient().UpdateContact(context.Background(), c.ExtID, brevo.IdentifierExtID, brevo.UpdateContactRequest{ListIDs: []int64{7}}); err != nil {
			t.Fatal(err)
		}
	}

	// Intercom validates the endpoint URL with a HEAD request when it is saved.
	if resp, err := http.Head(e.base + "/webhooks/intercom"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /webhooks/intercom: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}

	now := time.Now().Truncate(time.Second)
	// Intercom: a new conversation, delivered twice, then the customer's
	// reply and the admin's close.
	created := intercomNotification("notif_e2e_1", "conversation.user.created", "open", "", "Eve@Example.com", now.Add(-2*time.Minute))
	if code, _ := e.intercom(created, "wrong-secret"); code != http.StatusUnauthorized {
		t.Errorf("forged Intercom notification: %d, want 401", code)
	}
	e.mustAccept(e.intercom(created, intercomSecret))
	if code, reply := e.intercom(created, intercomSecret); code != http.StatusOK || reply["status"] != "duplicate" {
		t.Errorf("the same Intercom notification again: %d %v, want 200 duplicate", code, reply)
	}
	e.mustAccept(e.intercom(intercomNotification("notif_e2e_2", "conversation.user.replied", "open", "<p>I said cancel!</p>", "eve@example.com", now.Add(-time.Minute)), intercomSecret))

	// Help Scout: a new conversation whose customer asks to cancel.
	convo := []byte(fmt.Sprintf(`{"id":550011,"number":12,"type":"email","status":"active","state":"published","subject":"Cancel my subscription",
  "mailboxId":85,"createdAt":%q,"userUpdatedAt":%q,"primaryCustomer":{"id":235411,"type":"customer","email":"max@example.com"},
  "tags":[],"_embedded":{"threads":[{"id":1,"type":"customer","body":"<p>How do I cancel?</p>","createdAt":%q}]}}`,
		now.Add(-time.Minute).UTC().Format(time.RFC3339), now.Add(-time.Minute).UTC().Format(time.RFC3339), now.Add(-time.Minute).UTC().Format(time.RFC3339)))
	if code, _ := e.helpscout("convo.created", convo, "wrong-secret"); code != http.StatusUnauthorized {
		t.Errorf("forged Help Scout webhook: %d, want 401", code)
	}
	e.mustAccept(e.helpscout("convo.created", convo, helpscoutSecret))

	// Freshdesk: the README's body as an automation rule renders it.
	ticket := []byte(`{"ticket": {"id": "4242", "subject": "Question", "text": "", "description": "<div>Please cancel my order</div>",
  "status": "Open", "priority": "Medium", "source": "Email", "type": "Question", "tags": "",
  "requester": {"id": "", "email": "ada@example.com"}}}`)
	if code, _ := e.freshdesk(ticket, "wrong-secret"); code != http.StatusUnauthorized {
		t.Errorf("forged Freshdesk webhook: %d, want 401", code)
	}
	e.mustAccept(e.freshdesk(ticket, freshdeskSecret))
	e.waitIdle(15 * time.Second)

	for _, email := range people {
		c := e.contact(email)
		if c.Attributes["CHURN_RISK"] != true {
			t.Errorf("%s: CHURN_RISK = %v, want true", email, c.Attributes["CHURN_RISK"])
		}
		if hasList(c, 7) || !hasList(c, 5) {
			t.Errorf("%s: lists %v, want out of 7 and still in 5", email, c.ListIDs)
		}
		if n, ok := c.Attributes["OPEN_TICKETS"].(float64); !ok || n != 1 {
			t.Errorf("%s: OPEN_TICKETS = %v, want 1", email, c.Attributes["OPEN_TICKETS"])
		}
	}
	if got := hook.received(); len(got) != len(people) {
		t.Errorf("owner webhooks %d, want %d: one per ticket", len(got), len(people))
	}

	// The admin closes the Intercom conversation: solved, nothing fired again.
	e.mustAccept(e.intercom(intercomNotification("notif_e2e_3", "conversation.admin.closed", "closed", "", "eve@example.com", now), intercomSecret))
	e.waitIdle(15 * time.Second)
	if n, ok := e.contact("eve@example.com").Attributes["OPEN_TICKETS"].(float64); !ok || n != 0 {
		t.Errorf("OPEN_TICKETS after the close = %v, want 0", e.contact("eve@example.com").Attributes["OPEN_TICKETS"])
	}
	if got := hook.received(); len(got) != len(people) {
		t.Errorf("owner webhooks after the close %d, want still %d", len(got), len(people))
	}
}

// TestHelpdesk_FreshdeskSettings: a Freshdesk block's own keys reach the
// source from the config file (basic auth, a custom status), and a
// misspelt key or a status that is no ticket status is refused by name.
func TestHelpdesk_FreshdeskSettings(t *testing.T) {
	cfg, err := ParseConfig([]byte(`sources:
  freshdesk:
    secret: "s3cret-for-the-rule"
    username: fd-rule
    statuses: { "Waiting on Customer": pending }
`), "")
	if err != nil {
		t.Fatal(err)
	}
	src, err := cfg.openSource("freshdesk", []string{"s3cret-for-the-rule"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("fd-rule:s3cret-for-the-rule")))
	events, err := src.Parse(h, []byte(`{"ticket":{"id":"9","status":"Waiting on Customer","requester":{"email":"a@example.com"}}}`), time.Now())
	if err != nil || len(events) != 1 || events[0].Ticket.Status != "pending" {
		t.Fatalf("Parse = %v, %v; want one pending ticket", events, err)
	}
	for _, bad := range []string{"usrname: fd", `statuses: { Waiting: stalled }`} {
		cfg, err := ParseConfig([]byte("sources:\n  freshdesk:\n    secret: x\n    "+bad+"\n"), "")
		if err == nil {
			_, err = cfg.openSource("freshdesk", []string{"x"})
		}
		if err == nil || !strings.Contains(err.Error(), strings.Fields(bad)[0][:4]) {
			t.Errorf("%s: %v, want an error naming it", bad, err)
		}
	}
}
