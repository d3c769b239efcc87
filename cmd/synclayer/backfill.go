package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"synclayer"
	"synclayer/backfill"
	"synclayer/ingest"
	"synclayer/notify"
	"synclayer/skill"
	"synclayer/store"
)

// batchSkills are the skills backfill and resync take.
var batchSkills = []string{skill.CustomerSyncName, skill.OrderEventsName, skill.ProductCatalogName}

// enabledSkill checks that name is a batch skill enabled in cfg.
func enabledSkill(cfg *Config, name string) error {
	on := map[string]bool{}
	if cs := cfg.Skills.CustomerSync; cs != nil {
		on[skill.CustomerSyncName] = cs.Enabled
	}
	for _, s := range cfg.commerceSkills() {
		on[s.name] = s.enabled()
	}
	switch {
	case !slices.Contains(batchSkills, name):
		return fmt.Errorf("unknown skill %q; available: %s", name, strings.Join(batchSkills, ", "))
	case !on[name]:
		return fmt.Errorf("skill %s is not enabled in the config (skills.%s.enabled)", name, name)
	}
	return nil
}

// cmdBackfill loads an export (--file), or every record the source's API
// lists (--from, backfill_api.go), into the store through the ingest
// pipeline and pushes it to Brevo through the batch path. An interrupted
// run, started again the same way, resumes after its last committed chunk
// or page; dedupe keys make loading a record twice harmless anyway.
func cmdBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var file, from, asOf string
	var noPush, restart bool
	fs, src, pos, err := parseFlags("backfill", args, func(fs *flag.FlagSet) {
		fs.StringVar(&file, "file", "", "load the export in `FILE`: a Shopify customer or order CSV, or JSONL of custom events")
		fs.StringVar(&from, "from", "", "list every record of the skill's kind through the API of `SOURCE`, a configured source the skill takes events from (Shopify with an admin: block, Magento with api_url)")
		fs.BoolVar(&noPush, "no-push", false, "only load the store; a running server's flusher pushes")
		fs.BoolVar(&restart, "restart", false, "ignore a checkpoint and load the file (or list the API) from its start")
		fs.StringVar(&asOf, "as-of", "", "the RFC 3339 `TIME` the export was taken, e.g. 2026-11-20T10:00:00Z (default: the file's modification time)")
	})
	if err != nil {
		return err
	}
	name, err := skillArg(fs, pos, batchSkills)
	if err != nil {
		return err
	}
	switch {
	case file != "" && from != "":
		return usageErrorf(fs, "--file and --from are two ways to backfill; give one: --file to load an export, --from to list through a source's API")
	case from != "" && asOf != "":
		return usageErrorf(fs, "--as-of dates an export file; a listing from --from dates each record by its own update time")
	case file == "" && from == "":
		return usageErrorf(fs, "--file or --from is required: the export to load (--file customers_export.csv or --file events.jsonl), or the source to list through its API (--from shopify)")
	}
	var at time.Time
	if asOf != "" {
		if at, err = time.Parse(time.RFC3339, asOf); err != nil {
			return usageErrorf(fs, "--as-of: %q is not an RFC 3339 time such as 2026-11-20T10:00:00Z", asOf)
		}
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	if err := enabledSkill(cfg, name); err != nil {
		return err
	}
	if from != "" {
		return backfillFrom(ctx, cfg, name, from, noPush, restart, stdout, stderr)
	}
	f, err := backfill.Open(file, at, sourceTypes)
	if err != nil {
		return err
	}
	defer f.Close()
	if name == skill.OrderEventsName && f.Records() == synclayer.ExportContacts {
		return fmt.Errorf("--file %s is a customer export; order-events takes an order export or JSONL", filepath.Base(file))
	}
	if name == skill.ProductCatalogName && f.Records() != synclayer.ExportEvents {
		return fmt.Errorf("--file %s is a %s %s export; product-catalog takes JSONL of product events", filepath.Base(file), f.Source, f.Records())
	}
	if name == skill.CustomerSyncName && f.Records() == synclayer.ExportOrders {
		return fmt.Errorf("--file %s is an order export; customer-sync takes a customer export or JSONL (back the orders up with order-events)", filepath.Base(file))
	}
	db, paths, err := openBackfill(ctx, cfg, noPush)
	if err != nil {
		return err
	}
	defer db.Close()

	source := f.Source
	started := time.Now().UTC()
	prog := newProgress(stderr, "loading "+filepath.Base(file), f.Size)
	loader := &backfill.Loader{Store: db, Ingester: ingest.New(batchIngestConfig(cfg, db, source)), File: f,
		Checkpoint: "backfill:" + name + ":" + f.Identity, Restart: restart,
		Progress: func(c backfill.Counts, n int64) {
			prog.update(n, fmt.Sprintf("read %d, written %d, skipped %d, failed %d", c.Read, c.Written, c.Skipped, c.Failed))
		}}
	counts, resumed, err := loader.Load(ctx)
	prog.done()
	if resumed > 0 {
		fmt.Fprintf(stderr, "resumed after line %d, where an earlier run stopped\n", resumed)
	}
	if err != nil {
		return fmt.Errorf("backfill stopped after %d records (%w); run the same command again to resume", counts.Read, err)
	}
	data := notify.BatchData{Run: "backfill", Skill: name, File: filepath.Base(file), StartedAt: started}
	if err := pushAndReport(ctx, cfg, db, paths, noPush, stdout, stderr, loader.Checkpoint, data, counts); err != nil {
		return err
	}
	return db.DeleteCheckpoint(ctx, loader.Checkpoint)
}

