package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// backfillRun is one `synclayer backfill` of a generated Shopify customer
// export, run as its own process against the simulator.
type backfillRun struct {
	Contacts          int     `json:"contacts"`
	Seconds           float64 `json:"seconds"` // from start to exit: load into the store and push as imports
	ContactsPerSecond float64 `json:"contacts_per_second"`
	Imports           int     `json:"import_calls"`
	PeakMiB           float64 `json:"vmhwm_mib"` // the backfill process's peak resident set
}

// writeCustomerExport writes n customers in Shopify's export columns: 9 in
// 10 accept email marketing.
func writeCustomerExport(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,Default Address Address1,Default Address City,Default Address Country Code,Default Address Zip,Default Address Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags")
	for i := range n {
		accepts := "yes"
		if i%10 == 9 {
			accepts = "no"
		}
		fmt.Fprintf(w, "'%d,%s,Doe,backfill%d@example.com,%s,,1 Market St,San Francisco,US,94105,,no,%d.%02d,%d,,no,\"vip, newsletter\"\n",
			7100000000+i, firstNames[i%len(firstNames)], i, accepts, i%500, i%100, i%7)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// runBackfill generates an export of n contacts and backfills it with the
// binary, on a fresh database, and reports throughput and peak memory.
func runBackfill(ctx context.Context, c serverConfig, sim *simulator, n int) (*backfillRun, error) {
	dir := filepath.Join(c.dir, fmt.Sprintf("backfill-%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	export := filepath.Join(dir, "customers_export.csv")
	if err := writeCustomerExport(export, n); err != nil {
		return nil, err
	}
	c.dsn = filepath.Join(dir, "synclayer.db")
	if c.driver == "postgres" {
		c.driver = "sqlite" // the backfill figures are for the embedded store
	}
	cfg := strings.Replace(c.yaml(), "      list_id: 5\n", "      list_id: 5\n      import_list_id: 9\n", 1)
	cfgPath := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	before := len(sim.Imports())
	cmd := exec.CommandContext(ctx, c.bin, "backfill", "customer-sync", "--file", export, "--config", cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SHOPIFY_WEBHOOK_SECRET="+c.secret, "BREVO_API_KEY="+c.apiKey)
	cmd.SysProcAttr = sysProcAttr()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("backfill of %d contacts: %w\n%s", n, err, tail(string(out), 15))
	}
	r := &backfillRun{Contacts: n, Seconds: took.Seconds(), ContactsPerSecond: float64(n) / took.Seconds(),
		Imports: len(sim.Imports()) - before, PeakMiB: maxRSSMiB(cmd.ProcessState)}
	if !strings.Contains(string(out), fmt.Sprintf("read %d, written %d", n, n)) {
		return nil, fmt.Errorf("backfill of %d contacts did not load them all:\n%s", n, tail(string(out), 15))
	}
	return r, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
