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
}

func (r *backfillAPIRun) print(w io.Writer) {
	how := "paged GraphQL"
	if r.Bulk {
		how = "bulk operation"
	}
	fmt.Fprintf(w, "backfill --from shopify: %d customers (%s) into SQLite, no push, in %.1f s: %.0f records/s, peak memory (VmHWM) %.1f MiB\n",
		r.Customers, how, r.Seconds, r.RecordsPerSecond, r.PeakMiB)
	fmt.Fprintf(w, "  %s\n", r.Listed)
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
	cmd := exec.CommandContext(ctx, c.bin, "backfill", "customer-sync", "--from", "shopify", "--no-push", "--config", cfgPath)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
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
	return r, nil
}
