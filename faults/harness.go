package faults

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/store"
)

// Options configures one run.
type Options struct {
	Driver string // "sqlite" or "postgres"
	Long   bool
	Seed   uint64
	Bin    string // the synclayer binary (see Build)
	Dir    string // scratch directory: config, SQLite file, logs
	Logf   func(format string, args ...any)
}

// profile is the size and timing of a run.
type profile struct {
	minEvents, maxEvents int
	concurrency          int
	latency              time.Duration // Brevo's answer time, so jobs are in flight when a kill lands
	burst                time.Duration
	burstRate            float64
	kills, pgRestarts    int
	outage               time.Duration // split evenly over drop, 500, timeout and lost answers
	outageRate           float64
	storm                time.Duration
	stormLimit           int
	stormRate            float64
	tailRate             float64
	settle               time.Duration // how long the queue may take to go idle
	orders, carts        int           // shop.go
	brevoShare           float64       // of the contacts, who opt out in Brevo (brevo_side.go)
	// The Admin API simulator's cost bucket, in points, and its refill a
	// second: smaller and slower than a shop's, so that emptying it
	// (THROTTLED) makes the write-back wait, but fast enough for the
	// profile's write-backs (a mutation costs 10).
	adminBucket, adminRestore float64
}

// shortProfile fits in CI: about a minute per database, both run in parallel.
var shortProfile = profile{minEvents: 4, maxEvents: 10, concurrency: 6, latency: 80 * time.Millisecond,
	burst: 12 * time.Second, burstRate: 50, kills: 3, pgRestarts: 1,
	outage: 9 * time.Second, outageRate: 15, storm: 5 * time.Second, stormLimit: 2, stormRate: 15,
	tailRate: 100, settle: 60 * time.Second, orders: 24, carts: 33, brevoShare: 0.15,
	adminBucket: 200, adminRestore: 10}

// longProfile runs for about 15 minutes per database.
var longProfile = profile{minEvents: 4, maxEvents: 12, concurrency: 8, latency: 80 * time.Millisecond,
	burst: 5 * time.Minute, burstRate: 60, kills: 24, pgRestarts: 4,
	outage: 4 * time.Minute, outageRate: 20, storm: time.Minute, stormLimit: 2, stormRate: 25,
	tailRate: 150, settle: 10 * time.Minute, orders: 300, carts: 440, brevoShare: 0.2,
	adminBucket: 1000, adminRestore: 50}

type harness struct {
	o     Options
	p     profile
	rep   *Report
	brevo *brevoServer
	slack *receiver // Slack's incoming webhook, for the workflow's slack action
	hook  *receiver // a Standard Webhooks endpoint, for its webhook action
	shop  *shopRun
	admin *adminServer // Shopify's Admin API, for the write-back (writeback.go)
	side  *brevoSide   // the opt-outs made in Brevo
	srv   *server
	pg    *pgServer
	db    *store.DB
	sql   *sql.DB // the same database, for the one query the store has no method for
	tr    *traffic

	inOutage            atomic.Bool
	maxDepth, maxOutage atomic.Int64
	mu                  sync.Mutex
	crashes             []*crash
	marks               []mark
	faults              []fault
	watchers            sync.WaitGroup
	bg                  context.Context // ends when Run returns; for the watchers
	deadNotes           []string
	echoes              echoes
}

