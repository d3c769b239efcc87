// Command bench measures synclayer end to end and prints the figures quoted
// in the README:
//
//	go run ./bench [--n 20000] [--c 32] [--driver postgres] [--json]
//	go run ./bench --orders 10000 --backfill 100000 --backfill-memory 1000000
//	go run ./bench --backfill-api 100000
//	go run ./bench --driver postgres --instances 3 --n 6000 [--no-kill]
//
// It builds the real binary and runs it as a child process, so the memory
// and CPU reported are the server's alone, against a Brevo simulator served
// from this process. Everything a deployment pays for is included: HMAC
// check, parsing, normalization, the transaction that stores each webhook
// with its job, the delivery queue and the Brevo client. The load generator
// and the simulator share the host's cores with the server, so on a small
// machine the figures are a floor, not a ceiling.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	n, c             int
	latencyN         int
	latencyRate      float64
	timeout          time.Duration
	driver, dsn      string
	queueConcurrency int
	json             bool
	keep             bool
	orders           int  // orders/create webhooks in the order burst (0 skips it)
	backfill         int  // contacts in the backfill throughput run (0 skips it)
	backfillMemory   int  // contacts in the backfill memory run (0 skips it)
	requests         int  // contacts in the destinations' requests run (0 skips it)
	backfillAPI      int  // customers in the backfill --from shopify run (0 skips it)
	instances        int  // several instances on one PostgreSQL, 1..instances (0 skips it)
	noKill           bool // --instances without killing one
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 20000, "webhooks in the saturated burst")
	flag.IntVar(&o.c, "c", 32, "concurrent keep-alive clients")
	flag.IntVar(&o.latencyN, "latency-n", 2000, "webhooks in the paced latency run (0 skips it)")
	flag.Float64Var(&o.latencyRate, "latency-rate", 200, "webhooks per second in the paced latency run")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "how long to wait for every contact to reach Brevo, per run")
	flag.StringVar(&o.driver, "driver", "sqlite", "storage driver: sqlite or postgres")
	flag.StringVar(&o.dsn, "dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgres only: a server URL on which a fresh database is created and dropped after")
	flag.IntVar(&o.queueConcurrency, "queue-concurrency", 0, "queue.concurrency for the server (0: its default)")
	flag.BoolVar(&o.json, "json", false, "print the report as JSON")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (config, server log, SQLite database) and print its path")
	flag.IntVar(&o.orders, "orders", 0, "signed orders/create webhooks in an order burst, with order-events on (0 skips it)")
	flag.IntVar(&o.backfill, "backfill", 0, "contacts in a backfill throughput run: Shopify CSV export to Brevo imports (0 skips it)")
	flag.IntVar(&o.backfillMemory, "backfill-memory", 0, "contacts in a backfill whose peak memory is reported, e.g. 1000000 (0 skips it)")
	flag.IntVar(&o.requests, "requests", 0, "contacts synced to Brevo, Klaviyo and Mailchimp at once, counting each one's requests per contact; runs alone (0 skips it)")
	flag.IntVar(&o.backfillAPI, "backfill-api", 0, "customers seeded in a Shopify simulator and backfilled with `backfill customer-sync --from shopify --no-push` into SQLite, e.g. 100000; runs alone (0 skips it)")
	flag.IntVar(&o.instances, "instances", 0, "postgres only: run 1, 2 … N synclayer instances on one database behind the --n webhooks spread round-robin, killing one half-way when 2 or more; runs alone (0 skips it)")
	flag.BoolVar(&o.noKill, "no-kill", false, "with --instances: kill no instance, to see what the instances alone cost")
	flag.Parse()
	if o.n <= 0 || o.c <= 0 || o.latencyN < 0 || (o.latencyN > 0 && o.latencyRate <= 0) || o.orders < 0 || o.backfill < 0 || o.backfillMemory < 0 || o.backfillAPI < 0 {
		fmt.Fprintln(os.Stderr, "bench: --n and --c must be positive, --latency-n, --orders, --backfill, --backfill-memory and --backfill-api not negative, --latency-rate positive")
		os.Exit(2)
	}
	if o.driver != "sqlite" && o.driver != "postgres" {
		fmt.Fprintf(os.Stderr, "bench: --driver must be sqlite or postgres, not %q\n", o.driver)
		os.Exit(2)
	}
	if o.instances < 0 || (o.instances > 0 && o.driver != "postgres") {
		fmt.Fprintln(os.Stderr, "bench: --instances needs --driver postgres: SQLite is one file for one process, so several instances cannot share it")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if o.json {
		err = rep.writeJSON(os.Stdout)
	} else {
		err = rep.writeText(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if rep.Instances != nil && rep.Instances.failed() {
		fmt.Fprintln(os.Stderr, "bench: with several instances, webhooks were lost, duplicated or accepted by none")
		os.Exit(1)
	}
	if rep.incomplete() {
		fmt.Fprintln(os.Stderr, "bench: some contacts did not reach Brevo within --timeout; the latencies cover only those that did")
		os.Exit(1)
	}
}

// run does the whole measurement. Every resource it starts is released by a
// defer, so an error or an interrupt leaves no process, database or
// temporary directory behind.
func run(ctx context.Context, o options) (*report, error) {
	ctx, cancel := context.WithCancel(ctx) // also stops the simulator's tracker
	defer cancel()
	dir, err := os.MkdirTemp("", "synclayer-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		defer progress("kept " + dir)
	} else {
		defer os.RemoveAll(dir)
	}

	progress("building synclayer")
	bin, err := buildBinary(ctx, dir)
	if err != nil {
		return nil, err
	}
	cfg := serverConfig{bin: bin, dir: dir, driver: o.driver, dsn: filepath.Join(dir, "synclayer.db"),
		secret: randomHex(24), apiKey: "xkeysib-bench-" + randomHex(16), queueConcurrency: o.queueConcurrency, orders: o.orders > 0}
	if o.instances > 0 {
		r, err := runInstances(ctx, cfg, o)
		if err != nil {
			return nil, err
		}
		return &report{Driver: o.driver, Cores: runtime.NumCPU(), Clients: o.c, Instances: r}, nil
	}
	if o.driver == "postgres" {
		dsn, drop, err := createDatabase(ctx, o.dsn)
		if err != nil {
			return nil, err
		}
		defer drop()
		cfg.dsn = dsn
	}
	if o.backfillAPI > 0 {
		progress(fmt.Sprintf("backfill --from shopify: %d customers from the Shopify simulator", o.backfillAPI))
		r, err := runBackfillAPI(ctx, cfg, o.backfillAPI)
		if err != nil {
			return nil, err
		}
		return &report{Driver: "sqlite", Cores: runtime.NumCPU(), BackfillAPI: r}, nil
	}
	if o.requests > 0 {
		progress(fmt.Sprintf("requests: %d contacts to Brevo, Klaviyo, Mailchimp, HubSpot and Pipedrive", o.requests))
		r, err := runRequests(ctx, cfg, o.requests)
		if err != nil {
			return nil, err
		}
		return &report{Driver: o.driver, Cores: runtime.NumCPU(), Requests: r}, nil
	}
	sim, err := startSimulator(cfg.apiKey)
	if err != nil {
		return nil, err
	}
	defer sim.close()
	cfg.brevoURL = sim.url

	progress("starting synclayer (" + o.driver + ")")
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	go sim.track(ctx)

	rep := &report{Driver: o.driver, Cores: runtime.NumCPU(), Clients: o.c}
	client := newClient(o.c)
	webhookURL := srv.url + "/webhooks/shopify"

	progress(fmt.Sprintf("burst: %d webhooks from %d clients", o.n, o.c))
	burst, err := runPhase(ctx, client, webhookURL, sim, prepareWebhooks(cfg.secret, 1, o.n), o.c, 0, o.timeout)
	if err != nil {
		return nil, srv.withLog(err)
	}
	rep.Burst = burst

	if o.latencyN > 0 && burst.Missing > 0 {
		progress("skipping the paced run: with the burst still being delivered it would measure that backlog")
	} else if o.latencyN > 0 {
		progress(fmt.Sprintf("paced: %d webhooks at %g/s", o.latencyN, o.latencyRate))
		paced, err := runPhase(ctx, client, webhookURL, sim, prepareWebhooks(cfg.secret, o.n+1, o.latencyN), o.c, o.latencyRate, o.timeout)
		if err != nil {
			return nil, srv.withLog(err)
		}
		rep.Paced = &paced
	}

	if o.orders > 0 {
		progress(fmt.Sprintf("orders: %d orders/create webhooks from %d clients", o.orders, o.c))
		res, err := send(ctx, client, webhookURL, prepareOrders(cfg.secret, 1, o.orders), o.c, 0)
		if err != nil {
			return nil, srv.withLog(err)
		}
		rep.Orders = &orderPhase{Webhooks: o.orders, Accepted: res.accepted, Non200: res.non200, Errors: res.errors,
			AcceptedPerSecond: float64(res.accepted) / res.wall.Seconds()}
	}
	if rep.PeakMiB, rep.RSSMiB, err = srv.memory(); err != nil {
		return nil, err
	}
	for _, n := range []int{o.backfill, o.backfillMemory} {
		if n == 0 {
			continue
		}
		progress(fmt.Sprintf("backfill: %d contacts from a Shopify customer export", n))
		b, err := runBackfill(ctx, cfg, sim, n)
		if err != nil {
			return nil, err
		}
		rep.Backfills = append(rep.Backfills, b)
	}
	rep.ServerCPU, _ = processCPU(fmt.Sprint(srv.cmd.Process.Pid))
	rep.BenchCPU, _ = processCPU("self")
	if gaps := sim.gaps(); gaps > 0 {
		return nil, errors.New("the simulator's call history overflowed between polls; latencies would be incomplete")
	}
	return rep, nil
}

// runPhase sends hooks (paced at rate per second, or all at once when rate
// is 0) and waits for every accepted one to reach Brevo.
func runPhase(ctx context.Context, client *http.Client, url string, sim *simulator, hooks []webhook, c int, rate float64, timeout time.Duration) (phase, error) {
	res, err := send(ctx, client, url, hooks, c, rate)
	if err != nil {
		return phase{}, err
	}
	progress(fmt.Sprintf("sent in %s: %d accepted (%.0f/s); waiting for Brevo", seconds(res.wall), res.accepted, float64(res.accepted)/res.wall.Seconds()))
	var emails []string
	for i, h := range hooks {
		if res.ok[i] {
			emails = append(emails, h.email)
		}
	}
	last, missing, err := sim.waitFor(ctx, emails, timeout)
	if err != nil {
		return phase{}, err
	}
	p := phase{Webhooks: len(hooks), Rate: rate, Accepted: res.accepted, Non200: res.non200, Errors: res.errors,
		Send: res.wall, Missing: missing}
	if !last.IsZero() {
		p.Delivered = last.Sub(res.start)
	}
	if res.wall > 0 {
		p.AcceptedPerSecond = float64(res.accepted) / res.wall.Seconds()
	}
	var lat []time.Duration
	for i, h := range hooks {
		if at := sim.firstPost(h.email); res.ok[i] && !at.IsZero() {
			lat = append(lat, at.Sub(res.sentAt[i]))
		}
	}
	p.Latency = summarize(lat)
	return p, nil
}

func progress(msg string) { fmt.Fprintln(os.Stderr, "bench:", msg) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