// openBackfill opens the store and, unless noPush, the batch paths a
// backfill pushes through.
func openBackfill(ctx context.Context, cfg *Config, noPush bool) (*store.DB, []batchPath, error) {
	db, err := store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return nil, nil, err
	}
	if noPush {
		return db, nil, nil
	}
	paths, err := pushers(cfg, db, true)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%w; or pass --no-push to only load the store (a running server's flusher then pushes)", err)
	}
	return db, paths, nil
}

// pushAndReport pushes what a backfill loaded through paths (unless
// noPush) and prints, and notifies, the batch_completed summary of data
// with the load's counts.
func pushAndReport(ctx context.Context, cfg *Config, db *store.DB, paths []batchPath, noPush bool, stdout, stderr io.Writer, runID string, data notify.BatchData, counts backfill.Counts) error {
	var pushed synclayer.BatchStats
	if !noPush {
		var err error
		if pushed, err = push(ctx, db, paths, stderr); err != nil {
			return fmt.Errorf("backfill loaded %d records, but the push stopped (%w); run the same command again to finish it", counts.Read, err)
		}
	}
	data.Read, data.Written, data.Skipped, data.Failed = counts.Read, counts.Written, counts.Skipped, counts.Failed
	for _, fl := range counts.Failures {
		data.Failures = append(data.Failures, notify.BatchFailure{Line: fl.Line, Reason: fl.Reason})
	}
	finishRun(ctx, cfg, db, stdout, stderr, runID, data, pushed, noPush)
	return nil
}

// push drains the batch paths in their order, consent changes first and
// one by one, and returns the totals. customer-sync's side on each
// destination is prepared first (its attributes or merge fields made
// sure of), as a server does at start.
func push(ctx context.Context, db *store.DB, paths []batchPath, stderr io.Writer) (synclayer.BatchStats, error) {
	var total synclayer.BatchStats
	for _, p := range paths {
		if p.contacts != nil {
			if _, err := p.contacts.Prepare(ctx, true); err != nil {
				return total, fmt.Errorf("%s on %s: %w", p.skill, p.destination, err)
			}
		}
	}
	for _, p := range paths {
		q := p.flusher.Queue()
		left, err := db.CountPending(ctx, q)
		if err != nil {
			return total, err
		}
		imps, err := db.FindImports(ctx, batchSkillOf(q))
		if err != nil {
			return total, err
		}
		if left == 0 && len(imps) == 0 {
			continue
		}
		prog := newProgress(stderr, "pushing "+p.skill+" to "+p.destination, int64(left))
		st, err := p.flusher.Drain(ctx, func(s synclayer.BatchStats, inFlight int) {
			prog.update(int64(s.Claimed), fmt.Sprintf("batched %d in %d calls, realtime %d, unchanged %d, failed %d, calls in flight %d",
				s.Batched, s.Calls, s.Realtime, s.Unchanged, s.Failed, inFlight))
		})
		prog.done()
		total.Add(st)
		if err != nil {
			return total, fmt.Errorf("%s on %s: %w", p.skill, p.destination, err)
		}
	}
	return total, nil
}

