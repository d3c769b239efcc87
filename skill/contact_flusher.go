package skill

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/queue"
)

// ContactFlusher is customer-sync's batch path on a destination whose
// ContactSync is a synclayer.ContactBatcher (Klaviyo's bulk profile
// import, Mailchimp's batch operations): it claims the batch queue's jobs,
// sends what a batch may carry in as few calls as the platform allows,
// and hands everything touching consent to the realtime path at once. A
// call the platform accepted holds its jobs (synclayer.Import) until
// Check finds the platform applied it. Brevo's contact imports have a
// flusher of their own in its package.
type ContactFlusher struct {
	Store       synclayer.Store
	Destination string
	Batcher     synclayer.ContactBatcher
	// RealtimeQueue is the skill's queue on the destination
	// (customer-sync@klaviyo): it names the imports, and its batch queue
	// (synclayer.BatchQueue) is the one the flusher claims from.
	RealtimeQueue string

	Interval    time.Duration // how often Run flushes; default 5 min
	MaxSize     int           // jobs per flush; default 5000
	Lease       time.Duration // default 10 min
	Hold        time.Duration // how long an accepted call holds its jobs at most; default 24 h
	PollMin     time.Duration // first check of a call; default 5 s, then doubling
	PollMax     time.Duration // default 5 min
	Concurrency int           // realtime deliveries at once; default 4
	MaxAge      time.Duration // retry window of a failing job; default 24 h
	Logger      *slog.Logger
	Now         func() time.Time

	mu sync.Mutex
}

// refusedPrefix starts the last error of a job whose row the platform
// refused in a batch: the next flush sends it realtime, where the
// platform's answer about it is its own.
const refusedPrefix = "refused in a batch: "

