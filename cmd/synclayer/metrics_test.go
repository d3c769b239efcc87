package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// scrape is one /metrics answer: each sample line's series ("name{labels}")
// to its value.
type scrape map[string]float64

func (e *env) scrape(key string) scrape {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+"/metrics", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	out := scrape{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("bad sample line %q", line)
		}
		out[normalSeries(line[:i])] = v
	}
	return out
}

// normalSeries sorts a series' labels, so lookups need not know the order
// the exposition uses. Our label values hold no commas or quotes.
func normalSeries(series string) string {
	name, labels, ok := strings.Cut(series, "{")
	if !ok {
		return series
	}
	parts := strings.Split(strings.TrimSuffix(labels, "}"), ",")
	slices.Sort(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// get returns the value of the series name with exactly these labels,
// given as "k=v", and whether it exists.
func (s scrape) get(name string, labels ...string) (float64, bool) {
	key := name
	if len(labels) > 0 {
		parts := make([]string, len(labels))
		for i, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			parts[i] = fmt.Sprintf("%s=%q", k, v)
		}
		key += "{" + strings.Join(parts, ",") + "}"
	}
	v, ok := s[normalSeries(key)]
	return v, ok
}

func (s scrape) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.get(name, labels...)
	if !ok {
		t.Fatalf("series %s%v missing from /metrics", name, labels)
	}
	return v
}

