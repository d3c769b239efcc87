// Package queue runs delivery jobs: claim with a lease → deliver → complete,
// retry with exponential backoff and jitter, or dead-letter. The clock is
// injected, and the store does the claiming, so several instances can share
// one PostgreSQL database.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"synclayer"
)

// Handler delivers one job. It returns what the destination now holds and a
// trace entry, or an error: a synclayer.Permanent error dead-letters the job,
// a synclayer.RetryAfter error retries no sooner than it says, and any other
// error retries with backoff.
type Handler interface {
	Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error)
}

// Outcome is how one delivery attempt ended, for metrics.
type Outcome string

const (
	OutcomeDelivered Outcome = "delivered"
	OutcomeRetried   Outcome = "retried"
	OutcomeDead      Outcome = "dead"
)

// Config configures a Worker.
type Config struct {
	Store   synclayer.Store
	Skill   string
	Handler Handler
	// Concurrency is how many deliveries start in flight at once; default
	// 4. The worker adapts it, additive increase and multiplicative
	// decrease: one more after as many deliveries in a row as are in
	// flight, up to MaxConcurrency, and half as many (at least one) on a
	// rate limit (synclayer.Throttled). So a backlog drains at the
	// destination's rate limit, not at Concurrency × its latency, and a
	// limit that tightens is met by fewer requests, not by a queue of
	// refused ones.
	Concurrency int
	// MaxConcurrency caps it; default 4 × Concurrency. Equal to
	// Concurrency, it stays fixed.
	MaxConcurrency int
	Lease          time.Duration // how long a claim holds a job without renewal; default 30 s
	// AttemptTimeout bounds one delivery attempt, rate-limit waits included;
	// default 2 min. The lease is renewed while the attempt runs.
	AttemptTimeout time.Duration
	Poll           time.Duration // how often to look for due jobs when not woken; default 500 ms
	MaxAge         time.Duration // after this long since the first change, a failing job is dead-lettered; default 24 h
	BaseBackoff    time.Duration // first retry delay; default 1 s
	MaxBackoff     time.Duration // cap on the retry delay; default 5 min
	Logger         *slog.Logger
	Now            func() time.Time
	// Observe, if set, is called after each attempt.
	Observe func(job *synclayer.Job, outcome Outcome, latency time.Duration)
	// Span, if set, starts each attempt's tracing span. The context it
	// returns carries through the attempt, to the handler's calls and the
	// worker's log lines about the job; end is told how the attempt ended
	// ("" when recording the outcome failed) and the handler's error.
	Span func(ctx context.Context, job *synclayer.Job) (context.Context, func(o Outcome, err error))
	// NoTrace leaves failed attempts out of the trace, for jobs whose
	// record is not a contact (notifications): the trace is a contact's
	// history.
	NoTrace bool
}

// Worker runs one skill's jobs.
type Worker struct {
	cfg  Config
	wake chan struct{}
	done completer

	mu       sync.Mutex
	limit    int // deliveries in flight now allowed
	streak   int // deliveries in a row, with the limit in use, since it last changed
	inFlight int
}

// New returns a Worker with defaults filled in.
func New(cfg Config) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 4 * cfg.Concurrency
	}
	cfg.MaxConcurrency = max(cfg.MaxConcurrency, cfg.Concurrency)
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Every line names the skill once, here, not at each call.
	cfg.Logger = cfg.Logger.With("skill", cfg.Skill)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1), done: completer{store: cfg.Store, now: cfg.Now}, limit: cfg.Concurrency}
}

// Limit is how many deliveries the worker now lets run at once.
func (w *Worker) Limit() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limit
}

// started counts a delivery in flight and reports whether, with it,
// every slot the limit allows is in use.
func (w *Worker) started() (busy bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight++
	return w.inFlight >= w.limit
}

// ended moves the limit after an attempt: half on a rate limit, one more
// after a full round of deliveries (as many as the limit) in a row that
// started with every slot in use (busy); deliveries of a thinning
// backlog, with slots to spare, prove nothing about more. Other failures
// (an outage, a bad record) leave it: they say nothing of how much the
// destination takes.
func (w *Worker) ended(o Outcome, err error, busy bool) {
	var ra *synclayer.RetryAfterError
	throttled := errors.As(err, &ra) && ra.Throttled
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight--
	switch {
	case throttled:
		w.limit, w.streak = max(1, w.limit/2), 0
	case o == OutcomeDelivered && busy:
		w.streak++
		if w.streak >= w.limit && w.limit < w.cfg.MaxConcurrency {
			w.limit, w.streak = w.limit+1, 0
		}
	}
}

