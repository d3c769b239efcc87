package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
	"synclayer/source/custom"
	"synclayer/store/storetest"
)

const (
	shopifySecret = "shpss_test_secret"
	wooSecret     = "woo-test-secret"
	customSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// env is one running synclayer against a Brevo simulator that validates
// every request against Brevo's OpenAPI spec.
type env struct {
	t    *testing.T
	m    *Main
	sim  *brevosim.Server
	base string
	n    atomic.Int64
	logs *syncWriter // everything the server logged
	// client sends the webhooks (post); http.DefaultClient unless a test
	// checks them against api/openapi.yaml (startAPI).
	client *http.Client
}

type envOption func(*Config)

func withPostgres(t *testing.T) envOption {
	return func(c *Config) { c.Storage = StorageConfig{Driver: "postgres", DSN: storetest.NewPostgresDatabase(t)} }
}

func withDelete(behavior string) envOption {
	return func(c *Config) { c.Skills.CustomerSync.Options.DeleteBehavior = behavior }
}

func startEnv(t *testing.T, simOpts brevosim.Options, opts ...envOption) *env {
	t.Helper()
	v := brevospec.Load(t)
	simOpts.APIKey = "xkeysib-e2e"
	simOpts.Validate = v.Validate
	sim := brevosim.New(simOpts)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)

	cfg := &Config{
		Server:  ServerConfig{Listen: "127.0.0.1:0"},
		Storage: StorageConfig{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "synclayer.db")},
		Sources: map[string]*SourceConfig{
			"shopify":     {Secret: shopifySecret},
			"woocommerce": {Secret: wooSecret},
			"custom":      {Secret: customSecret},
		},
		Destinations: map[string]*DestinationSection{"brevo": {Settings: map[string]any{"api_key": "xkeysib-e2e", "base_url": hs.URL + "/v3"}}},
		Skills: SkillsConfig{CustomerSync: &CustomerSyncConfig{
			Enabled: true, Source: StringList{"shopify", "woocommerce", "custom"},
			Options: CustomerSyncOptions{Extra: map[string]any{"list_id": 5}},
		}},
		Queue: QueueConfig{Poll: 50 * time.Millisecond},
	}
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.finish(nil); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sw := &syncWriter{w: &logs}
	// A destination check that fails at start is tried again quickly.
	m := &Main{Config: cfg, Stderr: sw, CheckPoll: 200 * time.Millisecond}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
		for _, v := range sim.Violations() {
			t.Errorf("request violates Brevo's OpenAPI spec: %s", v)
		}
	})
	return &env{t: t, m: m, sim: sim, base: "http://" + m.Addr, logs: sw}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String returns what was written so far, when the writer is a buffer.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.w.(*bytes.Buffer); ok {
		return b.String()
	}
	return ""
}

// post sends a body with headers and returns the status and decoded reply.
func (e *env) post(path string, body []byte, h http.Header) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+path, bytes.NewReader(body))
	req.Header = h
	client := e.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func shopifyHeaders(topic, webhookID string, body []byte, secret string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-Shopify-Shop-Domain", "demo.myshopify.com")
	h.Set("X-Shopify-API-Version", "2024-10")
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339))
	return h
}

// shopify posts a signed Shopify webhook with a fresh webhook id.
func (e *env) shopify(topic string, payload any) (int, map[string]any) {
	e.t.Helper()
	body := mustMarshal(payload)
	return e.post("/webhooks/shopify", body, shopifyHeaders(topic, fmt.Sprintf("wh-%d", e.n.Add(1)), body, shopifySecret))
}

