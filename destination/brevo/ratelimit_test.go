package brevo_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
)

// TestClient_Throttle sends more than the limit from 8 goroutines: the
// client must spread the requests over the windows and meet no 429.
func TestClient_Throttle(t *testing.T) {
	t.Parallel()
	var waits atomic.Int64
	e := mustEnv(t,
		withSim(func(o *brevosim.Options) { o.RateLimit = 10 }),
		withConfig(func(c *brevo.Config) {
			c.OnRateLimitWait = func(bucket string, d time.Duration) {
				if bucket == "contacts" && d > 0 {
					waits.Add(1)
				}
			}
		}))
	e.sim.SetLatency(5 * time.Millisecond)

	const total, workers = 60, 8
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				req := brevo.CreateContactRequest{Email: fmt.Sprintf("p%d@example.com", i), UpdateEnabled: true}
				if _, err := e.client.CreateContact(context.Background(), req); err != nil {
					t.Errorf("request %d: %v", i, err)
				}
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	throttled := 0
	for _, c := range e.sim.Calls() {
		if c.Status == 429 {
			throttled++
		}
	}
	if throttled != 0 {
		t.Errorf("%d answers were 429", throttled)
	}
	if n := len(e.sim.Contacts()); n != total {
		t.Errorf("%d contacts, want %d", n, total)
	}
	// 60 requests at 10 per fixed one-second window span at least 6 windows.
	if elapsed < 4*time.Second {
		t.Errorf("took %v, faster than the limit allows", elapsed)
	}
	if waits.Load() == 0 {
		t.Error("OnRateLimitWait never called")
	}
	t.Logf("%d requests in %v, %d waits", total, elapsed, waits.Load())
}
