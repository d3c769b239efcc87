// The batch path of the Brevo skills: a Flusher claims a
// skill's batch-queue jobs (synclayer.BatchQueue) every interval, plans
// each with the skill's own planning, and sends them in as few calls as
// Brevo allows: contacts through POST /contacts/import, orders through
// POST /orders/status/batch, products through POST /products/batch.
// Anything touching consent goes through the skill's realtime Handle at
// once. An import counts as done when Brevo's process reports completed
// (decision 0012); until then its jobs stay claimed.

package brevo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"synclayer"
	"synclayer/queue"
)

// FlusherConfig configures a Flusher. Exactly one of Contacts, Orders and
// Products is set, for the skill it flushes.
type FlusherConfig struct {
	Store  synclayer.Store
	Client *Client
	Skill  string // customer-sync, order-events or product-catalog
	// Destination is the Brevo account's name in config; "" means brevo.
	// The flusher claims from its batch queue and records its sync state.
	Destination string

	Contacts     *ContactSync
	ImportListID int64 // list for contacts without marketing consent; 0 sends them realtime
	// CurrentContacts, when set, supplies the skill and import list at
	// each flush instead, so a running server follows config changes; a
	// nil skill (disabled) flushes nothing.
	CurrentContacts func() (*ContactSync, int64)
	Orders          *OrderEvents
	Historical      bool // orders are past data (a backfill): Brevo runs no automation for them
	Products        *ProductCatalog

	Interval time.Duration // how often Run flushes; default 5 min
	MaxSize  int           // jobs per flush; default 5000; negative: no limit
	MaxBytes int           // import body cap; default MaxImportBytes
	Lease    time.Duration // how long a claim holds jobs while they are planned and sent; default 10 min
	Hold     time.Duration // how long an accepted import holds its jobs at most; default 24 h
	// PollMin and PollMax space the checks of an import's process: the
	// first after PollMin, then doubling up to PollMax (defaults 10 s and
	// 5 min), since GET /processes shares Brevo's 100-an-hour bucket.
	PollMin, PollMax time.Duration
	Concurrency      int // realtime deliveries at once; default 4
	// MaxAge is how long after its record's first change a failing job is
	// retried before it is dead-lettered, as the realtime queue does;
	// default 24 h.
	MaxAge time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Flusher runs one skill's batch path.
type Flusher struct {
	cfg   FlusherConfig
	queue string
	mu    sync.Mutex // one flush at a time
}

// New returns a Flusher with defaults filled in.
func NewFlusher(cfg FlusherConfig) *Flusher {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 5000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = MaxImportBytes
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Minute
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 24 * time.Hour
	}
	if cfg.PollMin <= 0 {
		cfg.PollMin = 10 * time.Second
	}
	if cfg.PollMax < cfg.PollMin {
		cfg.PollMax = max(5*time.Minute, cfg.PollMin)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Flusher{cfg: cfg, queue: synclayer.BatchQueue(synclayer.Queue(cfg.Skill, accountName(cfg.Destination)))}
}

// Queue is the queue the flusher claims from.
func (f *Flusher) Queue() string { return f.queue }

// Run flushes every Interval and checks imports in flight as they come
// due, until ctx ends.
func (f *Flusher) Run(ctx context.Context) {
	flush := time.NewTicker(f.cfg.Interval)
	defer flush.Stop()
	check := time.NewTicker(min(f.cfg.PollMin, f.cfg.Interval))
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if st, err := f.Flush(ctx); err != nil && ctx.Err() == nil {
				f.cfg.Logger.Warn("batch flush failed; will retry", "skill", f.cfg.Skill, "err", err)
			} else if st.Claimed > 0 {
				f.cfg.Logger.Info("batch flushed", "skill", f.cfg.Skill, "claimed", st.Claimed, "batched", st.Batched,
					"realtime", st.Realtime, "unchanged", st.Unchanged, "failed", st.Failed, "calls", st.Calls)
			}
		case <-check.C:
		}
		if _, err := f.Check(ctx); err != nil && ctx.Err() == nil {
			f.cfg.Logger.Warn("checking batch imports failed; will retry", "skill", f.cfg.Skill, "err", err)
		}
	}
}