func (e *env) woo(topic string, payload any) (int, map[string]any) {
	e.t.Helper()
	body := mustMarshal(payload)
	mac := hmac.New(sha256.New, []byte(wooSecret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-WC-Webhook-Topic", topic)
	h.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-WC-Webhook-Source", "https://shop.example/")
	h.Set("X-WC-Webhook-Delivery-ID", fmt.Sprint(e.n.Add(1)))
	return e.post("/webhooks/woocommerce", body, h)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// waitIdle waits until no delivery job is pending or running.
func (e *env) waitIdle(timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		counts, err := e.m.DB.CountJobs(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if counts[synclayer.JobPending] == 0 && counts[synclayer.JobRunning] == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	counts, _ := e.m.DB.CountJobs(context.Background())
	e.t.Fatalf("queue not drained after %s: %v", timeout, counts)
}

func (e *env) contact(email string) brevosim.Contact {
	e.t.Helper()
	c, ok := e.sim.ContactByEmail(email)
	if !ok {
		e.t.Fatalf("Brevo has no contact %s; contacts: %+v", email, e.sim.Contacts())
	}
	return c
}

// contactCalls counts the calls that write contacts, leaving out the
// attribute check made at start.
func (e *env) contactCalls(method string) int {
	n := 0
	for _, c := range e.sim.Calls() {
		if c.Method == method && strings.HasPrefix(c.Path, "/contacts") && !strings.HasPrefix(c.Path, "/contacts/attributes") {
			n++
		}
	}
	return n
}

// sentBlacklistFalse reports whether any request to Brevo sent
// emailBlacklisted:false, which would resubscribe someone.
func (e *env) sentBlacklistFalse() bool {
	for _, c := range e.sim.Calls() {
		if bytes.Contains(bytes.ReplaceAll(c.Body, []byte(" "), nil), []byte(`"emailBlacklisted":false`)) {
			return true
		}
	}
	return false
}

func ts(minutes int) string {
	return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339)
}

func shopifyCustomer(id int64, email, first string, updated int, consent string, consentAt int) map[string]any {
	c := map[string]any{
		"id": id, "email": email, "first_name": first, "last_name": "Doe", "phone": fmt.Sprintf("+1415555%04d", id%10000),
		"orders_count": 3, "total_spent": "199.65", "tags": "vip, newsletter",
		"created_at": ts(0), "updated_at": ts(updated),
	}
	if consent != "" {
		c["email_marketing_consent"] = map[string]any{"state": consent, "opt_in_level": "single_opt_in", "consent_updated_at": ts(consentAt)}
	}
	return c
}

func hasList(c brevosim.Contact, id int64) bool {
	for _, l := range c.ListIDs {
		if l == id {
			return true
		}
	}
	return false
}

func TestCustomerSync_NewCustomer(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	status, reply := e.shopify("customers/create", shopifyCustomer(1001, "Jane@Example.com", "Jane", 0, "subscribed", 0))
	if status != 200 {
		t.Fatalf("status %d %v", status, reply)
	}
	e.waitIdle(10 * time.Second)
	c := e.contact("jane@example.com")
	if c.Attributes["FIRSTNAME"] != "Jane" || c.Attributes["SMS"] == nil || !hasList(c, 5) || c.EmailBlacklisted {
		t.Errorf("Brevo contact: %+v", c)
	}
	if fmt.Sprint(c.Attributes["TOTAL_SPENT"]) != "199.65" || fmt.Sprint(c.Attributes["TOTAL_ORDERS"]) != "3" || c.Attributes["TAGS"] != "vip, newsletter" {
		t.Errorf("conversions: %+v", c.Attributes)
	}
	if n := e.contactCalls("POST"); n < 1 {
		t.Errorf("POST /contacts calls: %d", n)
	}
	if e.sentBlacklistFalse() {
		t.Error("sent emailBlacklisted:false without an opt-in that lifts a blocklisting")
	}
}

func TestCustomerSync_RedeliveredWebhook(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	body := mustMarshal(shopifyCustomer(1002, "redo@example.com", "Red", 0, "subscribed", 0))
	h := shopifyHeaders("customers/create", "same-delivery", body, shopifySecret)
	for i := range 3 {
		status, reply := e.post("/webhooks/shopify", body, h)
		if status != 200 {
			t.Fatalf("delivery %d: %d %v", i, status, reply)
		}
		if i > 0 && reply["status"] != "duplicate" {
			t.Errorf("delivery %d: status %v, want duplicate", i, reply["status"])
		}
	}
	e.waitIdle(10 * time.Second)
	if n := e.contactCalls("POST"); n != 1 {
		t.Errorf("POST /contacts made %d times for one event delivered 3 times, want 1", n)
	}
	if evs, _ := e.m.DB.FindEvents(context.Background(), synclayer.EventFilter{}); len(evs) != 1 {
		t.Errorf("%d events stored, want 1", len(evs))
	}
}

func TestCustomerSync_DuplicateEmailAcrossSources(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.shopify("customers/create", shopifyCustomer(1003, "both@example.com", "Bo", 0, "subscribed", 0))
	e.woo("customer.created", map[string]any{"id": 55, "email": "BOTH@example.com", "first_name": "Bo", "last_name": "Doe", "date_modified_gmt": "2026-11-20T10:05:00"})
	e.waitIdle(10 * time.Second)
	if n := len(e.sim.Contacts()); n != 1 {
		t.Fatalf("Brevo has %d contacts for one email, want 1: %+v", n, e.sim.Contacts())
	}
	list, _ := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: "both@example.com"})
	if len(list) != 1 || list[0].SourceIDs["shopify"] != "1003" || list[0].SourceIDs["woocommerce"] != "55" {
		t.Errorf("canonical contacts: %+v", list)
	}
}

func TestCustomerSync_OptOutSurvivesStaleUpdatesAndResync(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.shopify("customers/create", shopifyCustomer(1004, "out@example.com", "Olive", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	e.shopify("customers_email_marketing_consent/update", map[string]any{
		"customer_id": 1004, "email_address": "out@example.com",
		"email_marketing_consent": map[string]any{"state": "unsubscribed", "consent_updated_at": ts(10)},
	})
	e.waitIdle(10 * time.Second)
	// A stale update, delivered late, still says subscribed.
	e.shopify("customers/update", shopifyCustomer(1004, "out@example.com", "Olive", 5, "subscribed", 0))
	// A full resync: newer fields, but the consent it carries is the old opt-in.
	e.shopify("customers/update", shopifyCustomer(1004, "out@example.com", "Olivia", 20, "subscribed", 0))
	// Another source claims an opt-in, but it does not own consent.
	e.woo("customer.updated", map[string]any{"id": 56, "email": "out@example.com", "first_name": "Olivia", "date_modified_gmt": "2026-11-20T10:30:00"})
	e.waitIdle(10 * time.Second)
	c := e.contact("out@example.com")
	if !c.EmailBlacklisted || hasList(c, 5) {
		t.Errorf("opted-out contact resubscribed: %+v", c)
	}
	if c.Attributes["FIRSTNAME"] != "Olivia" {
		t.Errorf("newer field lost: %+v", c.Attributes)
	}
	if e.sentBlacklistFalse() {
		t.Error("a request sent emailBlacklisted:false")
	}
}

func TestCustomerSync_OutOfOrderUpdates(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.shopify("customers/update", shopifyCustomer(1005, "order@example.com", "Newer", 20, "", 0))
	e.waitIdle(10 * time.Second)
	e.shopify("customers/update", shopifyCustomer(1005, "order@example.com", "Older", 10, "", 0))
	e.waitIdle(10 * time.Second)
	if c := e.contact("order@example.com"); c.Attributes["FIRSTNAME"] != "Newer" {
		t.Errorf("an older update overwrote a newer one: %+v", c.Attributes)
	}
	if n := e.contactCalls("POST") + e.contactCalls("PUT"); n != 1 {
		t.Errorf("%d contact writes; the stale update should cause none after the first", n)
	}
}

func TestCustomerSync_InvalidEmailIsAcceptedAndRecorded(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	status, reply := e.shopify("customers/create", shopifyCustomer(1006, "not-an-email", "Nope", 0, "", 0))
	if status != 200 {
		t.Fatalf("status %d, want 200 (a data problem must not fail the webhook)", status)
	}
	events := reply["events"].([]any)
	ev := events[0].(map[string]any)
	if ev["status"] != "failed" || !strings.Contains(fmt.Sprint(ev["reason"]), "email") {
		t.Errorf("event result %v, want failed with a reason naming the email", ev)
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.contactCalls("POST"); n != 0 {
		t.Errorf("%d contact calls for an invalid email", n)
	}
	failed, _ := e.m.DB.FindEvents(context.Background(), synclayer.EventFilter{Status: synclayer.EventFailed})
	if len(failed) != 1 {
		t.Errorf("failed events: %d, want 1", len(failed))
	}
}

func TestCustomerSync_Delete(t *testing.T) {
	t.Parallel()
	for _, behavior := range []string{"soft", "hard"} {
		t.Run(behavior, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, brevosim.Options{}, withDelete(behavior))
			e.shopify("customers/create", shopifyCustomer(1007, "del@example.com", "Del", 0, "subscribed", 0))
			e.waitIdle(10 * time.Second)
			e.shopify("customers/delete", map[string]any{"id": 1007})
			e.waitIdle(10 * time.Second)
			c, ok := e.sim.ContactByEmail("del@example.com")
			switch behavior {
			case "soft":
				if !ok || hasList(c, 5) {
					t.Errorf("soft delete: contact %+v (exists %v), want kept and unlinked from list 5", c, ok)
				}
			case "hard":
				if ok {
					t.Errorf("hard delete: contact still in Brevo: %+v", c)
				}
				if n := e.sim.CallCount("DELETE", "/contacts/"); n != 1 {
					t.Errorf("DELETE calls: %d, want 1", n)
				}
			}
		})
	}
}

func TestCustomerSync_OutageDuringBurst(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.sim.SetOutage(brevosim.Outage500)
	for i := range 30 {
		if status, _ := e.shopify("customers/create", shopifyCustomer(int64(2000+i), fmt.Sprintf("burst%d@example.com", i), "B", 0, "subscribed", 0)); status != 200 {
			t.Fatalf("webhook %d: status %d during a destination outage", i, status)
		}
		if i == 15 {
			e.sim.SetOutage(brevosim.OutageDrop)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	e.sim.SetOutage(brevosim.OutageNone)
	e.waitIdle(60 * time.Second)
	if n := len(e.sim.Contacts()); n != 30 {
		t.Errorf("Brevo has %d contacts after the outage, want 30", n)
	}
	if dead, _ := e.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead}); len(dead) != 0 {
		t.Errorf("%d jobs dead-lettered by a transient outage", len(dead))
	}
}

func TestCustomerSync_RateLimitedBurst(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{RateLimit: 10})
	for i := range 200 {
		if status, _ := e.woo("customer.created", map[string]any{"id": 3000 + i, "email": fmt.Sprintf("rl%d@example.com", i), "first_name": "R", "date_modified_gmt": "2026-11-20T10:00:00"}); status != 200 {
			t.Fatalf("webhook %d: status %d", i, status)
		}
	}
	e.waitIdle(90 * time.Second)
	if n := len(e.sim.Contacts()); n != 200 {
		t.Errorf("Brevo has %d contacts, want 200", n)
	}
	var throttled int
	for _, c := range e.sim.Calls() {
		if c.Status == 429 {
			throttled++
		}
	}
	if throttled > 5 {
		t.Errorf("%d requests got 429; proactive throttling should keep steady traffic under the limit", throttled)
	}
	t.Logf("200 contacts at 10 req/s: %d Brevo calls, %d answered 429", len(e.sim.Calls()), throttled)
}

func TestCustomerSync_Postgres(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withPostgres(t))
	for i := range 20 {
		e.shopify("customers/create", shopifyCustomer(int64(4000+i), fmt.Sprintf("pg%d@example.com", i), "P", 0, "subscribed", 0))
	}
	e.shopify("customers/update", shopifyCustomer(4000, "pg0@example.com", "Q", 5, "subscribed", 0))
	e.waitIdle(20 * time.Second)
	if n := len(e.sim.Contacts()); n != 20 {
		t.Errorf("Brevo has %d contacts, want 20", n)
	}
	if c := e.contact("pg0@example.com"); c.Attributes["FIRSTNAME"] != "Q" {
		t.Errorf("update lost on postgres: %+v", c.Attributes)
	}
}

