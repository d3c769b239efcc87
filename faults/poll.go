package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"synclayer/source/magento/magentosim"
)

// The polling run checks the scheduled direction's promise: a store that
// sends no webhooks (Magento Open Source, polled through its REST API)
// reaches Brevo with every change, once, however often synclayer is
// killed, in the middle of a page or between a page's ingest and its
// cursor's commit. It is apart from Run because the store is the one that
// answers and the server asks: the kills are aimed at the store's
// answers, not at webhook traffic.

// PollOptions configure RunPolling.
type PollOptions struct {
	Driver   string // "sqlite" or "postgres"
	Long     bool
	Seed     uint64
	Bin, Dir string
	Logf     func(format string, args ...any)
}

// PollReport is what a polling run did and found.
type PollReport struct {
	Driver, Mode string
	Seed         uint64
	Elapsed      time.Duration

	Customers  int // in the store at the start
	Changes    int // saves made in the store while the run went on
	Kills      int // at a random moment of a listing
	AimedKills int // as the store answered a page of customers
	Pages      int // customer pages the store answered
	Writes     int // contact writes Brevo applied
	PGSkip     string

	Skipped   int // customers whose last version never reached Brevo
	Repeats   int // a version written again with no kill between the two writes
	InDoubt   int // repeats with a kill between: the write applied, its job's commit died
	Backwards int // an older version written after a newer one
	Converged time.Duration
	Details   []string
}

// Failed reports whether synclayer broke the promise.
func (r *PollReport) Failed() bool { return r.Skipped+r.Repeats+r.Backwards > 0 }

// WriteText prints the report.
func (r *PollReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "polling fault run (%s, %s mode, seed %d) in %s\n", r.Driver, r.Mode, r.Seed, r.Elapsed.Round(time.Second))
	fmt.Fprintf(w, "  store: %d customers, %d saves during the run; %d customer pages answered\n", r.Customers, r.Changes, r.Pages)
	fmt.Fprintf(w, "  kills: %d at random, %d aimed at a page's answer\n", r.Kills, r.AimedKills)
	if r.PGSkip != "" {
		fmt.Fprintf(w, "  note: %s\n", r.PGSkip)
	}
	fmt.Fprintf(w, "  brevo: %d contact writes applied; converged %s after the last kill\n", r.Writes, r.Converged.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  skipped: %d   repeated: %d   in-doubt repeats: %d   written backwards: %d\n", r.Skipped, r.Repeats, r.InDoubt, r.Backwards)
	for _, d := range r.Details {
		fmt.Fprintf(w, "  - %s\n", d)
	}
}

// pollProfile sizes a run.
type pollProfile struct {
	customers, pageSize int
	kills, aimed        int
	changeShare         float64 // of the customers saved again between two kills
	converge            time.Duration
}

var (
	shortPoll = pollProfile{customers: 1200, pageSize: 25, kills: 2, aimed: 2, changeShare: 0.03, converge: 90 * time.Second}
	longPoll  = pollProfile{customers: 6000, pageSize: 50, kills: 8, aimed: 8, changeShare: 0.05, converge: 4 * time.Minute}
)

const magentoToken = "mage-faults-token"

// pollRun is one run's state.
type pollRun struct {
	o   PollOptions
	p   pollProfile
	rep *PollReport
	sim *magentosim.Server
	srv *server

	mu      sync.Mutex
	kills   []time.Time
	version map[int]int // customer id → its version in the store
	clock   time.Time   // the last updated_at given, so saves only move forward

	aim    atomic.Int32 // > 0: kill as the store answers the aim-th customer page from now
	killed chan struct{}
	paged  chan struct{} // a customer page was answered
}

func pollEmail(id int) string { return fmt.Sprintf("poll%05d@example.com", id) }

