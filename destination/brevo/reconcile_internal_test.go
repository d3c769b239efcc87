package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
)

// SetReconcilePage sets how many contacts each of d's reconciliation reads
// asks for, so a test can page through a few contacts.
func SetReconcilePage(d *Destination, n int) { d.reconcilePage = n }

// TestReconcile_YieldsToDeliveries: with half or less of the contacts
// bucket left, Reconcile waits while a delivery on the same client goes at
// once. Both clocks are frozen, so no window resets during the test.
func TestReconcile_YieldsToDeliveries(t *testing.T) {
	t.Parallel()
	frozen := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-test", RateLimit: 10, Validate: brevospec.Load(t).Validate, Now: func() time.Time { return frozen }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dest, err := Open("brevo", json.RawMessage(`{"api_key":"xkeysib-test","base_url":"`+srv.URL+`/v3","webhook":{"reconcile_interval":"15m"}}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	d := dest.(*Destination)
	var mu sync.Mutex
	waits := 0
	d.client.limits.now = func() time.Time { return frozen }
	d.client.limits.onWait = func(string, time.Duration) { mu.Lock(); waits++; mu.Unlock() }
	ctx := context.Background()
	if _, err := d.client.CreateContact(ctx, CreateContactRequest{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := d.Reconcile(ctx, "", frozen, nil); err != nil { // 9 left: it goes
		t.Fatalf("Reconcile with 9 of 10 left: %v", err)
	}
	for range 3 { // 5 left
		if _, err := d.client.GetContact(ctx, "a@example.com", IdentifierEmail); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, _, _, err := d.Reconcile(short, "", frozen, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reconcile with 5 of 10 left: %v, want it to wait for the window", err)
	}
	if _, err := d.client.GetContact(ctx, "a@example.com", IdentifierEmail); err != nil {
		t.Fatalf("a delivery with 5 of 10 left: %v", err)
	}
	for _, c := range sim.Calls() {
		if c.Status == 429 {
			t.Errorf("%s %s answered 429", c.Method, c.Path)
		}
	}
	gets := 0
	for _, c := range sim.Calls() {
		if c.Method == "GET" && strings.HasPrefix(c.Path, "/contacts?") {
			gets++
		}
	}
	if gets != 1 || waits != 0 {
		t.Errorf("%d reads of GET /contacts (want 1: the second waited unsent), %d OnRateLimitWait calls (want 0)", gets, waits)
	}
	if v := sim.Violations(); len(v) != 0 {
		t.Errorf("requests the spec rejects: %q", v)
	}
}