// Run runs the whole scenario once and returns its report. An error means
// the run could not be carried out; a broken promise is in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	p, mode := shortProfile, "short"
	if o.Long {
		p, mode = longProfile, "long"
	}
	begin := time.Now()
	h := &harness{o: o, p: p, rep: &Report{Driver: o.Driver, Mode: mode, Seed: o.Seed}}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	planned := p.burst.Seconds()*p.burstRate + p.outage.Seconds()*p.outageRate + p.storm.Seconds()*p.stormRate
	// Enough contacts for every phase to have traffic, counting the 8%
	// redeliveries, with a 10% spare that the tail sends without faults.
	contacts := int(1.1 * planned / (1.08 * float64(p.minEvents+p.maxEvents) / 2))
	base := time.Now().UTC().Add(-90 * 24 * time.Hour).Truncate(time.Second)
	wl := Generate(rng, genOptions{contacts: contacts, minEvents: p.minEvents, maxEvents: p.maxEvents, reorder: 0.15, redeliver: 0.08}, base)
	h.rep.Contacts, h.rep.Events = wl.Contacts, len(wl.Events)
	h.shop = &shopRun{carts: genCarts(p.carts), base: time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)}
	var orderSends []Send
	h.shop.orders, orderSends = genOrders(rng, p.orders, time.Now().UTC().Add(-60*24*time.Hour).Truncate(time.Second))
	wl.Sends = append(wl.Sends, orderSends...)
	slices.SortStableFunc(wl.Sends, func(a, b Send) int { return cmp.Compare(a.pos, b.pos) })
	h.side = planBrevoSide(rng, wl, base, p.brevoShare)

	var err error
	if h.brevo, err = startBrevo(brevoAPIKey); err != nil {
		return nil, err
	}
	defer h.brevo.close()
	h.brevo.Sim.SetLatency(p.latency)
	if h.slack, err = startReceiver(""); err != nil {
		return nil, err
	}
	defer h.slack.close()
	if h.hook, err = startReceiver(orderHookSecret); err != nil {
		return nil, err
	}
	defer h.hook.close()
	if h.admin, err = startAdmin(p.adminBucket, p.adminRestore); err != nil {
		return nil, err
	}
	defer h.admin.close()
	for n := range wl.Contacts {
		h.admin.Sim.AddCustomer(strconv.FormatInt(shopifyID(n), 10), emailOf(n), phoneOf(n))
	}

	dsn := filepath.Join(o.Dir, "synclayer.db")
	if o.Driver == "postgres" {
		if h.pg, err = startPostgres(ctx, o.Logf); err != nil {
			return nil, err
		}
		defer h.pg.Stop()
		dsn, h.rep.PGSkip = h.pg.DSN, h.pg.SkipReason
	}
	if h.srv, err = newServer(o.Bin, o.Dir, serverConfig{driver: o.Driver, dsn: dsn, brevoURL: h.brevo.URL, adminURL: h.admin.URL,
		slackURL: h.slack.URL + "/services/T0FAULTS/B0FAULTS/faults-token", hookURL: h.hook.URL + "/hooks/orders"}); err != nil {
		return nil, err
	}
	if err := h.srv.start(ctx); err != nil {
		return nil, err
	}
	defer h.srv.stop()
	if h.db, err = store.Open(ctx, o.Driver, dsn); err != nil {
		return nil, fmt.Errorf("open the server's store: %w", err)
	}
	defer h.db.Close()
	if o.Driver == "postgres" {
		h.sql, err = sql.Open("pgx", dsn)
	} else {
		h.sql, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		return nil, err
	}
	defer h.sql.Close()
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer func() { stopPoll(); h.watchers.Wait() }() // before the store closes
	h.bg = pollCtx
	go h.pollDepth(pollCtx)

	model := NewModel()
	h.tr = newTraffic(h.srv.url, wl, model, p.concurrency)
	h.admin.mu.Lock()
	h.admin.echo = h.sendEcho
	h.admin.mu.Unlock()
	for _, phase := range []func(context.Context, *rand.Rand) error{h.burstWithCrashes, h.brevoOutage, h.rateLimitStorm, h.finish} {
		if err := phase(ctx, rng); err != nil {
			return h.rep, err
		}
	}
	for _, phase := range []func(context.Context) error{h.aimedCrashes, h.aimedWriteBack, h.aimedShop, h.changeWhileJudged, h.concurrentDeliveries,
		h.replayDead, h.settleWriteBacks, h.countDead} {
		if err := phase(ctx); err != nil {
			return h.rep, err
		}
	}

	h.fillTraffic(model)
	var contactEvents []*Event
	for _, ev := range model.Acked() {
		if !ev.Shop {
			contactEvents = append(contactEvents, ev)
		}
	}
	expect := Expect(contactEvents)
	h.tr.gaveUp.Range(func(k, _ any) bool { delete(expect, emailOf(k.(int))); return true })
	writes := withoutShop(h.brevo.Writes())
	h.rep.Findings = Compare(expect, h.brevo.Sim.Contacts(), writes, listID)
	h.compareShop(model)
	if err := h.compareWriteBack(ctx, model, expect); err != nil {
		return h.rep, err
	}
	h.rep.Details = append(h.rep.Details, h.deadNotes...)
	h.writeHistories(model, writes)
	h.watchers.Wait()
	h.rep.Recoveries = h.recoveries()
	h.rep.MaxDepth, h.rep.MaxDepthOutage = int(h.maxDepth.Load()), int(h.maxOutage.Load())
	h.rep.Elapsed = time.Since(begin)
	return h.rep, nil
}