// RunPolling runs the polling scenario: a Magento store of customers, a
// server polling it every 10 s (the shortest poll_interval allowed) with
// 25 customers a page, killed at random and as the store answers a page,
// restarted each time, while customers are saved again in the store.
// Then every customer's last version must be in Brevo, and no version
// written twice but across a kill.
func RunPolling(ctx context.Context, o PollOptions) (*PollReport, error) {
	p, mode := shortPoll, "short"
	if o.Long {
		p, mode = longPoll, "long"
	}
	begin := time.Now()
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x51ed27))
	r := &pollRun{o: o, p: p, rep: &PollReport{Driver: o.Driver, Mode: mode, Seed: o.Seed, Customers: p.customers},
		sim: magentosim.New(magentoToken, nil), version: map[int]int{}, killed: make(chan struct{}, 1), paged: make(chan struct{}, 1)}
	r.sim.OnList(r.onList)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	store := &http.Server{Handler: r.sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = store.Serve(ln) }()
	defer store.Close()
	brevo, err := startBrevo(brevoAPIKey)
	if err != nil {
		return nil, err
	}
	defer brevo.close()

	dsn := filepath.Join(o.Dir, "synclayer.db")
	if o.Driver == "postgres" {
		pg, err := startPostgres(ctx, o.Logf)
		if err != nil {
			return nil, err
		}
		defer pg.Stop()
		dsn, r.rep.PGSkip = pg.DSN, pg.SkipReason
	}
	storeURL := "http://" + ln.Addr().String()
	r.srv, err = newServerWith(o.Bin, o.Dir, []string{"BREVO_API_KEY=" + brevoAPIKey, "MAGENTO_TOKEN=" + magentoToken}, func(listen string) string {
		return fmt.Sprintf(`server:
  listen: %q
storage:
  driver: %s
  dsn: %q
sources:
  magento:
    api_url: %q
    access_token: "${MAGENTO_TOKEN}"
    poll_interval: 10s
    page_size: %d
destinations:
  brevo:
    api_key: "${BREVO_API_KEY}"
    base_url: %q
skills:
  customer-sync:
    enabled: true
    source: [magento]
    field_mapping: { email: email, firstName: FIRSTNAME }
    options: { list_id: %d }
queue:
  lease: 3s
  poll: 100ms
  max_age: 720h
`, listen, o.Driver, dsn, storeURL, p.pageSize, brevo.URL, listID)
	})
	if err != nil {
		return nil, err
	}
	// The customers' saves are dated from half a minute from now on
	// (after the first poll's start however slowly a loaded machine
	// starts the server: a save before it is history, backfill's job, not
	// the poll's), three to a second: some seconds spanning a page
	// boundary (the cursor tells them apart by entity_id), and over
	// minutes, far more than the Settle seconds a poll reads again, so a
	// page the cursor passed over without ingesting it is not read again
	// by luck. Later saves are dated after the last of them.
	r.clock = time.Now().UTC().Truncate(time.Second).Add(30 * time.Second)
	for id := 1; id <= p.customers; id++ {
		r.put(id, r.clock.Add(time.Duration(id/3)*time.Second))
	}
	r.clock = r.clock.Add(time.Duration(p.customers/3) * time.Second)
	if err := r.srv.start(ctx); err != nil {
		return r.rep, err
	}
	defer r.srv.stop()

	// Kills: the aimed ones land as the store answers a page (of the
	// first listing and of the later ones), the others at any moment.
	plan := make([]bool, 0, p.kills+p.aimed)
	for range p.aimed {
		plan = append(plan, true)
	}
	for range p.kills {
		plan = append(plan, false)
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	for _, aimed := range plan {
		if aimed {
			r.aim.Store(int32(1 + rng.IntN(8)))
			select {
			case <-r.killed:
				r.rep.AimedKills++
			case <-time.After(25 * time.Second): // no page asked in two windows: not an aimed kill then
				r.aim.Store(0)
				r.srv.kill()
				r.rep.Kills++
			case <-ctx.Done():
				return r.rep, ctx.Err()
			}
		} else {
			// While a listing runs (a poll takes its window, so a
			// restarted server may wait for the next one): within a
			// page's work of an answer, between its ingest and its
			// cursor's commit.
			select {
			case <-r.paged:
			default:
			}
			select {
			case <-r.paged:
			case <-time.After(25 * time.Second):
			case <-ctx.Done():
				return r.rep, ctx.Err()
			}
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			r.srv.kill()
			r.rep.Kills++
		}
		r.mu.Lock()
		r.kills = append(r.kills, time.Now())
		r.mu.Unlock()
		r.change(rng)
		if err := r.srv.start(ctx); err != nil {
			return r.rep, err
		}
	}
	lastKill := time.Now()
	r.change(rng)

	// Converge: every customer's last version in Brevo.
	deadline := time.Now().Add(p.converge)
	for {
		missing := r.missing(brevo)
		if len(missing) == 0 {
			r.rep.Converged = time.Since(lastKill)
			break
		}
		if time.Now().After(deadline) {
			r.rep.Skipped = len(missing)
			sort.Ints(missing)
			for _, id := range missing[:min(5, len(missing))] {
				r.rep.Details = append(r.rep.Details, fmt.Sprintf("customer %d (%s) at version %d never reached Brevo", id, pollEmail(id), r.versionOf(id)))
			}
			break
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return r.rep, ctx.Err()
		}
	}
	r.judgeWrites(brevo.Writes())
	r.rep.Elapsed = time.Since(begin)
	return r.rep, nil
}

