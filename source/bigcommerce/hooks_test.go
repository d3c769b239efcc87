package bigcommerce_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/bigcommerce"
	"synclayer/source/bigcommerce/bigcommercesim"
)

const target = "https://sync.example.com/webhooks/bigcommerce"

func registrar(t *testing.T, extra map[string]any) (*bigcommercesim.Server, synclayer.HookRegistrar) {
	t.Helper()
	sim := bigcommercesim.New("abc123", "bc-token")
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return sim, open(t, hs.URL, extra).(synclayer.HookRegistrar)
}

func statuses(states []synclayer.HookState) map[string]int {
	n := map[string]int{}
	for _, s := range states {
		n[s.Status]++
	}
	return n
}

// TestHookTopics: each skill's scopes, sorted and once: customer-sync
// takes the newsletter subscribers, cart-events the store/cart/* scopes
// Parse reads.
func TestHookTopics(t *testing.T) {
	_, r := registrar(t, nil)
	if got := r.HookTopics([]string{"order-events", "customer-sync", "order-events"}); strings.Join(got, " ") !=
		"store/customer/created store/customer/deleted store/customer/updated store/order/archived store/order/created store/order/updated "+
			"store/subscriber/created store/subscriber/deleted store/subscriber/updated" {
		t.Fatalf("HookTopics = %v", got)
	}
	if got := r.HookTopics([]string{"cart-events"}); strings.Join(got, " ") !=
		"store/cart/abandoned store/cart/converted store/cart/created store/cart/deleted store/cart/updated" {
		t.Fatalf("cart-events = %v", got)
	}
	if len(bigcommerce.Scopes) != 17 {
		t.Fatalf("Scopes = %v", bigcommerce.Scopes)
	}
}

// TestRegisterHooks: missing hooks are created with the custom header; a
// second run changes nothing; a hook BigCommerce deactivated is checked
// inactive and reactivated; a hook at the old host is checked elsewhere
// and moved; hooks at other paths are left alone.
func TestRegisterHooks(t *testing.T) {
	sim, r := registrar(t, map[string]any{"header_name": "X-Synclayer-Token", "header_value": "hv"})
	ctx := context.Background()
	topics := r.HookTopics([]string{"order-events", "product-catalog"})
	other := sim.AddHook(bigcommercesim.Hook{Scope: "store/order/created", Destination: "https://sync.example.com/webhooks/another", IsActive: true})

	states, err := r.Hooks(ctx, target, topics)
	if err != nil || len(states) != 6 || statuses(states)[synclayer.HookMissing] != 6 {
		t.Fatalf("Hooks before = %+v, %v", states, err)
	}
	states, err = r.RegisterHooks(ctx, target, topics)
	if err != nil || len(states) != 6 || statuses(states)[synclayer.HookCreated] != 6 || states[0].ID == "" || states[0].URL != target {
		t.Fatalf("RegisterHooks = %+v, %v", states, err)
	}
	for _, h := range sim.Hooks() {
		if h.ID != other && (h.Destination != target || !h.IsActive || h.Headers["X-Synclayer-Token"] != "hv") {
			t.Fatalf("hook %+v", h)
		}
	}
	if states, err = r.RegisterHooks(ctx, target, topics); err != nil || statuses(states)[synclayer.HookUnchanged] != 6 || len(sim.Hooks()) != 7 {
		t.Fatalf("again = %+v, %v (%d hooks)", states, err, len(sim.Hooks()))
	}
	if states, err = r.Hooks(ctx, target, topics); err != nil || statuses(states)[synclayer.HookOK] != 6 {
		t.Fatalf("Hooks after = %+v, %v", states, err)
	}

	// BigCommerce deactivates a hook after 90 days without events.
	if !sim.SetHookActive("store/order/updated", target, false) {
		t.Fatal("no hook to deactivate")
	}
	states, _ = r.Hooks(ctx, target, topics)
	if n := statuses(states); n[synclayer.HookInactive] != 1 || n[synclayer.HookOK] != 5 {
		t.Fatalf("Hooks with one deactivated = %+v", states)
	}
	for _, s := range states {
		if s.Status == synclayer.HookInactive && (s.Topic != "store/order/updated" || !strings.Contains(s.Detail, "is_active")) {
			t.Fatalf("inactive row %+v", s)
		}
	}
	states, err = r.RegisterHooks(ctx, target, topics)
	if n := statuses(states); err != nil || n[synclayer.HookUpdated] != 1 || n[synclayer.HookUnchanged] != 5 {
		t.Fatalf("RegisterHooks with one deactivated = %+v, %v", states, err)
	}
	if states, _ = r.Hooks(ctx, target, topics); statuses(states)[synclayer.HookOK] != 6 {
		t.Fatalf("after reactivating: %+v", states)
	}

	// The public URL moved: every hook is elsewhere, then moved, none added.
	moved := "https://new.example.com/webhooks/bigcommerce"
	states, _ = r.Hooks(ctx, moved, topics)
	if statuses(states)[synclayer.HookElsewhere] != 6 || states[0].URL != target {
		t.Fatalf("Hooks at a new host = %+v", states)
	}
	states, err = r.RegisterHooks(ctx, moved, topics)
	if err != nil || statuses(states)[synclayer.HookUpdated] != 6 || len(sim.Hooks()) != 7 || !strings.Contains(states[0].Detail, target) {
		t.Fatalf("RegisterHooks at a new host = %+v, %v", states, err)
	}
	if states, _ = r.Hooks(ctx, moved, topics); statuses(states)[synclayer.HookOK] != 6 {
		t.Fatalf("after moving: %+v", states)
	}
	for _, h := range sim.Hooks() {
		if h.ID == other && h.Destination != "https://sync.example.com/webhooks/another" {
			t.Fatalf("another source's hook was moved: %+v", h)
		}
	}
}