func (e *env) custom(body []byte, msgID string, when time.Time) (int, map[string]any) {
	e.t.Helper()
	sig, err := custom.Sign(customSecret, msgID, when, body)
	if err != nil {
		e.t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", fmt.Sprint(when.Unix()))
	h.Set("webhook-signature", sig)
	return e.post("/webhooks/custom", body, h)
}

func TestWebhook_BadInput(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	good := mustMarshal(shopifyCustomer(1, "a@example.com", "A", 0, "", 0))
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		header func() http.Header
		status int
		want   string // in the error message or field
	}{
		{"BadSignature", "/webhooks/shopify", good, func() http.Header { return shopifyHeaders("customers/create", "x1", good, "wrong-secret") }, 401, "X-Shopify-Hmac-Sha256"},
		{"SignatureForAnotherBody", "/webhooks/shopify", good, func() http.Header { return shopifyHeaders("customers/create", "x2", []byte(`{}`), shopifySecret) }, 401, "X-Shopify-Hmac-Sha256"},
		{"MissingSignature", "/webhooks/shopify", good, func() http.Header {
			h := shopifyHeaders("customers/create", "x3", good, shopifySecret)
			h.Del("X-Shopify-Hmac-Sha256")
			return h
		}, 401, "X-Shopify-Hmac-Sha256"},
		{"MalformedJSON", "/webhooks/shopify", []byte(`{"id": 1,`), func() http.Header {
			return shopifyHeaders("customers/create", "x4", []byte(`{"id": 1,`), shopifySecret)
		}, 400, "JSON"},
		{"UnknownTopic", "/webhooks/shopify", good, func() http.Header { return shopifyHeaders("carts/explode", "x5", good, shopifySecret) }, 400, "carts/explode"},
		{"UnknownSource", "/webhooks/magento", good, func() http.Header { return http.Header{} }, 404, "magento"},
		{"TooLarge", "/webhooks/shopify", bytes.Repeat([]byte(" "), 2<<20), func() http.Header { return http.Header{} }, 413, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, reply := e.post(tc.path, tc.body, tc.header())
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, reply)
			}
			errObj, _ := reply["error"].(map[string]any)
			if !strings.Contains(fmt.Sprint(errObj["message"], errObj["field"]), tc.want) {
				t.Errorf("error %v does not name %q", errObj, tc.want)
			}
		})
	}
	// Valid traffic alongside is unaffected, and nothing partial was written.
	if status, _ := e.shopify("customers/create", shopifyCustomer(9, "ok@example.com", "Ok", 0, "", 0)); status != 200 {
		t.Fatalf("valid webhook after bad ones: %d", status)
	}
	e.waitIdle(10 * time.Second)
	if n := len(e.sim.Contacts()); n != 1 {
		t.Errorf("Brevo has %d contacts, want only the valid one", n)
	}
	rej, _ := e.m.DB.FindRejections(context.Background(), 100)
	if len(rej) != 7 {
		t.Errorf("%d rejections kept for inspection, want 7", len(rej))
	}
	for _, r := range rej {
		for k := range r.Headers {
			if strings.Contains(strings.ToLower(k), "hmac") {
				t.Errorf("rejection kept the signature header %s", k)
			}
		}
	}
}

