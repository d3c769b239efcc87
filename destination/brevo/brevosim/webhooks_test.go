package brevosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

func TestServer_Webhooks(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	a := s.do("POST", "/webhooks", `{"url":"https://sync.example.com/webhooks/brevo","description":"synclayer","events":["unsubscribed","hardBounce","contactUpdated"],"type":"marketing","auth":{"type":"bearer","token":"tok-0123456789abcdef"}}`)
	if a.status != 201 || a.body["id"] != float64(1) {
		t.Fatalf("create = %d %s, want 201 {id: 1}", a.status, a.raw)
	}
	s.do("POST", "/webhooks", `{"url":"https://other.example.com/tx","events":["delivered"]}`) // transactional by default

	a = s.do("GET", "/webhooks?type=marketing", "")
	hooks, _ := a.body["webhooks"].([]any)
	if a.status != 200 || len(hooks) != 1 {
		t.Fatalf("list = %d %s, want the one marketing webhook", a.status, a.raw)
	}
	h := hooks[0].(map[string]any)
	if h["url"] != "https://sync.example.com/webhooks/brevo" || h["type"] != "marketing" || h["auth"].(map[string]any)["token"] != "tok-0123456789abcdef" {
		t.Errorf("webhook %v", h)
	}
	if a := s.do("GET", "/webhooks", ""); len(a.body["webhooks"].([]any)) != 1 {
		t.Errorf("default list %s, want the transactional one only", a.raw)
	}

	if a := s.do("PUT", "/webhooks/1", `{"events":["spam"],"auth":{"type":"bearer","token":"new-0123456789abcdef"}}`); a.status != 204 {
		t.Fatalf("update = %d %s", a.status, a.raw)
	}
	if got := s.Webhooks()[0]; got.AuthToken != "new-0123456789abcdef" || len(got.Events) != 1 || got.Events[0] != "spam" || got.URL == "" {
		t.Errorf("after update %+v", got)
	}
	if a := s.do("GET", "/webhooks/1", ""); a.status != 200 || a.body["description"] != "synclayer" {
		t.Errorf("get = %d %s", a.status, a.raw)
	}
	if a := s.do("PUT", "/webhooks/99", `{"events":["spam"]}`); a.status != 404 || a.code() != "document_not_found" {
		t.Errorf("update of a missing webhook = %d %s, want 404", a.status, a.raw)
	}
	if a := s.do("DELETE", "/webhooks/2", ""); a.status != 204 || len(s.Webhooks()) != 1 {
		t.Errorf("delete = %d, %d left", a.status, len(s.Webhooks()))
	}
}

// TestServer_WebhookErrors runs without the spec check, which would refuse
// these requests before the simulator's own checks, as Brevo does when the
// binary serves the simulator.
func TestServer_WebhookErrors(t *testing.T) {
	t.Parallel()
	s := brevosim.New(brevosim.Options{APIKey: key})
	srv := httptest.NewServer(s)
	defer srv.Close()
	x := &sim{Server: s, t: t, url: srv.URL}
	for _, tc := range []struct{ name, body, code string }{
		{"NoURL", `{"events":["unsubscribed"],"type":"marketing"}`, "missing_parameter"},
		{"BadURL", `{"url":"not a url","events":["unsubscribed"],"type":"marketing"}`, "invalid_parameter"},
		{"NoEvents", `{"url":"https://a.example.com","type":"marketing"}`, "missing_parameter"},
		{"UnknownEvent", `{"url":"https://a.example.com","events":["exploded"],"type":"marketing"}`, "invalid_parameter"},
		{"EventOfOtherType", `{"url":"https://a.example.com","events":["listAddition"]}`, "invalid_parameter"},
		{"UnknownType", `{"url":"https://a.example.com","events":["spam"],"type":"sms"}`, "invalid_parameter"},
		{"NotJSON", `{`, "invalid_parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := x.send("POST", "/webhooks", tc.body, key, false)
			if a.status != 400 || a.code() != tc.code || a.body["message"] == "" {
				t.Fatalf("answer = %d %s, want 400 %s", a.status, a.raw, tc.code)
			}
		})
	}
	if n := len(s.Webhooks()); n != 0 {
		t.Errorf("%d webhooks created from bad requests", n)
	}
}

type received struct {
	header http.Header
	body   []byte
}

func TestServer_SendMarketing(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []received
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), b})
		mu.Unlock()
	}))
	defer hook.Close()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := mustSim(t, brevosim.Options{Now: func() time.Time { return now }})
	s.do("POST", "/contacts", `{"email":"ann@example.com","listIds":[7],"attributes":{"FIRSTNAME":"Ann"}}`)
	s.do("POST", "/webhooks", `{"url":"`+hook.URL+`/one","events":["unsubscribed","contactUpdated"],"type":"marketing","auth":{"type":"bearer","token":"tok-0123456789abcdef"},"headers":[{"key":"X-Extra","value":"1"}]}`)
	s.do("POST", "/webhooks", `{"url":"`+hook.URL+`/two","events":["unsubscribed"],"type":"marketing","batched":true}`)

	if err := s.Unsubscribe("ann@example.com"); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if c, _ := s.ContactByEmail("ann@example.com"); !c.EmailBlacklisted {
		t.Error("not blocklisted")
	}
	mu.Lock()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want one per subscribed webhook", len(got))
	}
	if got[0].header.Get("Authorization") != "Bearer tok-0123456789abcdef" || got[0].header.Get("X-Extra") != "1" || got[1].header.Get("Authorization") != "" {
		t.Errorf("headers %v / %v", got[0].header, got[1].header)
	}
	var one map[string]any
	var two []map[string]any
	if json.Unmarshal(got[0].body, &one) != nil || json.Unmarshal(got[1].body, &two) != nil || len(two) != 1 {
		t.Fatalf("bodies %s / %s, want an object and a batched array", got[0].body, got[1].body)
	}
	if one["event"] != "unsubscribed" || one["email"] != "ann@example.com" || one["ts_event"] != float64(now.Unix()) || one["id"] != float64(1) {
		t.Errorf("payload %s", got[0].body)
	}
	if lists, _ := one["list_id"].([]any); len(lists) != 1 || lists[0] != float64(7) {
		t.Errorf("list_id %v, want the contact's lists", one["list_id"])
	}
	got = nil
	mu.Unlock()

	if err := s.SendMarketing("contact_updated", "ann@example.com", map[string]any{"ts": nil}); err != nil {
		t.Fatalf("SendMarketing: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var upd map[string]any
	if len(got) != 1 || json.Unmarshal(got[0].body, &upd) != nil {
		t.Fatalf("deliveries %v", got)
	}
	content, _ := upd["content"].([]any)
	if _, hasTS := upd["ts"]; hasTS || upd["email"] != nil || len(content) != 1 || content[0].(map[string]any)["attributes"].(map[string]any)["FIRSTNAME"] != "Ann" {
		t.Errorf("contact_updated %s", got[0].body)
	}
	if err := s.SendMarketing("spam", "ann@example.com", nil); err == nil {
		t.Error("SendMarketing to no subscribed webhook succeeded")
	}
}