// put saves customer id at version+1 (its first save is version 1) with
// updated_at at.
func (r *pollRun) put(id int, at time.Time) {
	r.version[id]++
	stamp := at.UTC().Format("2006-01-02 15:04:05")
	rec := map[string]any{"id": id, "email": pollEmail(id), "firstname": "v" + strconv.Itoa(r.version[id]), "lastname": "Poll",
		"created_at": r.clock.Format("2006-01-02 15:04:05"), "updated_at": stamp}
	if r.version[id] == 1 {
		r.sim.Put(magentosim.Customers, rec)
		return
	}
	r.sim.Touch(magentosim.Customers, id, map[string]any{"firstname": rec["firstname"], "updated_at": stamp})
}

// change saves a share of the customers again, at now (or later than the
// last save, so the store's updated_at never goes back).
func (r *pollRun) change(rng *rand.Rand) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := time.Now().UTC().Truncate(time.Second)
	if at.Before(r.clock) {
		at = r.clock
	}
	r.clock = at
	n := int(r.p.changeShare * float64(r.p.customers))
	for range n {
		r.put(1+rng.IntN(r.p.customers), at)
	}
	r.rep.Changes += n
}

func (r *pollRun) versionOf(id int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version[id]
}

// onList is the store's hook after each answered search: it counts the
// customer pages and, when a kill is aimed, kills the server as the page
// leaves (before the server can ingest it, or just after: the answer is
// in flight).
func (r *pollRun) onList(kind string, _ int) {
	if kind != magentosim.Customers {
		return
	}
	r.mu.Lock()
	r.rep.Pages++
	r.mu.Unlock()
	select {
	case r.paged <- struct{}{}:
	default:
	}
	for {
		n := r.aim.Load()
		if n <= 0 {
			return
		}
		if r.aim.CompareAndSwap(n, n-1) {
			if n == 1 {
				r.srv.kill()
				r.killed <- struct{}{}
			}
			return
		}
	}
}

// missing returns the customers whose last version is not Brevo's.
func (r *pollRun) missing(b *brevoServer) []int {
	have := map[string]string{}
	for _, c := range b.Sim.Contacts() {
		if v, ok := c.Attributes["FIRSTNAME"].(string); ok {
			have[strings.ToLower(c.Email)] = v
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for id, v := range r.version {
		if have[pollEmail(id)] != "v"+strconv.Itoa(v) {
			out = append(out, id)
		}
	}
	return out
}

// judgeWrites walks each contact's applied writes in order: a version
// equal to the one before it is a repeat (in doubt when a kill fell
// between the two), a lower one a write backwards.
func (r *pollRun) judgeWrites(writes []Write) {
	last := map[string]int{}
	at := map[string]time.Time{}
	for _, w := range writes {
		if !w.OK() || w.Method == http.MethodDelete {
			continue
		}
		v, ok := writtenVersion(w.Body)
		if !ok {
			continue
		}
		email := w.Email
		if email == "" {
			email = w.ExtID
		}
		r.rep.Writes++
		prev, seen := last[email]
		switch {
		case seen && v == prev && r.killBetween(at[email], w.At):
			r.rep.InDoubt++
		case seen && v == prev:
			r.rep.Repeats++
			if r.rep.Repeats <= 5 {
				r.rep.Details = append(r.rep.Details, fmt.Sprintf("%s: version %d written twice, at %s and %s, with no kill between", email, v, at[email].Format("15:04:05.000"), w.At.Format("15:04:05.000")))
			}
		case seen && v < prev:
			r.rep.Backwards++
			if r.rep.Backwards <= 5 {
				r.rep.Details = append(r.rep.Details, fmt.Sprintf("%s: version %d written after version %d", email, v, prev))
			}
		}
		last[email], at[email] = v, w.At
	}
}

func (r *pollRun) killBetween(a, b time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.kills {
		if !k.Before(a) && !k.After(b) {
			return true
		}
	}
	return false
}

// writtenVersion reads the FIRSTNAME "v<N>" a contact write carries.
func writtenVersion(body []byte) (int, bool) {
	var v struct {
		Attributes map[string]any `json:"attributes"`
	}
	if json.Unmarshal(body, &v) != nil {
		return 0, false
	}
	s, ok := v.Attributes["FIRSTNAME"].(string)
	if !ok || !strings.HasPrefix(s, "v") {
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	return n, err == nil
}
