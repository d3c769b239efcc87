package hubspotsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook is an app's webhook settings, as HubSpot's app settings hold
// them: the target URL, the client secret that signs each delivery
// (signature v3), and the contact properties it subscribes to
// (contact.propertyChange, one subscription each); contact.deletion is
// always subscribed.
type Webhook struct {
	TargetURL    string
	ClientSecret string
	Properties   []string
	AppID        int64
	PortalID     int64
	Client       *http.Client // nil: http.DefaultClient
}

// SetWebhook configures the app's webhook; a zero Webhook turns it off.
func (s *Server) SetWebhook(w Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = w
}

// SetProperty changes a contact's property as a user does in HubSpot's
// interface (no forward-only rule: a user may move a stage back) and,
// when the webhook subscribes to the property, delivers a signed
// contact.propertyChange at once. It returns the status the target
// answered (0 when nothing was sent).
func (s *Server) SetProperty(email, name, value string) (int, error) {
	s.mu.Lock()
	id, ok := s.byEmail[strings.ToLower(email)]
	if !ok || s.contacts[id].Archived {
		s.mu.Unlock()
		return 0, fmt.Errorf("hubspotsim: no contact %s", email)
	}
	c := s.contacts[id]
	c.Properties[name] = value
	c.UpdatedAt = s.now()
	w := s.webhook
	ev := s.event(w, "contact.propertyChange", id)
	ev["propertyName"], ev["propertyValue"], ev["changeSource"] = name, value, "CRM_UI"
	s.mu.Unlock()
	if w.TargetURL == "" || !slices.Contains(w.Properties, name) {
		return 0, nil
	}
	return s.SendWebhook([]map[string]any{ev}, s.now())
}

// DeleteContact archives a contact as a user does, and delivers a signed
// contact.deletion when a webhook is set.
func (s *Server) DeleteContact(email string) (int, error) {
	s.mu.Lock()
	id, ok := s.byEmail[strings.ToLower(email)]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("hubspotsim: no contact %s", email)
	}
	s.contacts[id].Archived = true
	w := s.webhook
	ev := s.event(w, "contact.deletion", id)
	s.mu.Unlock()
	if w.TargetURL == "" {
		return 0, nil
	}
	return s.SendWebhook([]map[string]any{ev}, s.now())
}

// event builds one webhook event as HubSpot documents its fields; s.mu
// is held.
func (s *Server) event(w Webhook, typ, objectID string) map[string]any {
	s.eventSeq++
	obj, _ := strconv.ParseInt(objectID, 10, 64)
	return map[string]any{
		"eventId": s.eventSeq, "subscriptionId": 1000 + len(typ), "portalId": w.PortalID, "appId": w.AppID,
		"occurredAt": s.now().UnixMilli(), "subscriptionType": typ, "attemptNumber": 0, "objectId": obj,
	}
}

// SendWebhook posts events to the webhook's target URL, signed as
// HubSpot signs (SignV3) with the timestamp at, and returns the status.
func (s *Server) SendWebhook(events []map[string]any, at time.Time) (int, error) {
	s.mu.Lock()
	w := s.webhook
	s.mu.Unlock()
	body, err := json.Marshal(events)
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	req, err := http.NewRequest(http.MethodPost, w.TargetURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", SignV3(w.ClientSecret, http.MethodPost, w.TargetURL, body, ts))
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// SignV3 is HubSpot's signature v3 as its documentation describes it:
// base64 of the HMAC-SHA256, keyed with the client secret, of method +
// URI + body + timestamp, where the URI has %3A %2F %3F %40 %21 %24 %27
// %28 %29 %2A %2C %3B decoded.
func SignV3(secret, method, uri string, body []byte, timestamp string) string {
	r := strings.NewReplacer("%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
		"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
		"%3a", ":", "%2f", "/", "%3f", "?", "%2a", "*", "%2c", ",", "%3b", ";")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method + r.Replace(uri)))
	m.Write(body)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
