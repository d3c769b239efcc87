package queue_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/queue"
	"synclayer/store"
	"synclayer/store/storetest"
)

type handlerFunc func(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error)

func (f handlerFunc) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	return f(ctx, job)
}

// clock is a test clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)} }
func enqueue(t *testing.T, s synclayer.Store, key string, now time.Time) {
	t.Helper()
	if err := s.Tx(context.Background(), func(tx synclayer.Tx) error { return tx.EnqueueJob(context.Background(), "sk", "dest", key, now) }); err != nil {
		t.Fatal(err)
	}
}

// runUntil runs the worker until cond holds or the timeout passes.
func runUntil(t *testing.T, w *queue.Worker, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("condition not reached")
		}
		w.Wake()
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func jobs(t *testing.T, s synclayer.Store, state synclayer.JobState) []*synclayer.Job {
	j, err := s.FindJobs(context.Background(), synclayer.JobFilter{State: state})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestWorker_RetriesThenDelivers(t *testing.T) {
	s := storetest.OpenSQLite(t)
	clk := newClock()
	enqueue(t, s, "ct_1", clk.Now())
	var mu sync.Mutex
	attempts := 0
	w := queue.New(queue.Config{Store: s, Skill: "sk", Poll: time.Millisecond, Now: clk.Now, Lease: 1000 * time.Hour,
		Handler: handlerFunc(func(ctx context.Context, j *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
			mu.Lock()
			defer mu.Unlock()
			attempts++
			if attempts < 3 {
				return nil, nil, errors.New("503 from destination")
			}
			return nil, nil, nil
		})})
	runUntil(t, w, func() bool {
		clk.Add(10 * time.Second) // past any backoff of the first attempts
		return len(jobs(t, s, synclayer.JobDone)) == 1
	})
	if attempts != 3 {
		t.Errorf("%d attempts, want 3", attempts)
	}
}

func TestWorker_PermanentErrorDeadLetters(t *testing.T) {
	s := storetest.OpenSQLite(t)
	clk := newClock()
	enqueue(t, s, "ct_1", clk.Now())
	w := queue.New(queue.Config{Store: s, Skill: "sk", Poll: time.Millisecond, Now: clk.Now,
		Handler: handlerFunc(func(context.Context, *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
			return nil, nil, synclayer.Permanent(errors.New("400 invalid_parameter: SMS"))
		})})
	runUntil(t, w, func() bool { return len(jobs(t, s, synclayer.JobDead)) == 1 })
	dead := jobs(t, s, synclayer.JobDead)[0]
	if dead.LastError != "400 invalid_parameter: SMS" || dead.Attempts != 1 {
		t.Errorf("dead job %+v", dead)
	}
	trace, _ := s.Trace(context.Background(), "ct_1")
	if len(trace) != 1 {
		t.Errorf("trace entries %d, want the dead-letter entry", len(trace))
	}
}

func TestWorker_RetryWindowEnds(t *testing.T) {
	s := storetest.OpenSQLite(t)
	clk := newClock()
	enqueue(t, s, "ct_1", clk.Now())
	// The test clock jumps 10 minutes at a time, so the lease must outlast
	// the jumps or an attempt in flight would be recovered under it.
	w := queue.New(queue.Config{Store: s, Skill: "sk", Poll: time.Millisecond, Now: clk.Now, MaxAge: time.Hour, Lease: 1000 * time.Hour,
		Handler: handlerFunc(func(context.Context, *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
			return nil, nil, errors.New("connection refused")
		})})
	runUntil(t, w, func() bool {
		clk.Add(10 * time.Minute)
		return len(jobs(t, s, synclayer.JobDead)) == 1
	})
	if dead := jobs(t, s, synclayer.JobDead)[0]; dead.Attempts < 2 {
		t.Errorf("dead after %d attempts, want several retries first", dead.Attempts)
	}
}

func TestWorker_RetryAfterIsRespected(t *testing.T) {
	s := storetest.OpenSQLite(t)
	clk := newClock()
	enqueue(t, s, "ct_1", clk.Now())
	w := queue.New(queue.Config{Store: s, Skill: "sk", Poll: time.Millisecond, Now: clk.Now,
		Handler: handlerFunc(func(context.Context, *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
			return nil, nil, synclayer.RetryAfter(errors.New("429"), 42*time.Second)
		})})
	var p *synclayer.Job
	runUntil(t, w, func() bool {
		pending := jobs(t, s, synclayer.JobPending)
		if len(pending) == 1 && pending[0].Attempts == 1 {
			p = pending[0]
		}
		return p != nil
	})
	if wait := p.RunAt.Sub(clk.Now()); wait < 42*time.Second || wait > 43*time.Second {
		t.Errorf("retry scheduled in %s, want the 42 s the destination asked for", wait)
	}
}

func TestBackoff(t *testing.T) {
	w := queue.New(queue.Config{BaseBackoff: time.Second, MaxBackoff: time.Minute})
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 20: time.Minute} {
		for range 50 {
			if d := w.Backoff(attempt); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

// Deliveries that finish together are recorded together, and each one is
// recorded exactly once with its own sync state: the group commit must not
// drop, double or mix up any of them, on either database.
func TestWorker_GroupCompletionRecordsEveryJob(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			clk := newClock()
			const n = 200
			for i := range n {
				enqueue(t, s, "ct_"+strconv.Itoa(i), clk.Now())
			}
			w := queue.New(queue.Config{Store: s, Skill: "sk", Poll: time.Millisecond, Now: clk.Now, Lease: time.Hour, Concurrency: 16,
				Handler: handlerFunc(func(ctx context.Context, j *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
					time.Sleep(time.Millisecond) // let completions overlap
					return &synclayer.SyncState{RecordKey: j.RecordKey, Destination: "dest", State: []byte(`{"k":"` + j.RecordKey + `"}`)}, nil, nil
				})})
			runUntil(t, w, func() bool {
				c, err := s.CountJobs(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return c[synclayer.JobDone] == n
			})
			c, _ := s.CountJobs(context.Background())
			if c[synclayer.JobPending] != 0 || c[synclayer.JobRunning] != 0 || c[synclayer.JobDone] != n {
				t.Fatalf("jobs by state %v, want %d done and nothing else", c, n)
			}
			for i := range n {
				key := "ct_" + strconv.Itoa(i)
				st, err := s.FindSyncState(context.Background(), key, "dest")
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if string(st.State) != `{"k":"`+key+`"}` {
					t.Fatalf("%s holds %s, not its own state", key, st.State)
				}
			}
		})
	}
}