// Drain flushes until the batch queue is empty and every import has
// completed or failed, then returns what it did. progress, when set, hears
// the running totals. It is the backfill and resync commands' push.
func (f *Flusher) Drain(ctx context.Context, progress func(synclayer.BatchStats, int)) (synclayer.BatchStats, error) {
	var total synclayer.BatchStats
	for {
		st, err := f.Flush(ctx)
		total.Add(st)
		if err != nil {
			return total, err
		}
		if progress != nil {
			progress(total, 0)
		}
		if st.Claimed == 0 {
			break
		}
	}
	failures := 0
	for {
		pending, err := f.Check(ctx)
		if err != nil {
			// Brevo may be briefly unreachable: the imports stay recorded,
			// so checking again later loses nothing.
			if failures++; failures >= 10 || ctx.Err() != nil {
				return total, fmt.Errorf("checking Brevo's import processes: %w", err)
			}
			f.cfg.Logger.Warn("checking import processes failed; will retry", "skill", f.cfg.Skill, "err", err)
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(f.cfg.PollMin << min(failures, 6)):
			}
			continue
		}
		failures = 0
		left, err := f.cfg.Store.CountPending(ctx, f.queue)
		if err != nil {
			return total, err
		}
		if progress != nil {
			progress(total, pending)
		}
		if pending == 0 && left == 0 {
			return total, nil
		}
		if pending == 0 {
			// A failed import put its jobs back: flush them again.
			st, err := f.Flush(ctx)
			total.Add(st)
			if err != nil {
				return total, err
			}
			if st.Claimed > 0 {
				continue
			}
		}
		wait, err := f.nextCheck(ctx)
		if err != nil {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// nextCheck is how long until the next import check, or the next job,
// is due.
func (f *Flusher) nextCheck(ctx context.Context) (time.Duration, error) {
	imps, err := f.cfg.Store.FindImports(ctx, f.cfg.Skill)
	if err != nil {
		return 0, err
	}
	wait := f.cfg.PollMin
	now := f.cfg.Now()
	for _, imp := range imps {
		wait = min(wait, max(imp.CheckAt.Sub(now), 10*time.Millisecond))
	}
	return wait, nil
}

// Flush claims up to MaxSize due jobs of the batch queue and sends them.
func (f *Flusher) Flush(ctx context.Context) (synclayer.BatchStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.cfg.Contacts != nil || f.cfg.CurrentContacts != nil:
		return f.flushContacts(ctx)
	case f.cfg.Orders != nil:
		return f.flushOrders(ctx)
	case f.cfg.Products != nil:
		return f.flushProducts(ctx)
	}
	return synclayer.BatchStats{}, errors.New("batch: no skill configured")
}

// claimChunk is how many jobs one claim takes: a flush claims in chunks,
// so a large flush never holds one huge transaction.
const claimChunk = 1000

// claim leases the next chunk of due jobs, within the flush's budget.
func (f *Flusher) claim(ctx context.Context, claimed int) ([]*synclayer.Job, error) {
	n := claimChunk
	if f.cfg.MaxSize > 0 {
		n = min(n, f.cfg.MaxSize-claimed)
	}
	if n <= 0 {
		return nil, nil
	}
	return f.cfg.Store.ClaimJobs(ctx, f.queue, n, f.cfg.Lease, f.cfg.Now())
}

// realtime delivers jobs through h, Concurrency at a time, as the queue's
// worker would: complete, retry with backoff, or dead-letter.
func (f *Flusher) realtime(ctx context.Context, h queue.Handler, jobs []*synclayer.Job, st *synclayer.BatchStats) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, f.cfg.Concurrency)
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			state, trace, err := h.Handle(ctx, j)
			if err == nil {
				err = f.cfg.Store.CompleteJob(ctx, j, state, trace, f.cfg.Now())
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.fail(ctx, j, err, st)
				return
			}
			st.Realtime++
		}()
	}
	wg.Wait()
}

