package klaviyo

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/klaviyo/klaviyospec"
)

// SetReconcilePage sets how many profiles or events each of d's
// reconciliation reads asks for, so a test can page through a few.
func SetReconcilePage(d *Destination, n int) { d.pages = n }

// TestReconcile_YieldsToDeliveries: with half or less of a bucket's steady
// budget left, Reconcile waits while a delivery on the same client goes
// at once; the same for the burst. Both clocks are frozen, so no window
// resets during the test.
func TestReconcile_YieldsToDeliveries(t *testing.T) {
	t.Parallel()
	frozen := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	open := func(t *testing.T, limits map[string]klaviyosim.Limit) (*Destination, *klaviyosim.Server, *int) {
		sim := klaviyosim.New(klaviyosim.Options{APIKey: "pk_test", Validate: klaviyospec.Load(t).Validate, Limits: limits,
			Now: func() time.Time { return frozen }})
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		dest, err := Open("klaviyo", json.RawMessage(`{"api_key":"pk_test","base_url":"`+srv.URL+`"}`), synclayer.DestinationEnv{})
		if err != nil {
			t.Fatal(err)
		}
		d := dest.(*Destination)
		var mu sync.Mutex
		waits := 0
		d.client.limits.now = func() time.Time { return frozen }
		d.client.limits.onWait = func(string, time.Duration) { mu.Lock(); waits++; mu.Unlock() }
		t.Cleanup(func() {
			if v := sim.Violations(); len(v) != 0 {
				t.Errorf("requests the spec rejects: %q", v)
			}
			for _, c := range sim.Calls() {
				if c.Status == 429 {
					t.Errorf("%s %s answered 429", c.Method, c.Path)
				}
			}
		})
		return d, sim, &waits
	}
	ctx := context.Background()
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}

	t.Run("Steady", func(t *testing.T) {
		d, sim, waits := open(t, map[string]klaviyosim.Limit{"profiles": {Steady: 10}, "metrics": {Steady: 10}})
		sim.PutProfile(klaviyosim.Profile{Email: "a@example.com"})
		if _, _, _, err := d.Reconcile(ctx, "", frozen, nil); err != nil { // metrics 9 left, profiles 9 left: they go
			t.Fatalf("Reconcile with 9 of 10 left: %v", err)
		}
		for range 4 { // 5 left
			if _, err := d.client.FindProfiles(ctx, "email", "a@example.com", false); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, _, err := d.Reconcile(short(), "", frozen, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Reconcile with 5 of 10 left: %v, want it to wait for the window", err)
		}
		if _, err := d.client.FindProfiles(ctx, "email", "a@example.com", false); err != nil {
			t.Fatalf("a delivery with 5 of 10 left: %v", err)
		}
		reads := sim.Count(func(c klaviyosim.Call) bool { return strings.Contains(c.Path, "suppression.timestamp") })
		if reads != 1 || *waits != 0 {
			t.Errorf("%d reads of the suppressed profiles (want 1: the second waited unsent), %d OnRateLimitWait calls (want 0)", reads, *waits)
		}
	})

	t.Run("Burst", func(t *testing.T) {
		d, _, waits := open(t, map[string]klaviyosim.Limit{"metrics": {Burst: 4, Steady: 100}})
		limits := maps.Clone(Buckets)
		limits["metrics"] = Limit{Burst: 4, Steady: 100}
		d.client.limits.limits = limits
		for range 2 { // half of the burst, by the background read
			if _, err := d.client.ListMetrics(ctx, true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.client.ListMetrics(short(), true); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a background read past half the burst: %v, want it to wait", err)
		}
		for range 2 {
			if _, err := d.client.ListMetrics(ctx, false); err != nil {
				t.Fatalf("a foreground read with half the burst left: %v", err)
			}
		}
		if *waits != 0 {
			t.Errorf("%d OnRateLimitWait calls, want 0", *waits)
		}
	})
}
