package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"synclayer/source/shopify/shopifysim"
)

// backfillAPIRun is one `synclayer backfill customer-sync --from shopify
// --no-push` of n customers seeded in shopifysim, served from this
// process with a cost bucket large enough never to throttle: the
// listing's own pace (the Admin API's pages or its bulk operation, the
// ingest and the checkpoint after each page) into SQLite.
type backfillAPIRun struct {
	Customers        int     `json:"customers"`
	Seconds          float64 `json:"seconds"` // from start to exit
	RecordsPerSecond float64 `json:"records_per_second"`
	Bulk             bool    `json:"bulk_operation"` // the listing was a bulk operation (above admin.bulk_threshold)
	Listed           string  `json:"listed"`         // the binary's own "listed …" line
	PeakMiB          float64 `json:"vmhwm_mib"`
	// The kill: a first run killed with SIGKILL after KilledAfter, then
	// the run again, which resumes after its last committed page.
	KilledAfter    float64 `json:"killed_after_seconds"`
	ResumedSeconds float64 `json:"resumed_seconds"`
	Resumed        string  `json:"resumed"` // the resumed run's "resuming …" line
	// ResumedWritten and ResumedSkipped are the whole backfill's counts
	// after the resume: a page the killed run ingested after its last
	// checkpoint is read again and skipped.
	ResumedWritten int `json:"resumed_written"`
	ResumedSkipped int `json:"resumed_skipped"`
}

func (r *backfillAPIRun) print(w io.Writer) {
	how := "paged GraphQL"
	if r.Bulk {
		how = "bulk operation"
	}
	fmt.Fprintf(w, "backfill --from shopify: %d customers (%s) into SQLite, no push, in %.1f s: %.0f records/s, peak memory (VmHWM) %.1f MiB\n",
		r.Customers, how, r.Seconds, r.RecordsPerSecond, r.PeakMiB)
	fmt.Fprintf(w, "  %s\n", r.Listed)
	fmt.Fprintf(w, "  killed (SIGKILL) after %.1f s; the run again resumed and finished in %.1f s (%s): %d written, %d read again and skipped\n",
		r.KilledAfter, r.ResumedSeconds, r.Resumed, r.ResumedWritten, r.ResumedSkipped)
}

const benchShopToken = "shpat_bench_0123456789abcdef"

// runBackfillAPI seeds n customers in shopifysim and backfills them with
// the binary.
func runBackfillAPI(ctx context.Context, c serverConfig, n int) (*backfillAPIRun, error) {
	shop := shopifysim.New(shopifysim.Options{AccessToken: benchShopToken, Bucket: 1e9, RestoreRate: 1e9})
	shop.SeedCustomers(n, time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC))
	hs := httptest.NewServer(shop)
	defer hs.Close()
	dir := filepath.Join(c.dir, fmt.Sprintf("backfill-api-%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`storage: { driver: sqlite, dsn: %q }
sources:
  shopify: { secret: "bench", admin: { shop: bench.myshopify.com, access_token: %q, base_url: %q } }
destinations:
  brevo: { api_key: "xkeysib-bench", base_url: "http://127.0.0.1:1/v3" }
skills:
  customer-sync: { enabled: true, source: shopify, options: { list_id: 5, import_list_id: 9 } }
`, filepath.Join(dir, "synclayer.db"), benchShopToken, hs.URL)
	cfgPath := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	backfill := func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, c.bin, "backfill", "customer-sync", "--from", "shopify", "--no-push", "--config", cfgPath)
		cmd.Dir = dir
		cmd.SysProcAttr = sysProcAttr()
		return cmd
	}
	// The timed run, on a fresh store.
	cmd := backfill()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("backfill --from shopify of %d customers: %w\n%s", n, err, tail(string(out), 15))
	}
	if !strings.Contains(string(out), fmt.Sprintf("read %d, written %d", n, n)) {
		return nil, fmt.Errorf("backfill --from shopify of %d customers did not load them all:\n%s", n, tail(string(out), 15))
	}
	r := &backfillAPIRun{Customers: n, Seconds: took.Seconds(), RecordsPerSecond: float64(n) / took.Seconds(),
		Bulk: shop.BulkOperations() > 0, PeakMiB: maxRSSMiB(cmd.ProcessState)}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "listed ") {
			r.Listed = l
		}
	}

	// The kill: a fresh store again, the run killed at 40% of the timed
	// run's time, then run again to the end.
	for _, f := range []string{"synclayer.db", "synclayer.db-wal", "synclayer.db-shm"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	cmd = backfill()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	killAt := time.Duration(0.4 * float64(took))
	time.Sleep(killAt)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	r.KilledAfter = killAt.Seconds()
	cmd = backfill()
	start = time.Now()
	out, err = cmd.CombinedOutput()
	r.ResumedSeconds = time.Since(start).Seconds()
	if err != nil {
		return nil, fmt.Errorf("backfill --from shopify after a kill: %w\n%s", err, tail(string(out), 15))
	}
	// A page ingested by the killed run after its last checkpoint is read
	// again and skipped as duplicates: written and skipped make n.
	var read, written, skipped, failed int
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "read "); i >= 0 && strings.Contains(l, "written") {
			_, _ = fmt.Sscanf(l[i:], "read %d, written %d, skipped %d, failed %d", &read, &written, &skipped, &failed)
		}
	}
	if read != n || written+skipped != n || failed != 0 || written < n-1000 {
		return nil, fmt.Errorf("backfill --from shopify after a kill: read %d, written %d, skipped %d, failed %d of %d:\n%s", read, written, skipped, failed, n, tail(string(out), 15))
	}
	r.ResumedWritten, r.ResumedSkipped = written, skipped
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "resum") {
			r.Resumed = strings.TrimSpace(l)
		}
	}
	if r.Resumed == "" {
		return nil, fmt.Errorf("backfill --from shopify after a kill did not say it resumed:\n%s", tail(string(out), 15))
	}
	return r, nil
}
