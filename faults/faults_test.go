package faults

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFaults runs the fault-injection scenario on SQLite and PostgreSQL, in
// parallel (most of a run is waiting for leases, backoff and outages).
//
//	go test ./faults                                  short mode, about 90 s
//	SYNCLAYER_FAULTS=long go test ./faults -run TestFaults -v -timeout 60m
//
// SYNCLAYER_FAULTS_SEED replays a run, SYNCLAYER_FAULTS_DRIVERS=sqlite picks
// the databases, SYNCLAYER_FAULTS_RACE=1 builds the server with -race, and
// SYNCLAYER_FAULTS=off or -short skips the test.
func TestFaults(t *testing.T) {
	mode, seed, drivers, bin := setup(t)
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rep, err := Run(t.Context(), Options{Driver: driver, Long: mode == "long", Seed: seed, Bin: bin, Dir: dir, Logf: t.Logf})
			if rep != nil {
				var b strings.Builder
				rep.WriteText(&b)
				t.Log("\n" + b.String())
			}
			if err == nil && !rep.Failed() {
				return
			}
			prefix := filepath.Join(os.TempDir(), "synclayer-faults-"+driver+"-"+strconv.FormatUint(seed, 10))
			for _, f := range []string{"server.log", "histories.txt"} {
				if b, rerr := os.ReadFile(filepath.Join(dir, f)); rerr == nil && os.WriteFile(prefix+"-"+f, b, 0o600) == nil {
					t.Logf("kept %s-%s", prefix, f)
				}
			}
			t.Logf("replay the workload with SYNCLAYER_FAULTS_SEED=%d (timings differ)", seed)
			if err != nil {
				t.Fatal(err)
			}
			t.Error("synclayer broke its promise: nothing lost, nothing doubled, nobody resubscribed (see the report above)")
		})
	}
}

// TestFaults_Polling runs the polling scenario (RunPolling) on SQLite and
// PostgreSQL: a Magento store polled through its REST API while the
// server is killed at random and as the store answers a page.
func TestFaults_Polling(t *testing.T) {
	mode, seed, drivers, bin := setup(t)
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rep, err := RunPolling(t.Context(), PollOptions{Driver: driver, Long: mode == "long", Seed: seed, Bin: bin, Dir: dir, Logf: t.Logf})
			if rep != nil {
				var b strings.Builder
				rep.WriteText(&b)
				t.Log("\n" + b.String())
			}
			if err == nil && !rep.Failed() {
				return
			}
			log := filepath.Join(os.TempDir(), "synclayer-faults-poll-"+driver+"-"+strconv.FormatUint(seed, 10)+"-server.log")
			if b, rerr := os.ReadFile(filepath.Join(dir, "server.log")); rerr == nil && os.WriteFile(log, b, 0o600) == nil {
				t.Logf("kept %s; replay with SYNCLAYER_FAULTS_SEED=%d", log, seed)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Error("the polling source broke its promise: every change once, none skipped (see the report above)")
		})
	}
}

// setup reads the fault runs' environment (SYNCLAYER_FAULTS,
// SYNCLAYER_FAULTS_SEED, SYNCLAYER_FAULTS_DRIVERS, SYNCLAYER_FAULTS_RACE),
// skipping the test when it says off or -short, and builds the server.
func setup(t *testing.T) (mode string, seed uint64, drivers []string, bin string) {
	t.Helper()
	mode = os.Getenv("SYNCLAYER_FAULTS")
	if mode == "off" || (testing.Short() && mode == "") {
		t.Skip("fault injection skipped (SYNCLAYER_FAULTS=off or -short)")
	}
	seed = uint64(time.Now().UnixNano())
	if s := os.Getenv("SYNCLAYER_FAULTS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SYNCLAYER_FAULTS_SEED: %v", err)
		}
	}
	drivers = []string{"sqlite", "postgres"}
	if d := os.Getenv("SYNCLAYER_FAULTS_DRIVERS"); d != "" {
		drivers = strings.Split(d, ",")
	}
	bin, err := Build(t.Context(), t.TempDir(), os.Getenv("SYNCLAYER_FAULTS_RACE") == "1")
	if err != nil {
		t.Fatal(err)
	}
	return mode, seed, drivers, bin
}
