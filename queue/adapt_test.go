package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/queue"
	"synclayer/store/storetest"
)

// destinationAt is a destination that takes at most capacity requests at
// once and answers 429 above it, after latency; it counts what it saw.
type destinationAt struct {
	capacity int
	latency  time.Duration

	mu                   sync.Mutex
	inFlight, most, seen int
	throttled            int
}

func (d *destinationAt) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	d.mu.Lock()
	d.inFlight++
	d.seen++
	d.most = max(d.most, d.inFlight)
	over := d.capacity > 0 && d.inFlight > d.capacity
	if over {
		d.throttled++
	}
	d.mu.Unlock()
	defer func() { d.mu.Lock(); d.inFlight--; d.mu.Unlock() }()
	time.Sleep(d.latency)
	if over {
		return nil, nil, synclayer.Throttled(errors.New("429 too many requests"), time.Millisecond)
	}
	return nil, nil, nil
}

func enqueueMany(t *testing.T, s synclayer.Store, n int) {
	t.Helper()
	now := time.Now()
	if err := s.Tx(context.Background(), func(tx synclayer.Tx) error {
		for i := range n {
			if err := tx.EnqueueJob(context.Background(), "sk", "dest", fmt.Sprintf("ct_%d", i), now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWorker_ConcurrencyGrowsWhileTheDestinationKeepsUp: a backlog on a
// destination that takes everything is worked with more deliveries in
// flight than the configured start, toward the cap and never past it.
func TestWorker_ConcurrencyGrowsWhileTheDestinationKeepsUp(t *testing.T) {
	// Deliveries slow enough (20 ms) that the claims keep every slot
	// busy even on a loaded machine under -race: growth is counted in
	// rounds with all slots in use.
	s := storetest.OpenSQLite(t)
	enqueueMany(t, s, 300)
	d := &destinationAt{latency: 20 * time.Millisecond}
	w := queue.New(queue.Config{Store: s, Skill: "sk", Handler: d, Concurrency: 2, MaxConcurrency: 12, Poll: 5 * time.Millisecond})
	drain(t, w, s, 300)
	if got := w.Limit(); got < 6 || got > 12 {
		t.Errorf("limit after 300 deliveries without a refusal: %d, want it grown from 2 toward the cap of 12", got)
	}
	if d.most > 12 || d.most <= 2 {
		t.Errorf("at most %d deliveries in flight, want more than the start of 2 and no more than the cap of 12", d.most)
	}
}

// TestWorker_ConcurrencyBacksOffOnRateLimits: on a destination that takes
// 3 at once and answers 429 above that, the limit comes down to about
// what it takes, every job is delivered, and the refusals stay a small
// share of the requests.
func TestWorker_ConcurrencyBacksOffOnRateLimits(t *testing.T) {
	s := storetest.OpenSQLite(t)
	enqueueMany(t, s, 120)
	d := &destinationAt{capacity: 3, latency: 5 * time.Millisecond}
	w := queue.New(queue.Config{Store: s, Skill: "sk", Handler: d, Concurrency: 8, MaxConcurrency: 16, Poll: 5 * time.Millisecond})
	drain(t, w, s, 120)
	if got := w.Limit(); got > 6 {
		t.Errorf("limit %d after the destination kept refusing more than 3 at once, want it near 3", got)
	}
	if d.throttled > d.seen/4 {
		t.Errorf("%d of %d requests refused: the worker kept pressing a limit it was told of", d.throttled, d.seen)
	}
}

func done(t *testing.T, s synclayer.Store) int {
	t.Helper()
	n, err := s.CountJobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n[synclayer.JobDone]
}

// drain runs w until n jobs are done; a minute is ample even under the
// race detector on a busy machine.
func drain(t *testing.T, w *queue.Worker, s synclayer.Store, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()
	deadline := time.Now().Add(time.Minute)
	for done(t, s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs done after a minute", done(t, s), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
