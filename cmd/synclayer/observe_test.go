package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"synclayer/destination/brevo/brevosim"
)

// waitFor polls f until it returns true, or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetrics_BuildInfoAndOldestPending checks synclayer_build_info, and
// that the oldest-pending age grows while the destination is down and
// reads 0 once the job is delivered (the series stays, at 0, for a
// configured queue with nothing pending).
func TestMetrics_BuildInfoAndOldestPending(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	oldest := []string{"destination=brevo", "skill=customer-sync"}
	s := e.scrape("")
	b := buildInfo()
	if v := s.must(t, "synclayer_build_info", "commit="+b.Commit, "go_version="+runtime.Version(), "version="+b.Version); v != 1 {
		t.Errorf("build_info = %v, want 1", v)
	}
	if v := s.must(t, "synclayer_queue_oldest_pending_seconds", oldest...); v != 0 {
		t.Errorf("oldest pending with an empty queue: %v, want 0", v)
	}

	e.sim.SetOutage(brevosim.Outage500)
	if status, _ := e.shopify("customers/create", shopifyCustomer(7001, "old@example.com", "O", 0, "subscribed", 0)); status != 200 {
		t.Fatalf("webhook: %d", status)
	}
	var first float64
	waitFor(t, 10*time.Second, "a pending job with an age", func() bool {
		first, _ = e.scrape("").get("synclayer_queue_oldest_pending_seconds", oldest...)
		return first > 0
	})
	time.Sleep(1200 * time.Millisecond)
	waitFor(t, 10*time.Second, "the age to grow past a second more", func() bool {
		v, _ := e.scrape("").get("synclayer_queue_oldest_pending_seconds", oldest...)
		return v >= first+1
	})

	e.sim.SetOutage(brevosim.OutageNone)
	e.waitIdle(30 * time.Second)
	if v := e.scrape("").must(t, "synclayer_queue_oldest_pending_seconds", oldest...); v != 0 {
		t.Errorf("oldest pending after delivery: %v, want 0", v)
	}
}

// TestMetrics_HTTPDurationByRoute checks that requests are counted under
// the route pattern that matched, never the raw path.
func TestMetrics_HTTPDurationByRoute(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	for _, path := range []string{"/api/v1/contacts/ct_123", "/api/v1/contacts/ct_456", "/no/such/page"} {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	s := e.scrape("")
	if v := s.must(t, "synclayer_http_request_duration_seconds_count", "code=401", "method=GET", "route=GET /api/v1/contacts/{id}"); v != 2 {
		t.Errorf("contact requests under their pattern: %v, want 2", v)
	}
	if v := s.must(t, "synclayer_http_request_duration_seconds_count", "code=404", "method=GET", "route=unmatched"); v != 1 {
		t.Errorf("unmatched requests: %v, want 1", v)
	}
	for series := range s {
		if strings.Contains(series, "ct_123") || strings.Contains(series, "/no/such") {
			t.Errorf("a raw path became a label: %s", series)
		}
	}
}

// TestAccess_LogAndRequestID checks the access log: one line per request
// with its request id, a valid incoming X-Request-Id kept and echoed, an
// invalid one replaced, and neither the Authorization header nor a
// webhook's body in the log; health checks are logged at DEBUG only.
func TestAccess_LogAndRequestID(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	get := func(path, requestID string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", e.base+path, nil)
		req.Header.Set("Authorization", "Bearer sl_never_logged_9f8e7d")
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Request-Id")
	}
	if got := get("/api/v1/contacts/ct_9?email=secret-query@example.com", "req-1.A_b"); got != "req-1.A_b" {
		t.Errorf("X-Request-Id echoed as %q, want the client's", got)
	}
	generated := get("/api/v1/contacts/ct_9", "bad id\"with quotes")
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(generated) {
		t.Errorf("an invalid X-Request-Id was answered with %q, want a generated id", generated)
	}
	get("/healthz", "health-1")
	if status, _ := e.shopify("customers/create", shopifyCustomer(7101, "body-marker@example.com", "Bodymarker", 0, "subscribed", 0)); status != 200 {
		t.Fatalf("webhook: %d", status)
	}
	e.waitIdle(10 * time.Second)

	logs := e.logs.String()
	lines := func(substr string) []string {
		var out []string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "http request") && strings.Contains(l, substr) {
				out = append(out, l)
			}
		}
		return out
	}
	kept := lines("request_id=req-1.A_b")
	if len(kept) != 1 {
		t.Fatalf("access lines with the client's request id: %d, want 1\n%s", len(kept), logs)
	}
	for _, want := range []string{"level=INFO", "method=GET", `route="GET /api/v1/contacts/{id}"`, "status=401", "duration_ms=", "bytes=", "remote=127.0.0.1"} {
		if !strings.Contains(kept[0], want) {
			t.Errorf("access line lacks %s: %s", want, kept[0])
		}
	}
	if len(lines("request_id="+generated)) != 1 {
		t.Errorf("no access line with the generated request id %s", generated)
	}
	if n := len(lines(`route="POST /webhooks/{source}"`)); n != 1 {
		t.Errorf("webhook access lines: %d, want 1", n)
	}
	if n := len(lines("request_id=health-1")); n != 0 {
		t.Errorf("a health check was logged at INFO")
	}
	for _, secret := range []string{"sl_never_logged_9f8e7d", "secret-query", "body-marker", "Bodymarker"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// otlpReceiver is an OTLP/HTTP trace collector: it keeps every span
// posted to /v1/traces.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			o.spans = append(o.spans, ss.GetSpans()...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (o *otlpReceiver) named(prefix string) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if strings.HasPrefix(s.GetName(), prefix) {
			out = append(out, s)
		}
	}
	return out
}