func (f *ContactFlusher) defaults() {
	if f.MaxSize == 0 {
		f.MaxSize = 5000
	}
	if f.Interval <= 0 {
		f.Interval = 5 * time.Minute
	}
	if f.Lease <= 0 {
		f.Lease = 10 * time.Minute
	}
	if f.Hold <= 0 {
		f.Hold = 24 * time.Hour
	}
	if f.PollMin <= 0 {
		f.PollMin = 5 * time.Second
	}
	if f.PollMax < f.PollMin {
		f.PollMax = max(5*time.Minute, f.PollMin)
	}
	if f.Concurrency <= 0 {
		f.Concurrency = 4
	}
	if f.MaxAge <= 0 {
		f.MaxAge = 24 * time.Hour
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	if f.Now == nil {
		f.Now = time.Now
	}
}

var _ synclayer.BatchFlusher = (*ContactFlusher)(nil)

// Queue is the batch queue the flusher claims from.
func (f *ContactFlusher) Queue() string { return synclayer.BatchQueue(f.RealtimeQueue) }

// Flush claims up to MaxSize due jobs of the batch queue and sends them.
func (f *ContactFlusher) Flush(ctx context.Context) (synclayer.BatchStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defaults()
	var st synclayer.BatchStats
	maxRows, maxBytes := f.Batcher.BatchLimits()
	groups := map[string]*pending{}
	for st.Claimed < f.MaxSize || f.MaxSize < 0 {
		n := 1000
		if f.MaxSize > 0 {
			n = min(n, f.MaxSize-st.Claimed)
		}
		jobs, err := f.Store.ClaimJobs(ctx, f.Queue(), n, f.Lease, f.Now())
		if err != nil {
			return st, err
		}
		if len(jobs) == 0 {
			break
		}
		st.Claimed += len(jobs)
		planned := f.Now()
		var realtime []*synclayer.Job
		var unchanged []synclayer.ImportItem
		for _, j := range jobs {
			if strings.HasPrefix(j.LastError, refusedPrefix) {
				realtime = append(realtime, j)
				continue
			}
			row, err := f.plan(ctx, j)
			switch {
			case err != nil:
				f.fail(ctx, j, err, &st)
			case row.Unchanged:
				unchanged = append(unchanged, synclayer.NewImportItem(j, f.state(j, row), ""))
			case row.Realtime != "":
				realtime = append(realtime, j)
			default:
				g := groups[row.Group]
				if g == nil {
					g = &pending{group: row.Group}
					groups[row.Group] = g
				}
				if len(g.rows) > 0 && (len(g.rows) >= maxRows || g.bytes+len(row.Row) > maxBytes) {
					if err := f.send(ctx, g, &st); err != nil {
						return st, err
					}
				}
				if len(g.rows) == 0 {
					g.since = planned
				}
				g.rows, g.bytes = append(g.rows, row.Row), g.bytes+len(row.Row)
				g.items = append(g.items, synclayer.NewImportItem(j, f.state(j, row), j.RecordKey))
			}
		}
		// Consent first: this chunk's opt-outs go out before any batch of it.
		f.realtime(ctx, realtime, &st)
		if err := f.settleAtOnce(ctx, f.Destination+": no call (batch: nothing the mapping sends has changed)", unchanged, planned); err != nil {
			return st, err
		}
		st.Unchanged += len(unchanged)
		if len(jobs) < n {
			break
		}
	}
	for _, g := range groups {
		if err := f.send(ctx, g, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// pending is one group's rows not yet sent.
type pending struct {
	group string
	rows  []json.RawMessage
	bytes int
	items []synclayer.ImportItem
	since time.Time
}

func (f *ContactFlusher) plan(ctx context.Context, j *synclayer.Job) (synclayer.BatchRow, error) {
	c, err := f.Store.FindContactByID(ctx, j.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return synclayer.BatchRow{}, synclayer.Permanent(fmt.Errorf("contact %s no longer exists", j.RecordKey))
	}
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	prev, err := held(ctx, f.Store, c.ID, f.Destination)
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	row, err := f.Batcher.PlanBatch(c, prev)
	if err == nil && row.Next == nil && !row.Unchanged && row.Realtime == "" {
		err = fmt.Errorf("%s: a batch row of %s without its next state", f.Destination, c.ID)
	}
	if row.Unchanged && row.Next == nil {
		row.Next = prev
	}
	return row, err
}

func (f *ContactFlusher) state(j *synclayer.Job, row synclayer.BatchRow) *synclayer.SyncState {
	if row.Next == nil {
		return nil
	}
	return &synclayer.SyncState{RecordKey: j.RecordKey, Destination: f.Destination, RemoteID: j.RecordKey, State: row.Next}
}

// send makes one batch call of g's rows and records it with its jobs,
// which stay claimed until Check finds it applied. A refused call settles
// its jobs at once: dead-lettered for a permanent refusal, queued again
// otherwise.
func (f *ContactFlusher) send(ctx context.Context, g *pending, st *synclayer.BatchStats) error {
	if len(g.rows) == 0 {
		return nil
	}
	rows, items, since := g.rows, g.items, g.since
	g.rows, g.items, g.bytes = nil, nil, 0
	// Rows go in the order of their jobs' IDs, so that a refused row's
	// index names its job (ImportJobs lists an import's jobs so).
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(items[a].JobID, items[b].JobID) })
	sortedRows := make([]json.RawMessage, len(rows))
	sortedItems := make([]synclayer.ImportItem, len(items))
	for i, k := range order {
		sortedRows[i], sortedItems[i] = rows[k], items[k]
	}
	rows, items = sortedRows, sortedItems
	id, err := f.Batcher.SendBatch(ctx, g.group, rows)
	now := f.Now()
	summary := fmt.Sprintf("%s: batch of %d contacts applied", f.Destination, len(items))
	if err != nil {
		st.Failed += len(items)
		return f.settleRefused(ctx, items, err, now)
	}
	st.Batched += len(items)
	st.Calls++
	if id == "" {
		return f.settleAtOnce(ctx, summary, items, since)
	}
	imp := &synclayer.Import{Skill: f.RealtimeQueue, Queue: f.Queue(), ProcessID: id, Summary: summary + " (job " + id + ")",
		CreatedAt: since, CheckAt: now.Add(f.PollMin)}
	if err := f.Store.AddImport(ctx, imp, items, now.Add(f.Hold)); err != nil {
		// The platform has the batch but we could not record it: the jobs'
		// leases run out and they are sent again, which is harmless.
		return fmt.Errorf("record %s batch job %s: %w", f.Destination, id, err)
	}
	return nil
}

// Check asks the platform about the batch calls whose check is due,
// completes the applied ones (their refused rows go back to be sent
// realtime) and returns how many are still pending.
func (f *ContactFlusher) Check(ctx context.Context) (int, error) {
	f.defaults()
	imps, err := f.Store.FindImports(ctx, f.RealtimeQueue)
	if err != nil {
		return 0, err
	}
	now := f.Now()
	pendingN := len(imps)
	for _, imp := range imps {
		if imp.CheckAt.After(now) {
			continue
		}
		if strings.HasPrefix(imp.ProcessID, "at-call:") || strings.HasPrefix(imp.ProcessID, "detached:") {
			// Left over by a stop between recording and settling: plan the
			// records again, which sends only what the platform lacks.
			err = f.Store.FailImport(ctx, imp.ID, "the run stopped before it recorded the outcome", now, now)
		} else {
			err = f.checkOne(ctx, imp, now)
		}
		if errors.Is(err, errNotYet) {
			continue
		}
		if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			return pendingN, err
		}
		pendingN--
	}
	return pendingN, nil
}

var errNotYet = errors.New("not finished yet")

func (f *ContactFlusher) checkOne(ctx context.Context, imp *synclayer.Import, now time.Time) error {
	done, refused, err := f.Batcher.CheckBatch(ctx, imp.ProcessID)
	if err != nil {
		var perm *synclayer.PermanentError
		if errors.As(err, &perm) {
			// The platform failed the job as a whole: send its rows again.
			f.Logger.Warn("a batch job failed; its contacts are queued again", "destination", f.Destination, "job", imp.ProcessID, "err", err)
			return f.Store.FailImport(ctx, imp.ID, err.Error(), now.Add(f.PollMin), now)
		}
		return err
	}
	if !done {
		wait := min(f.PollMin<<min(imp.Checks+1, 10), f.PollMax)
		if err := f.Store.DelayImport(ctx, imp.ID, now.Add(wait)); err != nil {
			return err
		}
		return errNotYet
	}
	if len(refused) > 0 {
		if err := f.detachRefused(ctx, imp, refused, now); err != nil {
			return err
		}
	}
	return f.Store.CompleteImport(ctx, imp.ID, now)
}

// detachRefused settles the rows a finished job refused apart: they go
// back to the batch queue marked, and the next flush sends them realtime.
func (f *ContactFlusher) detachRefused(ctx context.Context, imp *synclayer.Import, refused map[int]string, now time.Time) error {
	jobs, err := f.importJobs(ctx, imp)
	if err != nil {
		return err
	}
	var ids []int64
	reasons := []string{}
	for i, why := range refused {
		if i >= 0 && i < len(jobs) {
			ids = append(ids, jobs[i])
			reasons = append(reasons, why)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(reasons)
	detached, err := f.Store.DetachImport(ctx, imp.ID, ids, "refused", now)
	if err != nil {
		return err
	}
	f.Logger.Warn("a batch job refused contacts; they are sent one by one", "destination", f.Destination, "job", imp.ProcessID, "refused", len(ids))
	return f.Store.FailImport(ctx, detached, refusedPrefix+strings.Join(reasons[:min(len(reasons), 3)], "; "), now, now)
}

// importJobs returns the job IDs of an import in the order its rows were
// sent: by job ID (send).
func (f *ContactFlusher) importJobs(ctx context.Context, imp *synclayer.Import) ([]int64, error) {
	return f.Store.ImportJobs(ctx, imp.ID)
}

// realtime delivers jobs through customer-sync's realtime path,
// Concurrency at a time, settling each as the queue's worker would.
func (f *ContactFlusher) realtime(ctx context.Context, jobs []*synclayer.Job, st *synclayer.BatchStats) {
	h := &CustomerSync{Store: f.Store, Destination: f.Destination, Sync: f.Batcher, Now: f.Now}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, f.Concurrency)
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			state, trace, err := h.Handle(ctx, j)
			if err == nil {
				err = f.Store.CompleteJob(ctx, j, state, trace, f.Now())
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
// error or once its retry window has passed.
func (f *ContactFlusher) fail(ctx context.Context, j *synclayer.Job, err error, st *synclayer.BatchStats) {
	st.Failed++
	now := f.Now()
	trace := &synclayer.TraceEntry{ContactID: j.RecordKey, At: now, Kind: synclayer.TraceDelivery, Summary: f.Destination + ": batch delivery failed: " + err.Error()}
	var perm *synclayer.PermanentError
	if errors.As(err, &perm) || now.Sub(j.FirstSeenAt) > f.MaxAge {
		if derr := f.Store.DeadJob(ctx, j, err.Error(), trace, now); derr != nil {
			f.Logger.Warn("dead-letter failed", "destination", f.Destination, "job", j.ID, "err", derr)
		}
		return
	}
	delay := queue.Delay(j.Attempts, time.Second, 5*time.Minute, err) // the queue's own backoff, RetryAfter honoured
	if rerr := f.Store.RetryJob(ctx, j, now.Add(delay), err.Error(), trace, now); rerr != nil {
		f.Logger.Warn("retry failed", "destination", f.Destination, "job", j.ID, "err", rerr)
	}
}

// settleAtOnce completes jobs whose outcome is known now (nothing to send,
// or a call the platform applied before answering), in one transaction.
func (f *ContactFlusher) settleAtOnce(ctx context.Context, summary string, items []synclayer.ImportItem, planned time.Time) error {
	if len(items) == 0 {
		return nil
	}
	now := f.Now()
	imp := &synclayer.Import{Skill: f.RealtimeQueue, Queue: f.Queue(), ProcessID: "at-call:" + f.Destination, Summary: summary, CreatedAt: planned, CheckAt: now}
	if err := f.Store.AddImport(ctx, imp, items, now.Add(f.Lease)); err != nil {
		return err
	}
	return f.Store.CompleteImport(ctx, imp.ID, now)
}

// settleRefused settles a call the platform refused as a whole: its
// contacts go realtime one by one for a permanent refusal, and are queued
// again for the batch otherwise.
func (f *ContactFlusher) settleRefused(ctx context.Context, items []synclayer.ImportItem, err error, now time.Time) error {
	imp := &synclayer.Import{Skill: f.RealtimeQueue, Queue: f.Queue(), ProcessID: "at-call:refused", Summary: "refused", CreatedAt: now, CheckAt: now}
	if aerr := f.Store.AddImport(ctx, imp, items, now.Add(f.Lease)); aerr != nil {
		return aerr
	}
	f.Logger.Warn("a batch call was refused", "destination", f.Destination, "contacts", len(items), "err", err)
	var perm *synclayer.PermanentError
	if errors.As(err, &perm) {
		// One bad row may refuse a whole call: each contact goes realtime,
		// where the platform's answer about it is its own, instead of
		// thousands being dead-lettered for one.
		return f.Store.FailImport(ctx, imp.ID, refusedPrefix+err.Error(), now, now)
	}
	return f.Store.FailImport(ctx, imp.ID, err.Error(), now.Add(f.PollMin), now)
}

// Run flushes every Interval and checks the calls in flight as they come
// due, until ctx ends.
func (f *ContactFlusher) Run(ctx context.Context) {
	f.mu.Lock()
	f.defaults()
	f.mu.Unlock()
	flush := time.NewTicker(f.Interval)
	defer flush.Stop()
	check := time.NewTicker(min(f.PollMin, f.Interval))
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if st, err := f.Flush(ctx); err != nil && ctx.Err() == nil {
				f.Logger.Warn("batch flush failed; will retry", "destination", f.Destination, "err", err)
			} else if st.Claimed > 0 {
				f.Logger.Info("batch flushed", "destination", f.Destination, "claimed", st.Claimed, "batched", st.Batched,
					"realtime", st.Realtime, "unchanged", st.Unchanged, "failed", st.Failed, "calls", st.Calls)
			}
		case <-check.C:
		}
		if _, err := f.Check(ctx); err != nil && ctx.Err() == nil {
			f.Logger.Warn("checking batch jobs failed; will retry", "destination", f.Destination, "err", err)
		}
	}
}

// Drain flushes and checks until the batch queue is empty and every call
// is settled, for the backfill and resync commands; progress, when set,
// hears the totals after each round and the calls still in flight.
func (f *ContactFlusher) Drain(ctx context.Context, progress func(synclayer.BatchStats, int)) (synclayer.BatchStats, error) {
	var total synclayer.BatchStats
	for {
		st, err := f.Flush(ctx)
		total.Add(st)
		if err != nil {
			return total, err
		}
		pendingN, err := f.Check(ctx)
		if err != nil {
			return total, err
		}
		if progress != nil {
			progress(total, pendingN)
		}
		left, err := f.Store.CountPending(ctx, f.Queue())
		if err != nil {
			return total, err
		}
		if pendingN == 0 && left == 0 {
			return total, nil
		}
		if st.Claimed == 0 {
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(min(f.PollMin, time.Second)):
			}
		}
	}
}