func TestWebhook_WooCommercePing(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, reply := e.post("/webhooks/woocommerce", []byte("webhook_id=17"), h); status != 200 {
		t.Errorf("ping: %d %v", status, reply)
	}
}

func TestWebhook_CustomPartialUpdate(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	now := time.Now()
	created := mustMarshal(map[string]any{"event": "customer_created", "timestamp": now.Add(-time.Minute).UTC().Format(time.RFC3339),
		"data": map[string]any{"id": "cust_12345", "email": "cu@example.com", "firstName": "Cu", "emailConsent": "subscribed"}})
	if status, reply := e.custom(created, "msg_1", now); status != 200 {
		t.Fatalf("create: %d %v", status, reply)
	}
	update := mustMarshal(map[string]any{"event": "customer_updated", "timestamp": now.UTC().Format(time.RFC3339),
		"data": map[string]any{"id": "cust_12345", "changes": map[string]any{"phone": map[string]any{"old": "+14155550000", "new": "+14155550123"}}}})
	if status, reply := e.custom(update, "msg_2", now); status != 200 {
		t.Fatalf("update: %d %v", status, reply)
	}
	e.waitIdle(10 * time.Second)
	c := e.contact("cu@example.com")
	if c.Attributes["SMS"] == nil {
		t.Errorf("partial update not applied: %+v", c)
	}
	if !hasList(c, 5) {
		t.Errorf("an opt-in from custom, one of the skill's sources and so a consent source by default, did not list the contact: %+v", c)
	}
	list, _ := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: "cu@example.com"})
	trace, _ := e.m.DB.Trace(context.Background(), list[0].ID)
	var mismatch bool
	for _, tr := range trace {
		mismatch = mismatch || bytes.Contains(tr.Detail, []byte(synclayer.RuleOldMismatch))
	}
	if !mismatch {
		t.Errorf("the stale old value was not recorded in the trace: %+v", trace)
	}
	// An event that identifies nobody is rejected, naming what is missing.
	anon := mustMarshal(map[string]any{"event": "customer_updated", "timestamp": now.UTC().Format(time.RFC3339), "data": map[string]any{"firstName": "X"}})
	status, reply := e.custom(anon, "msg_3", now)
	if status != 400 || !strings.Contains(fmt.Sprint(reply["error"]), "data.id") {
		t.Errorf("anonymous event: %d %v, want 400 naming data.id", status, reply)
	}
	// A replayed message outside the tolerance is refused.
	if status, _ := e.custom(created, "msg_4", now.Add(-10*time.Minute)); status != 401 {
		t.Errorf("stale timestamp: %d, want 401", status)
	}
}