// TestMetrics_MoveWithTraffic scrapes a running server before and after
// traffic: every documented series exists from the start, and each one
// moves with what it counts.
func TestMetrics_MoveWithTraffic(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	cs := []string{"destination=brevo", "skill=customer-sync"}
	accepted := []string{"outcome=accepted", "source=shopify"}
	delivered := append(cs[:1:1], "outcome=delivered", "skill=customer-sync")
	dead := append(cs[:1:1], "outcome=dead", "skill=customer-sync")
	rl := []string{"bucket=contacts", "destination=brevo"}

	before := e.scrape("")
	for _, series := range []struct {
		name   string
		labels []string
	}{
		{"synclayer_webhooks_received_total", accepted},
		{"synclayer_webhooks_received_total", []string{"outcome=duplicate", "source=shopify"}},
		{"synclayer_webhooks_received_total", []string{"outcome=rejected", "source=shopify"}},
		{"synclayer_deliveries_total", delivered},
		{"synclayer_deliveries_total", append(cs[:1:1], "outcome=retried", "skill=customer-sync")},
		{"synclayer_deliveries_total", dead},
		{"synclayer_delivery_latency_seconds_count", cs},
		{"synclayer_delivery_latency_seconds_bucket", append(cs[:1:1], "le=0.005", "skill=customer-sync")},
		{"synclayer_delivery_latency_seconds_bucket", append(cs[:1:1], "le=3600", "skill=customer-sync")},
		{"synclayer_queue_jobs", []string{"destination=brevo", "skill=customer-sync", "state=pending"}},
		{"synclayer_queue_jobs", []string{"destination=brevo", "skill=customer-sync", "state=running"}},
		{"synclayer_queue_jobs", []string{"destination=brevo", "skill=customer-sync", "state=dead"}},
		{"synclayer_dead_letter_jobs", []string{"destination=brevo", "skill=customer-sync"}},
		{"synclayer_rate_limit_waits_total", rl},
		{"synclayer_rate_limit_wait_seconds_total", rl},
	} {
		if v := before.must(t, series.name, series.labels...); v != 0 {
			t.Errorf("%s%v = %v before any traffic, want 0", series.name, series.labels, v)
		}
	}
	if _, ok := before.get("go_goroutines"); !ok {
		t.Error("the Go runtime series are missing")
	}

	// Three new customers are accepted and delivered.
	for i := range 3 {
		if status, _ := e.shopify("customers/create", shopifyCustomer(int64(5001+i), fmt.Sprintf("m%d@example.com", i), "M", 0, "subscribed", 0)); status != 200 {
			t.Fatalf("webhook %d: %d", i, status)
		}
	}
	e.waitIdle(10 * time.Second)
	after := e.scrape("")
	if v := after.must(t, "synclayer_webhooks_received_total", accepted...); v != 3 {
		t.Errorf("accepted webhooks: %v, want 3", v)
	}
	if v := after.must(t, "synclayer_deliveries_total", delivered...); v != 3 {
		t.Errorf("delivered: %v, want 3", v)
	}
	if v := after.must(t, "synclayer_delivery_latency_seconds_count", cs...); v != 3 {
		t.Errorf("latency observations: %v, want 3", v)
	}
	if v := after.must(t, "synclayer_delivery_latency_seconds_sum", cs...); v <= 0 {
		t.Errorf("latency sum: %v, want > 0", v)
	}

	// A redelivery is deduplicated; a bad signature and an unknown source
	// are rejected, the latter under "unknown" so probes add no series.
	body := mustMarshal(shopifyCustomer(5001, "m0@example.com", "M", 0, "subscribed", 0))
	h := shopifyHeaders("customers/create", "metrics-dup", body, shopifySecret)
	e.post("/webhooks/shopify", body, h)
	if _, reply := e.post("/webhooks/shopify", body, h); reply["status"] != "duplicate" {
		t.Fatalf("redelivery: %v", reply)
	}
	e.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "metrics-bad", body, "wrong-secret"))
	e.post("/webhooks/magento", body, http.Header{})

	// A job whose contact is gone fails for good and is dead-lettered.
	e.deadLetter("ct_gone")

	// A rate limit of 1 request a second makes the client wait.
	e.sim.SetRateLimit(1)
	for i := range 3 {
		e.shopify("customers/create", shopifyCustomer(int64(5101+i), fmt.Sprintf("rl%d@example.com", i), "R", 0, "", 0))
	}
	e.waitIdle(30 * time.Second)

	final := e.scrape("")
	for _, c := range []struct {
		what   string
		name   string
		labels []string
		want   float64
	}{
		{"deduplicated", "synclayer_webhooks_received_total", []string{"outcome=duplicate", "source=shopify"}, 1},
		{"rejected (bad signature)", "synclayer_webhooks_received_total", []string{"outcome=rejected", "source=shopify"}, 1},
		{"rejected (unknown source)", "synclayer_webhooks_received_total", []string{"outcome=rejected", "source=unknown"}, 1},
		{"accepted", "synclayer_webhooks_received_total", accepted, 3 + 1 + 3},
		{"dead-lettered attempts", "synclayer_deliveries_total", dead, 1},
		{"dead-letter size", "synclayer_dead_letter_jobs", []string{"destination=brevo", "skill=customer-sync"}, 1},
		{"dead jobs in the queue", "synclayer_queue_jobs", []string{"destination=brevo", "skill=customer-sync", "state=dead"}, 1},
		{"pending jobs", "synclayer_queue_jobs", []string{"destination=brevo", "skill=customer-sync", "state=pending"}, 0},
	} {
		if v := final.must(t, c.name, c.labels...); v != c.want {
			t.Errorf("%s: %s%v = %v, want %v", c.what, c.name, c.labels, v, c.want)
		}
	}
	if v := final.must(t, "synclayer_deliveries_total", delivered...); v != 3+3 {
		t.Errorf("delivered after the rate-limited burst: %v, want 6", v)
	}
	if v := final.must(t, "synclayer_rate_limit_waits_total", rl...); v < 1 {
		t.Errorf("rate-limit waits: %v, want at least 1", v)
	}
	if v := final.must(t, "synclayer_rate_limit_wait_seconds_total", rl...); v <= 0 {
		t.Errorf("rate-limit wait seconds: %v, want > 0", v)
	}
	for series := range final {
		if strings.Contains(series, "magento") {
			t.Errorf("a probed source name became a label: %s", series)
		}
	}
}

// deadLetter queues a customer-sync delivery for a contact that does not
// exist, which the worker dead-letters as a permanent failure, and waits
// for it.
func (e *env) deadLetter(record string) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.m.DB.Tx(ctx, func(tx synclayer.Tx) error {
		return tx.EnqueueJob(ctx, "customer-sync", "brevo", record, time.Now())
	}); err != nil {
		e.t.Fatal(err)
	}
	e.m.wake("")
	e.waitIdle(10 * time.Second)
}

// TestMetrics_Auth checks that /metrics is open by default and takes a
// viewer key with server.metrics_auth.
func TestMetrics_Auth(t *testing.T) {
	t.Parallel()
	open := startEnv(t, brevosim.Options{})
	open.scrape("")

	e := startEnv(t, brevosim.Options{}, func(c *Config) { c.Server.MetricsAuth = true })
	resp, err := http.Get(e.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("GET /metrics without a key: %d, want 401", resp.StatusCode)
	}
	if _, ok := e.scrape(e.apiKey(synclayer.RoleViewer)).get("synclayer_dead_letter_jobs", "destination=brevo", "skill=customer-sync"); !ok {
		t.Error("a viewer key got no synclayer series")
	}
}
