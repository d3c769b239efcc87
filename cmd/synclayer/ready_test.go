package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

func withBrevoKey(key string) envOption {
	return func(c *Config) { c.Destinations["brevo"].Settings["api_key"] = key }
}

// readyz returns /readyz's status and answer.
func (e *env) readyz() (int, map[string]string) {
	e.t.Helper()
	resp, err := http.Get(e.base + "/readyz")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestReady_RejectedKey: while Brevo rejects the key, /readyz is 503
// naming the key to fix, the problem is logged once, and webhooks are
// still queued; once Brevo accepts the key, /readyz is 200 again and the
// queue is delivered.
func TestReady_RejectedKey(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withBrevoKey("xkeysib-revoked"))
	const key = "destinations.brevo.api_key"
	status, reply := e.readyz()
	if status != 503 || reply["field"] != key || !strings.Contains(reply["reason"], key+" rejected by Brevo (401): check the key") {
		t.Fatalf("/readyz with a rejected key: %d %v", status, reply)
	}
	if status, reply := e.shopify("customers/create", shopifyCustomer(1401, "ready@example.com", "Ready", 0, "subscribed", 0)); status != 200 {
		t.Fatalf("webhook while the key is rejected: %d %v", status, reply)
	}
	time.Sleep(time.Second) // several checks, each rejected
	logs := e.logs.String()
	if n := strings.Count(logs, "rejected by Brevo (401)"); n != 1 {
		t.Errorf("the rejected key was logged %d times at INFO and above, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "destination field check failed") {
		t.Errorf("want one ERROR naming the key and no repeated WARN:\n%s", logs)
	}

	e.sim.SetAPIKey("xkeysib-revoked") // the key is accepted again
	deadline := time.Now().Add(10 * time.Second)
	for status, _ = e.readyz(); status != 200 && time.Now().Before(deadline); status, _ = e.readyz() {
		time.Sleep(50 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("/readyz once the key is accepted: %d", status)
	}
	if !strings.Contains(e.logs.String(), key+" accepted by Brevo again") {
		t.Errorf("the recovery was not logged:\n%s", e.logs.String())
	}
	e.waitIdle(10 * time.Second)
	e.contact("ready@example.com")
}

// TestReady_Shutdown: once Close has begun, /readyz is 503.
func TestReady_Shutdown(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	if status, reply := e.readyz(); status != 200 {
		t.Fatalf("/readyz: %d %v", status, reply)
	}
	h := e.m.http.Handler
	e.m.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Errorf("/readyz after Close: %d %s", rec.Code, rec.Body.String())
	}
}

// TestReady_CredentialsStatus: Klaviyo's and Mailchimp's clients report a
// rejected key as Brevo's does, with the status synclayer.HTTPStatus
// reads, so readiness names their keys too.
func TestReady_CredentialsStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("Klaviyo", func(t *testing.T) {
		hs := httptest.NewServer(klaviyosim.New(klaviyosim.Options{APIKey: "pk_right"}))
		defer hs.Close()
		_, err := klaviyo.New(klaviyo.Config{APIKey: "pk_wrong", BaseURL: hs.URL}).GetList(ctx, "L1")
		if got := synclayer.HTTPStatus(err); got != 401 {
			t.Errorf("wrong key: %v, status %d; want 401", err, got)
		}
	})
	t.Run("Mailchimp", func(t *testing.T) {
		hs := httptest.NewServer(mailchimpsim.New(mailchimpsim.Options{APIKey: "right-us1"}))
		defer hs.Close()
		c, err := mailchimp.New(mailchimp.Config{APIKey: "wrong-us1", BaseURL: hs.URL + "/3.0"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListMergeFields(ctx, "aud1")
		if got := synclayer.HTTPStatus(err); got != 401 {
			t.Errorf("wrong key: %v, status %d; want 401", err, got)
		}
	})
}
