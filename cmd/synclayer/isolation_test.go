package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
)

// gate wraps a simulator to count requests in flight and to fail or slow
// chosen paths, standing in for a Brevo that is partly down or slow.
type gate struct {
	next http.Handler

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	fail        func(r *http.Request) bool
	delay       func(r *http.Request) time.Duration
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	fail, delay := g.fail, g.delay
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.inFlight--; g.mu.Unlock() }()
	if delay != nil {
		time.Sleep(delay(r))
	}
	if fail != nil && fail(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"code":"internal_error","message":"simulated outage"}`)
		return
	}
	g.next.ServeHTTP(w, r)
}

func gatedSimulator(t *testing.T, g *gate) (*brevosim.Server, string) {
	t.Helper()
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-e2e", Validate: brevospec.Load(t).Validate})
	g.next = sim
	hs := httptest.NewServer(g)
	t.Cleanup(hs.Close)
	return sim, hs.URL + "/v3"
}

// A slow Brevo holds at most queue.max_concurrency deliveries at once
// (each worker raises its concurrency from queue.concurrency while every
// slot is in use), and contacts keep flowing at that concurrency rather
// than one at a time.
func TestDelivery_SlowResponsesUseTheConcurrency(t *testing.T) {
	t.Parallel()
	g := &gate{delay: func(r *http.Request) time.Duration {
		if r.Method == "POST" && r.URL.Path == "/v3/contacts" {
			return 300 * time.Millisecond
		}
		return 0
	}}
	sim, url := gatedSimulator(t, g)
	e := startEnv(t, brevosim.Options{}, withBrevo(url), func(c *Config) { c.Queue.Concurrency, c.Queue.MaxConcurrency = 4, 6 })
	for i := range 16 {
		e.shopify("customers/create", shopifyCustomer(int64(5000+i), fmt.Sprintf("slow%d@example.com", i), "S", 0, "subscribed", 0))
	}
	e.waitIdle(30 * time.Second)
	if n := len(sim.Contacts()); n != 16 {
		t.Fatalf("Brevo has %d contacts, want 16", n)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.maxInFlight > 6 {
		t.Errorf("%d requests in flight at once, above queue.max_concurrency 6", g.maxInFlight)
	}
	if g.maxInFlight < 2 {
		t.Errorf("at most %d request in flight: one slow contact blocked the others", g.maxInFlight)
	}
}

// While Brevo's product endpoint is down, contacts and orders still sync:
// each skill has its own worker and queue.
func TestDelivery_FailingSkillDoesNotStallAnother(t *testing.T) {
	t.Parallel()
	g := &gate{fail: func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, "/v3/products") || strings.HasPrefix(r.URL.Path, "/v3/categories")
	}}
	sim, url := gatedSimulator(t, g)
	e := startEnv(t, brevosim.Options{}, withBrevo(url), withCommerce())
	e.mustAccept(e.shopify("products/create", shopifyProduct(1, 10, "a pod")))
	for i := range 5 {
		e.mustAccept(e.shopify("customers/create", shopifyCustomer(int64(6000+i), fmt.Sprintf("iso%d@example.com", i), "I", 0, "subscribed", 0)))
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(sim.Contacts()) < 5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sim.Contacts()); n != 5 {
		t.Fatalf("Brevo has %d contacts while products fail, want 5", n)
	}
	counts, err := e.m.DB.CountJobsBySkill(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if counts["product-catalog"]["pending"]+counts["product-catalog"]["running"] == 0 {
		t.Errorf("the failing product job is not waiting to retry: %v", counts)
	}
	// Once products come back, the waiting job delivers too.
	g.mu.Lock()
	g.fail = nil
	g.mu.Unlock()
	e.waitIdle(60 * time.Second)
}