// burstWithCrashes sends a sustained burst and, at random moments in it,
// kills synclayer with SIGKILL and restarts it (and crashes the private
// PostgreSQL cluster, if there is one). The carts' scripts and the
// opt-outs made in Brevo start with it, and Shopify's Admin API answers a
// write-back now and then with a 429, a 5xx or THROTTLED.
func (h *harness) burstWithCrashes(ctx context.Context, rng *rand.Rand) error {
	faults := make([]string, 0, h.p.kills+h.p.pgRestarts)
	for range h.p.kills {
		faults = append(faults, "kill")
	}
	if h.pg != nil && h.pg.Private {
		for range h.p.pgRestarts {
			faults = append(faults, "pg")
		}
	}
	rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	at := make([]time.Duration, len(faults))
	slot := h.p.burst / time.Duration(len(faults)+1)
	for i := range at {
		at[i] = slot*time.Duration(i+1) + time.Duration((rng.Float64()-0.5)*0.6*float64(slot))
	}

	bctx, cancel := context.WithTimeout(ctx, h.p.burst)
	defer cancel()
	done := make(chan struct{})
	go func() { h.tr.run(bctx, h.p.burstRate); close(done) }()
	h.startCarts((h.p.burst + h.p.outage) * 8 / 10)
	h.startBrevoSide(h.p.burst + h.p.outage + h.p.storm)
	go h.adminTrouble(bctx, h.o.Seed, false)
	start := time.Now()
	for i, f := range faults {
		time.Sleep(time.Until(start.Add(at[i])))
		h.fireNearFault()
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		switch f {
		case "kill":
			if err := h.crash(ctx); err != nil {
				return err
			}
		case "pg":
			pgStart := time.Now()
			down, err := h.pg.Restart(ctx)
			h.fault("postgres restart", pgStart)
			if err != nil {
				return fmt.Errorf("restart postgres: %w", err)
			}
			h.rep.PGRestarts = append(h.rep.PGRestarts, down)
			h.mark("postgres restarted")
			h.o.Logf("postgres restarted (down %s)", short(down))
		}
	}
	<-done
	return nil
}

// brevoOutage takes Brevo down while webhooks keep coming, in four ways:
// dropped connections, 500s, no answer, and writes that Brevo applies but
// whose answer is lost. Shopify's Admin API is down alongside, in the
// first three. Then it measures how the backlog drains.
func (h *harness) brevoOutage(ctx context.Context, _ *rand.Rand) error {
	modes := []struct {
		name string
		m    brevosim.Outage
	}{{"drop", brevosim.OutageDrop}, {"500", brevosim.Outage500}, {"timeout", brevosim.OutageTimeout}, {"lost answers", brevosim.OutageNone}}
	each := h.p.outage / time.Duration(len(modes))
	h.rep.Outage, h.rep.OutageEach, h.rep.OutageModes = h.p.outage, each, "drop, 500, timeout, applied but answer lost"
	octx, cancel := context.WithTimeout(ctx, h.p.outage)
	defer cancel()
	done := make(chan struct{})
	go func() { h.tr.run(octx, h.p.outageRate); close(done) }()
	h.inOutage.Store(true)
	for _, m := range modes {
		h.brevo.Sim.SetOutage(m.m)
		h.brevo.loseAnswers.Store(m.name == "lost answers")
		h.admin.Sim.SetOutage(m.m) // the same modes (simkit's); lost answers are Brevo's alone
		// Slack and the webhook endpoint refuse while Brevo drops and 500s.
		refuse := m.m == brevosim.OutageDrop || m.m == brevosim.Outage500
		h.slack.failing.Store(refuse)
		h.hook.failing.Store(refuse)
		h.mark("brevo outage: " + m.name)
		time.Sleep(each)
	}
	h.brevo.Sim.SetOutage(brevosim.OutageNone)
	h.brevo.loseAnswers.Store(false)
	h.admin.Sim.SetOutage(brevosim.OutageNone)
	h.slack.failing.Store(false)
	h.hook.failing.Store(false)
	h.mark("brevo outage over")
	end := time.Now()
	h.inOutage.Store(false)
	h.rep.OutageBacklog = h.depth(ctx)
	<-done
	drain, err := h.waitIdle(ctx)
	if err != nil {
		return err
	}
	h.rep.DrainTime = time.Since(end)
	delivered := map[string]bool{}
	for _, w := range h.brevo.Writes() {
		if w.At.After(end) && w.OK() {
			delivered[w.ExtID+w.Email] = true
		}
	}
	if h.rep.DrainTime > 0 {
		h.rep.DrainRate = float64(len(delivered)) / h.rep.DrainTime.Seconds()
	}
	h.o.Logf("outage over: backlog %d, %d contacts delivered, idle %s after (waited %s)", h.rep.OutageBacklog, len(delivered), short(h.rep.DrainTime), short(drain))
	return nil
}