func TestTrigger_SamePipeline(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	res, err := Trigger(context.Background(), e.m.Ingester, "customer_created", json.RawMessage(`{"id":"m1","email":"manual@example.com","firstName":"Man"}`), time.Now())
	if err != nil || res.Status != synclayer.EventApplied {
		t.Fatalf("trigger: %+v, %v", res, err)
	}
	e.m.wake("")
	e.waitIdle(10 * time.Second)
	if c := e.contact("manual@example.com"); c.Attributes["FIRSTNAME"] != "Man" {
		t.Errorf("triggered contact: %+v", c)
	}
	if _, err := Trigger(context.Background(), e.m.Ingester, "customer_exploded", json.RawMessage(`{"id":"m1"}`), time.Now()); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("unknown event: %v, want EINVALID", err)
	}
}

func TestCustomerSync_ExistingBrevoContact(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	// The shop's Brevo account already has this person, who unsubscribed in
	// Brevo itself.
	cl := brevo.New(brevo.Config{APIKey: "xkeysib-e2e", BaseURL: setting(e.m.Config, "brevo", "base_url")})
	if _, err := cl.CreateContact(context.Background(), brevo.CreateContactRequest{Email: "exist@example.com",
		Attributes: map[string]any{"FIRSTNAME": "Old"}, EmailBlacklisted: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	e.shopify("customers/create", shopifyCustomer(1010, "exist@example.com", "New", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	if n := len(e.sim.Contacts()); n != 1 {
		t.Fatalf("Brevo has %d contacts, want the existing one updated", n)
	}
	c := e.contact("exist@example.com")
	if c.Attributes["FIRSTNAME"] != "New" || c.ExtID == "" {
		t.Errorf("existing contact not updated and linked: %+v", c)
	}
	if !c.EmailBlacklisted || e.sentBlacklistFalse() {
		t.Errorf("a contact blocklisted in Brevo was resubscribed: %+v", c)
	}
	var created, updated int
	for _, call := range e.sim.Calls() {
		if call.Method == "POST" && call.Path == "/contacts" {
			if call.Status == 201 {
				created++
			} else if call.Status == 204 {
				updated++
			}
		}
	}
	if created != 1 || updated != 1 { // the seed, then our upsert
		t.Errorf("POST /contacts: %d created, %d updated; want the seed and one update", created, updated)
	}
}

func ptr[T any](v T) *T { return &v }

// brevoSim is the built-in simulator of m's destination named brevo; nil
// when it has an API key.
func brevoSim(m *Main) *brevosim.Server {
	bd, _ := m.destinations["brevo"].(*brevo.Destination)
	if bd == nil {
		return nil
	}
	return bd.Simulator()
}