// Wake makes the worker look for jobs now instead of at the next poll.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers jobs until ctx ends, then waits for deliveries in flight.
func (w *Worker) Run(ctx context.Context) {
	sem := make(chan struct{}, w.cfg.MaxConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.wake:
		}
		for {
			free := w.Limit() - len(sem)
			if free <= 0 {
				break
			}
			jobs, err := w.cfg.Store.ClaimJobs(ctx, w.cfg.Skill, free, w.cfg.Lease, w.cfg.Now())
			if err != nil {
				if ctx.Err() == nil {
					w.cfg.Logger.Warn("claim jobs failed; will retry", "err", err)
				}
				break
			}
			for _, j := range jobs {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done(); w.Wake() }()
					w.run(context.WithoutCancel(ctx), j)
				}()
			}
			if len(jobs) < free {
				break
			}
		}
		timer.Reset(w.cfg.Poll)
	}
}

// run makes one attempt. It runs detached from Run's context so that a
// shutdown lets the attempt finish and record its outcome; a kill loses
// only the lease, which expires and is recovered.
func (w *Worker) run(ctx context.Context, job *synclayer.Job) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout)
	defer cancel()
	busy := w.started()
	if w.cfg.Span == nil {
		o, err := w.attempt(ctx, job)
		w.ended(o, err, busy)
		return
	}
	ctx, end := w.cfg.Span(ctx, job)
	o, err := w.attempt(ctx, job)
	w.ended(o, err, busy)
	end(o, err)
}

// attempt delivers job and records the outcome, which it returns with the
// handler's error; the outcome is "" when recording it failed.
func (w *Worker) attempt(ctx context.Context, job *synclayer.Job) (Outcome, error) {
	stopRenew := w.renew(ctx, job)
	st, trace, err := w.cfg.Handler.Handle(ctx, job)
	stopRenew()
	now := w.cfg.Now()
	latency := now.Sub(job.FirstSeenAt)
	if err == nil {
		if trace != nil {
			trace.At = now
		}
		if err := w.done.complete(context.WithoutCancel(ctx), synclayer.Completion{Job: job, State: st, Trace: trace}); err != nil {
			w.cfg.Logger.ErrorContext(ctx, "record delivery", "job", job.ID, "err", err)
			return "", nil
		}
		w.observe(job, OutcomeDelivered, latency)
		if job.Attempts > 1 {
			// The destination answers again: let the backlog that backed
			// off during the outage run now rather than at its backoff.
			if err := w.cfg.Store.ExpediteRetries(context.WithoutCancel(ctx), job.Queue, now); err != nil {
				w.cfg.Logger.WarnContext(ctx, "expedite retries", "err", err)
			}
		}
		return OutcomeDelivered, nil
	}
	reason := err.Error()
	failTrace := &synclayer.TraceEntry{ContactID: job.RecordKey, At: now, Kind: synclayer.TraceDelivery}
	kept := failTrace // what the store appends to the record's trace
	if w.cfg.NoTrace {
		kept = nil
	}
	var perm *synclayer.PermanentError
	if errors.As(err, &perm) || now.Sub(job.FirstSeenAt) > w.cfg.MaxAge {
		if perm == nil {
			reason = fmt.Sprintf("retry window of %s ended after %d attempts; last error: %s", w.cfg.MaxAge, job.Attempts, reason)
		}
		failTrace.Summary = job.Destination + ": failed permanently, moved to the dead-letter queue: " + reason
		if derr := w.cfg.Store.DeadJob(context.WithoutCancel(ctx), job, reason, kept, now); derr != nil {
			w.cfg.Logger.ErrorContext(ctx, "dead-letter job", "job", job.ID, "err", derr)
			return "", err
		}
		w.cfg.Logger.WarnContext(ctx, "delivery failed permanently", "job", job.ID, "record", job.RecordKey, "reason", reason)
		w.observe(job, OutcomeDead, latency)
		return OutcomeDead, err
	}
	delay := Delay(job.Attempts, w.cfg.BaseBackoff, w.cfg.MaxBackoff, err)
	failTrace.Summary = fmt.Sprintf("%s: attempt %d failed, retrying in %s: %s", job.Destination, job.Attempts, delay.Round(time.Millisecond), reason)
	if rerr := w.cfg.Store.RetryJob(context.WithoutCancel(ctx), job, now.Add(delay), reason, kept, now); rerr != nil {
		w.cfg.Logger.ErrorContext(ctx, "reschedule job", "job", job.ID, "err", rerr)
		return "", err
	}
	w.cfg.Logger.InfoContext(ctx, "delivery failed; will retry", "job", job.ID, "attempt", job.Attempts, "in", delay.Round(time.Millisecond), "err", reason)
	w.observe(job, OutcomeRetried, latency)
	return OutcomeRetried, err
}