// TestRegisterHooks_Errors: a destination BigCommerce does not deliver to
// is refused before any call; a refused token is Permanent and names
// access_token; a 429 is Throttled.
func TestRegisterHooks_Errors(t *testing.T) {
	sim, r := registrar(t, nil)
	ctx := context.Background()
	topics := r.HookTopics([]string{"customer-sync"})
	for _, bad := range []string{"http://sync.example.com/webhooks/b", "https://sync.example.com:8443/webhooks/b"} {
		if _, err := r.RegisterHooks(ctx, bad, topics); err == nil || !strings.Contains(err.Error(), "BigCommerce delivers") {
			t.Errorf("RegisterHooks(%s): %v", bad, err)
		}
	}
	if len(sim.Hooks()) != 0 {
		t.Fatalf("hooks made: %+v", sim.Hooks())
	}
	sim.RateLimitNext(1)
	var ra *synclayer.RetryAfterError
	if _, err := r.Hooks(ctx, target, topics); !errors.As(err, &ra) || !ra.Throttled || ra.After != 50*time.Millisecond {
		t.Fatalf("a 429: %v", err)
	}
	hs := httptest.NewServer(sim)
	defer hs.Close()
	bad := open(t, hs.URL, map[string]any{"access_token": "stale-token-xyz"}).(synclayer.HookRegistrar)
	var perm *synclayer.PermanentError
	if _, err := bad.RegisterHooks(ctx, target, topics); !errors.As(err, &perm) || !strings.Contains(err.Error(), "access_token") || strings.Contains(err.Error(), "stale-token-xyz") {
		t.Fatalf("a refused token: %v", err)
	}
}

// TestHooks_Paged: hooks past the first page of /v3/hooks are read, so
// a store with many hooks gets no duplicate.
func TestHooks_Paged(t *testing.T) {
	sim, r := registrar(t, nil)
	ctx := context.Background()
	topics := r.HookTopics([]string{"product-catalog"})
	for i := range 260 {
		sim.AddHook(bigcommercesim.Hook{Scope: "store/cart/created", Destination: "https://other.example.com/h/" + strings.Repeat("x", i%7), IsActive: true})
	}
	if _, err := r.RegisterHooks(ctx, target, topics); err != nil {
		t.Fatal(err)
	}
	if states, err := r.RegisterHooks(ctx, target, topics); err != nil || statuses(states)[synclayer.HookUnchanged] != 3 || len(sim.Hooks()) != 263 {
		t.Fatalf("again = %+v, %v (%d hooks)", states, err, len(sim.Hooks()))
	}
}

// TestHooks_Wildcard: a store/customer/* hook at the URL covers the
// customer scopes (no duplicate is made); one on the old host is moved
// once and stays a wildcard.
func TestHooks_Wildcard(t *testing.T) {
	sim, r := registrar(t, nil)
	ctx := context.Background()
	topics := r.HookTopics([]string{"customer-sync"})[:3] // the store/customer/* scopes
	id := sim.AddHook(bigcommercesim.Hook{Scope: "store/customer/*", Destination: "https://old.example.com/webhooks/bigcommerce", IsActive: true})
	states, err := r.Hooks(ctx, target, topics)
	if err != nil || statuses(states)[synclayer.HookElsewhere] != 3 || !strings.Contains(states[0].Detail, "store/customer/*") {
		t.Fatalf("Hooks = %+v, %v", states, err)
	}
	states, err = r.RegisterHooks(ctx, target, topics)
	if n := statuses(states); err != nil || n[synclayer.HookUpdated] != 1 || n[synclayer.HookUnchanged] != 2 || len(sim.Hooks()) != 1 {
		t.Fatalf("RegisterHooks = %+v, %v; hooks %+v", states, err, sim.Hooks())
	}
	if h := sim.Hooks()[0]; h.ID != id || h.Scope != "store/customer/*" || h.Destination != target {
		t.Fatalf("hook %+v", h)
	}
	if states, _ = r.Hooks(ctx, target, topics); statuses(states)[synclayer.HookOK] != 3 {
		t.Fatalf("after: %+v", states)
	}
}