// rateLimitStorm throttles Brevo to a trickle while webhooks keep coming,
// and Shopify's Admin API with 429s, 5xx and a bucket kept empty.
func (h *harness) rateLimitStorm(ctx context.Context, _ *rand.Rand) error {
	h.rep.Storm, h.rep.StormLimit = h.p.storm, h.p.stormLimit
	before := h.brevo.Answered(429)
	h.brevo.Sim.SetRateLimit(h.p.stormLimit)
	sctx, cancel := context.WithTimeout(ctx, h.p.storm)
	go h.adminTrouble(sctx, h.o.Seed+1, true)
	h.tr.run(sctx, h.p.stormRate)
	cancel()
	h.brevo.Sim.SetRateLimit(0)
	end := time.Now()
	if _, err := h.waitIdle(ctx); err != nil {
		return err
	}
	h.rep.StormDrain = time.Since(end)
	h.rep.Answered429 = h.brevo.Answered(429) - before
	start := end.Add(-h.p.storm)
	for _, w := range h.brevo.Writes() {
		if w.At.After(start) && w.At.Before(end) && w.OK() {
			h.rep.StormWrites++
		}
	}
	return nil
}

// finish sends what is left of the schedule without faults, lets the
// carts' scripts end, and waits for the queue to go idle.
func (h *harness) finish(ctx context.Context, _ *rand.Rand) error {
	fctx, cancel := context.WithCancel(ctx)
	h.tr.run(fctx, h.p.tailRate)
	cancel()
	h.shop.scripts.Wait()
	h.side.wg.Wait()
	_, err := h.waitIdle(ctx)
	return err
}

// countDead lists the dead-lettered jobs: none is expected, since every
// fault injected is transient.
func (h *harness) countDead(ctx context.Context) error {
	dead, err := h.db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Limit: 1000})
	if err != nil {
		return err
	}
	h.rep.DeadJobs = len(dead)
	for _, j := range dead {
		if len(h.deadNotes) < maxDetails {
			h.deadNotes = append(h.deadNotes, fmt.Sprintf("dead-lettered: job %d for %s: %s", j.ID, j.RecordKey, j.LastError))
		}
	}
	return nil
}

// writeHistories puts the history of the first few contacts found wrong
// in the report, and of up to 200 in histories.txt in the run's directory.
func (h *harness) writeHistories(model *Model, writes []Write) {
	var all strings.Builder
	flagged := slices.Clone(h.rep.Flagged)
	for _, email := range h.rep.WriteBack.Flagged {
		if !slices.Contains(flagged, email) {
			flagged = append(flagged, email)
		}
	}
	admin := h.admin.Writes()
	for i, email := range flagged {
		if i == 200 {
			break
		}
		lines := append([]string{"history of " + email + ":"}, history(email, model, writes, admin, h.marks)...)
		if i < 3 {
			h.rep.Details = append(h.rep.Details, lines...)
		}
		all.WriteString(strings.Join(lines, "\n") + "\n")
	}
	if all.Len() > 0 {
		_ = os.WriteFile(filepath.Join(h.o.Dir, "histories.txt"), []byte(all.String()), 0o600)
	}
}

func (h *harness) mark(text string) {
	h.mu.Lock()
	h.marks = append(h.marks, mark{time.Now(), text})
	h.mu.Unlock()
}

// waitIdle waits until no job is pending or running, three polls in a row.
// A queue that never drains is recorded in the report, not returned: the
// comparison still runs and shows what is missing.
func (h *harness) waitIdle(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	idle := 0
	for time.Since(start) < h.p.settle {
		if h.depth(ctx) == 0 {
			if idle++; idle == 3 {
				return time.Since(start), nil
			}
		} else {
			idle = 0
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	counts, _ := h.db.CountJobs(ctx)
	h.rep.Undrained = fmt.Sprintf("queue not idle after %s: %v;", h.p.settle, counts)
	return time.Since(start), nil
}

// depth is the number of jobs pending or running, read from the database
// directly, as `synclayer dlq list` does; -1 when it cannot be read.
func (h *harness) depth(ctx context.Context) int {
	counts, err := h.db.CountJobs(ctx)
	if err != nil {
		return -1
	}
	return counts[synclayer.JobPending] + counts[synclayer.JobRunning]
}

func (h *harness) pollDepth(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		d := int64(h.depth(ctx))
		if d > h.maxDepth.Load() {
			h.maxDepth.Store(d)
		}
		if h.inOutage.Load() && d > h.maxOutage.Load() {
			h.maxOutage.Store(d)
		}
	}
}

func (h *harness) fillTraffic(m *Model) {
	t := h.tr
	h.rep.Sends, h.rep.Acked = int(t.sends.Load()), int(t.acked.Load())
	h.rep.Unanswered, h.rep.Status5xx = int(t.unanswered.Load()), int(t.status5xx.Load())
	h.rep.Redeliveries, h.rep.Rejected = int(t.redeliveries.Load()), int(t.rejected.Load())
	h.rep.FailedEvents, h.rep.GaveUp = int(t.failedEvents.Load()), int(t.giveUps.Load())
	h.rep.DedupeMisses = m.DedupeMisses()
	if s, ok := t.firstReject.Load().(string); ok {
		h.rep.FirstProblem = s
	}
}