// TestTrace_WebhookToDestination runs with telemetry on against an
// in-process OTLP receiver: a signed webhook makes one trace, from the
// webhook's server span through ingest and the delivery to the Brevo
// call, and the webhook's access line carries its trace id.
func TestTrace_WebhookToDestination(t *testing.T) {
	t.Parallel()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	t.Cleanup(collector.Close)
	e := startEnv(t, brevosim.Options{}, func(c *Config) { c.Telemetry.OTLPEndpoint = collector.URL })
	if status, _ := e.shopify("customers/create", shopifyCustomer(7201, "traced@example.com", "T", 0, "subscribed", 0)); status != 200 {
		t.Fatalf("webhook: %d", status)
	}
	e.waitIdle(10 * time.Second)
	waitFor(t, 10*time.Second, "the spans to reach the collector", func() bool {
		_ = e.m.tel.flush(context.Background())
		return len(rcv.named("deliver customer-sync")) > 0 && len(rcv.named("webhook shopify")) > 0
	})

	one := func(name string) *tracepb.Span {
		t.Helper()
		got := rcv.named(name)
		if len(got) != 1 {
			t.Fatalf("spans named %q: %d, want 1", name, len(got))
		}
		return got[0]
	}
	webhook, ingest, deliver := one("webhook shopify"), one("ingest"), one("deliver customer-sync")
	if webhook.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("webhook span kind %v, want server", webhook.GetKind())
	}
	traceID := webhook.GetTraceId()
	if string(ingest.GetParentSpanId()) != string(webhook.GetSpanId()) {
		t.Error("ingest is not the webhook span's child")
	}
	if string(deliver.GetParentSpanId()) != string(ingest.GetSpanId()) {
		t.Error("the delivery is not the ingest span's child")
	}
	// The start's field check makes client spans of its own, outside any
	// webhook's trace; the delivery's calls are its children.
	var calls []*tracepb.Span
	for _, s := range rcv.named("") {
		if s.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
			continue
		}
		if strings.Contains(s.GetName(), "@") || strings.Contains(s.GetName(), "?") {
			t.Errorf("client span named with an email or a query: %q", s.GetName())
		}
		if string(s.GetParentSpanId()) == string(deliver.GetSpanId()) {
			calls = append(calls, s)
		}
	}
	if len(calls) == 0 {
		t.Fatal("no client span for the delivery's Brevo calls")
	}
	for _, s := range append(calls, ingest, deliver) {
		if string(s.GetTraceId()) != string(traceID) {
			t.Errorf("span %q is in another trace", s.GetName())
		}
	}

	hexID := hex.EncodeToString(traceID)
	found := false
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "http request") && strings.Contains(l, `route="POST /webhooks/{source}"`) {
			found = strings.Contains(l, "trace_id="+hexID)
		}
	}
	if !found {
		t.Errorf("the webhook's access line lacks trace_id=%s\n%s", hexID, e.logs.String())
	}
}