// renew extends the job's lease every third of a lease while the attempt
// runs. A lost lease (the process stalled past it and another worker
// recovered the job) is logged; the attempt still finishes, and since a
// delivery brings the destination to the current state, a second one is
// harmless.
func (w *Worker) renew(ctx context.Context, job *synclayer.Job) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(w.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.cfg.Store.ExtendLease(ctx, job, w.cfg.Now().Add(w.cfg.Lease)); err != nil && ctx.Err() == nil {
					w.cfg.Logger.WarnContext(ctx, "lost the lease on a job; another worker may deliver it", "job", job.ID, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Backoff returns the delay before retry number attempt, by Delay with
// the worker's BaseBackoff and MaxBackoff.
func (w *Worker) Backoff(attempt int) time.Duration {
	return Delay(attempt, w.cfg.BaseBackoff, w.cfg.MaxBackoff, nil)
}

// Delay returns the wait before retry number attempt after err:
// exponential from base, capped at maxDelay, with jitter of up to half
// the delay so that jobs failed together do not retry together, and at
// least what a RetryAfter error asks. A rate limit (synclayer.Throttled:
// a 429, a throttled call) is no failure to back off from: it waits what
// it asks, plus up to a tenth of it (250 ms to 1 s) so the jobs a limit
// held do not all come back at once, however many attempts the job has
// had, and a backlog drains at the limit's pace. The batch flusher
// retries by it too.
func Delay(attempt int, base, maxDelay time.Duration, err error) time.Duration {
	var ra *synclayer.RetryAfterError
	hasRA := errors.As(err, &ra) && ra.After > 0
	spread := func(d time.Duration) time.Duration {
		return d + time.Duration(rand.Int64N(int64(min(max(d/10, 250*time.Millisecond), time.Second))))
	}
	if hasRA && ra.Throttled {
		return spread(ra.After)
	}
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if hasRA && ra.After > d {
		d = spread(ra.After)
	}
	return d
}

func (w *Worker) observe(job *synclayer.Job, o Outcome, latency time.Duration) {
	if w.cfg.Observe != nil {
		w.cfg.Observe(job, o, latency)
	}
}

// completer records finished deliveries with group commit: while one
// transaction commits, the deliveries that finish meanwhile gather and
// share the next, so a busy worker pays one commit per batch rather than
// one per job. Each caller still returns only once its own completion is
// durable. Profiled on PostgreSQL, the commit's WAL flush was most of what
// a delivery waited for.
type completer struct {
	store synclayer.Store
	now   func() time.Time

	mu      sync.Mutex
	pending []*completion
	leading bool // a caller is committing batches
}

type completion struct {
	synclayer.Completion
	err  error
	done chan struct{}
	lead chan struct{} // closed when this caller is to commit the next batch
}

// maxCompletions caps how many completions share one transaction.
const maxCompletions = 64

func (c *completer) complete(ctx context.Context, d synclayer.Completion) error {
	req := &completion{Completion: d, done: make(chan struct{}), lead: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if !lead {
		select {
		case <-req.done:
			return req.err
		case <-req.lead:
		}
	}
	c.commit(ctx)
	return req.err
}

// commit commits the oldest pending batch, which holds the caller's own
// completion (a caller leads only when it is first in line), then hands
// the lead to the next caller waiting, so no caller commits for others
// past its own delivery. A failed batch is retried one completion at a
// time, so one job's storage error fails only itself.
func (c *completer) commit(ctx context.Context) {
	c.mu.Lock()
	batch := c.pending[:min(len(c.pending), maxCompletions)]
	c.pending = c.pending[len(batch):]
	c.mu.Unlock()
	all := make([]synclayer.Completion, len(batch))
	for i, r := range batch {
		all[i] = r.Completion
	}
	err := c.store.CompleteJobs(ctx, all, c.now())
	for _, r := range batch {
		if err != nil && len(batch) > 1 {
			r.err = c.store.CompleteJob(ctx, r.Job, r.State, r.Trace, c.now())
		} else {
			r.err = err
		}
		close(r.done)
	}
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.leading = false
	} else {
		close(c.pending[0].lead)
	}
	c.mu.Unlock()
}