// fail retries a job with backoff, or dead-letters it for a permanent
// error or once its retry window (MaxAge) has passed, and counts it:
// without the window, a record Brevo keeps failing would be retried for
// ever, and a backfill's push would never end.
func (f *Flusher) fail(ctx context.Context, j *synclayer.Job, err error, st *synclayer.BatchStats) {
	st.Failed++
	st.Reason(fmt.Sprintf("%s: %v", j.RecordKey, err))
	now := f.cfg.Now()
	trace := &synclayer.TraceEntry{ContactID: j.RecordKey, At: now, Kind: synclayer.TraceDelivery, Summary: "batch delivery failed: " + err.Error()}
	var perm *synclayer.PermanentError
	if errors.As(err, &perm) || now.Sub(j.FirstSeenAt) > f.cfg.MaxAge {
		reason := err.Error()
		if perm == nil {
			reason = fmt.Sprintf("retry window of %s ended after %d attempts; last error: %s", f.cfg.MaxAge, j.Attempts, reason)
		}
		if derr := f.cfg.Store.DeadJob(ctx, j, reason, trace, now); derr != nil {
			f.cfg.Logger.Warn("dead-letter failed", "skill", f.cfg.Skill, "job", j.ID, "err", derr)
		}
		return
	}
	if rerr := f.cfg.Store.RetryJob(ctx, j, now.Add(backoff(j.Attempts, err)), err.Error(), trace, now); rerr != nil {
		f.cfg.Logger.Warn("retry failed", "skill", f.cfg.Skill, "job", j.ID, "err", rerr)
	}
}

// backoff is the delay before attempt n+1: the queue's, from 1 s to 5 min.
func backoff(n int, err error) time.Duration { return queue.Delay(n, time.Second, 5*time.Minute, err) }

// finishAtOnce records a batch Brevo applied in the call itself (orders,
// products, or records that needed no call): the jobs are completed in
// one transaction, with their sync states and trace lines. planned is when
// the first of them was planned: a sync state written since (by a realtime
// delivery meanwhile) is newer, and is kept.
func (f *Flusher) finishAtOnce(ctx context.Context, id, summary string, items []synclayer.ImportItem, planned time.Time) error {
	if len(items) == 0 {
		return nil
	}
	now := f.cfg.Now()
	// Not a process ID: were the run to stop before CompleteImport, Check
	// must not ask Brevo about it (see Check).
	imp := &synclayer.Import{Skill: f.cfg.Skill, Queue: f.queue, ProcessID: "at-call:" + id, Summary: summary, CreatedAt: planned, CheckAt: now}
	if err := f.cfg.Store.AddImport(ctx, imp, items, now.Add(f.cfg.Lease)); err != nil {
		return err
	}
	return f.cfg.Store.CompleteImport(ctx, imp.ID, now)
}

// failAll settles every job of a batch call Brevo did not accept, in one
// transaction, with the reason kept on each job. A refusal of the whole
// call with a 4xx (a list that does not exist, a payload Brevo cannot
// read) is a setup problem retrying cannot fix: the jobs are dead-lettered
// with Brevo's message, for `synclayer dlq list` and, once fixed,
// `dlq retry`. Anything else (a 5xx, a 429, the network) puts them back to
// be sent again after a backoff.
func (f *Flusher) failAll(ctx context.Context, items []synclayer.ImportItem, err error, st *synclayer.BatchStats) {
	now := f.cfg.Now()
	st.Failed += len(items)
	var perm *synclayer.PermanentError
	dead := errors.As(err, &perm)
	outcome := "queued again"
	if dead {
		outcome = "dead-lettered (synclayer dlq list)"
	}
	st.Reason(fmt.Sprintf("a batch call of %d records, %s: %v", len(items), outcome, err))
	imp := &synclayer.Import{Skill: f.cfg.Skill, Queue: f.queue, ProcessID: "refused", Summary: "refused", CreatedAt: now, CheckAt: now}
	if aerr := f.cfg.Store.AddImport(ctx, imp, items, now.Add(f.cfg.Lease)); aerr != nil {
		f.cfg.Logger.Warn("settling a refused batch failed; its records are retried when their claims expire", "skill", f.cfg.Skill, "err", aerr)
		return
	}
	var serr error
	if dead {
		serr = f.cfg.Store.DeadImport(ctx, imp.ID, err.Error(), now)
	} else {
		serr = f.cfg.Store.FailImport(ctx, imp.ID, err.Error(), now.Add(backoff(1, err)+f.cfg.PollMin), now)
	}
	if serr != nil {
		f.cfg.Logger.Warn("settling a refused batch failed; its records are retried when their claims expire", "skill", f.cfg.Skill, "err", serr)
	}
	f.cfg.Logger.Warn("Brevo refused a batch call; its records are "+outcome, "skill", f.cfg.Skill, "records", len(items), "err", err)
}