func batchSkillOf(queue string) string { return strings.TrimSuffix(queue, ":batch") }

// batchMemoryLimit is the Go heap's soft limit for backfill and resync:
// what they hold at once is bounded (a chunk of events, an import body of
// at most 8 MB and its contacts' states), so the garbage collector is told
// to keep the heap near that rather than let it double, and a
// million-contact export runs in about the memory of a small one.
// GOMEMLIMIT overrides it.
const batchMemoryLimit = 64 << 20

func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(batchMemoryLimit)
	}
}

// finishRun prints the batch_completed summary and sends it as a
// notification when notifications.events names batch_completed. A
// notification that cannot be sent now stays queued for a running
// server's notifier, which retries it.
func finishRun(ctx context.Context, cfg *Config, db *store.DB, stdout, stderr io.Writer, runID string, data notify.BatchData, pushed synclayer.BatchStats, noPush bool) {
	data.Imported, data.Realtime, data.Unchanged, data.PushFailed, data.Calls = pushed.Batched, pushed.Realtime, pushed.Unchanged, pushed.Failed, pushed.Calls
	w := stdout
	fmt.Fprintf(w, "batch_completed: %s %s", data.Run, data.Skill)
	switch {
	case data.File != "":
		fmt.Fprintf(w, " from %s", data.File)
	case data.Source != "":
		fmt.Fprintf(w, " from %s's API", data.Source)
	}
	fmt.Fprintf(w, " in %s\n", time.Since(data.StartedAt).Round(time.Millisecond))
	fmt.Fprintf(w, "  records: read %d, written %d, skipped %d, failed %d\n", data.Read, data.Written, data.Skipped, data.Failed)
	for _, f := range data.Failures {
		if f.Line > 0 {
			fmt.Fprintf(w, "    line %d: %s\n", f.Line, f.Reason)
		} else {
			fmt.Fprintf(w, "    %s\n", f.Reason)
		}
	}
	if data.Failed > len(data.Failures) {
		fmt.Fprintf(w, "    … and %d more\n", data.Failed-len(data.Failures))
	}
	if noPush {
		fmt.Fprintln(w, "  push: skipped (--no-push); a running server's batch flusher sends them")
	} else {
		fmt.Fprintf(w, "  push: imported %d in %d batch calls, realtime %d (consent changes among them), unchanged %d, failed attempts %d (retried, or dead-lettered: synclayer dlq list)\n",
			pushed.Batched, pushed.Calls, pushed.Realtime, pushed.Unchanged, pushed.Failed)
		for i, r := range pushed.Reasons {
			if i == backfill.MaxFailures {
				break
			}
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if !cfg.Notifications.enabled() {
		return
	}
	var events []synclayer.NotificationType
	for _, e := range cfg.Notifications.Events {
		events = append(events, synclayer.NotificationType(e))
	}
	added, err := notify.BatchCompleted(ctx, db, events, runID, time.Now(), data)
	if err != nil {
		fmt.Fprintf(stderr, "the batch_completed notification could not be stored: %v\n", err)
		return
	}
	if added {
		if err := deliverNotifications(ctx, cfg, db); err != nil {
			fmt.Fprintf(stderr, "the batch_completed notification is queued; a running server sends it (%v)\n", err)
		}
	}
}

// progress shows a bar on a terminal and plain lines every few seconds
// otherwise.
type progress struct {
	w     io.Writer
	label string
	bar   *progressbar.ProgressBar
	last  time.Time
	note  string
}

func newProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{w: w, label: label, last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) update(n int64, note string) {
	p.note = note
	if p.bar != nil {
		_ = p.bar.Set64(n)
		p.bar.Describe(p.label + ": " + note)
		return
	}
	if time.Since(p.last) >= 2*time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.w, "%s: %s\n", p.label, note)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	if p.note != "" {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, p.note)
	}
}
