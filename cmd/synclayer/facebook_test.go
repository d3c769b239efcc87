package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/source/facebook/graphsim"
)

const facebookAppSecret = "fb-e2e-app-secret"

// TestFacebook_LeadAds: Facebook's check of the URL gets its challenge
// back; a signed leadgen notification is acknowledged at once and its
// lead read from the Graph API on the source's fetch queue, retried
// through an outage, and reaches Brevo with its answers; the same
// notification delivered again reads nothing more.
func TestFacebook_LeadAds(t *testing.T) {
	sim := graphsim.New("page-e2e-token")
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	sim.AddLead(graphsim.Lead{ID: "7001", CreatedTime: "2026-11-20T09:59:00+0000", FormID: "88", FieldData: []graphsim.Field{
		{Name: "email", Values: []string{"Lea@Example.com"}}, {Name: "first_name", Values: []string{"Lea"}}, {Name: "budget", Values: []string{"5k"}}}})
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources["facebook"] = &SourceConfig{Secret: facebookAppSecret, Settings: map[string]any{
			"verify_token": "e2e-verify", "page_access_token": "page-e2e-token", "graph_url": hs.URL}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "facebook")
		c.Skills.CustomerSync.FieldMapping = map[string]string{"email": "email", "firstName": "FIRSTNAME"}
	})

	resp, err := http.Get(e.base + "/webhooks/facebook?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=1158201444")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "1158201444" {
		t.Errorf("URL check: %d %q, want 200 and the challenge", resp.StatusCode, b)
	}
	if resp, err := http.Get(e.base + "/webhooks/facebook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("URL check with a wrong token: %v %v, want 401", resp.StatusCode, err)
	}

	sim.FailNext(1)
	body := graphsim.Notification("153125381133", "7001", "88", time.Now().Unix())
	h := http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature-256": {graphsim.Sign(facebookAppSecret, body)}}
	e.mustAccept(e.post("/webhooks/facebook", body, h))
	if code, reply := e.post("/webhooks/facebook", body, h); code != 200 || reply["status"] != "duplicate" {
		t.Errorf("the notification again: %d %v", code, reply)
	}
	if code, _ := e.post("/webhooks/facebook", body, http.Header{"X-Hub-Signature-256": {graphsim.Sign("other", body)}}); code != http.StatusUnauthorized {
		t.Errorf("a forged notification: %d, want 401", code)
	}
	e.waitIdle(30 * time.Second)
	c := e.contact("lea@example.com")
	if c.Attributes["FIRSTNAME"] != "Lea" {
		t.Errorf("Brevo contact %+v, want FIRSTNAME Lea", c)
	}
	if n := sim.Reads(); n != 2 {
		t.Errorf("Graph reads %d, want 2 (one outage, one read)", n)
	}
}
