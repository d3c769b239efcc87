// Package metrics serves synclayer's Prometheus metrics. Each Metrics has
// its own registry, never the global default one, so several servers (the
// end-to-end tests run many) can live in one process.
//
// Series, all prefixed synclayer_:
//
//	webhooks_received_total{source,outcome}            counter: accepted, duplicate, rejected, ping, error
//	deliveries_total{skill,destination,outcome}        counter: delivered, retried, dead (one per attempt)
//	delivery_latency_seconds{skill,destination}        histogram: change received → destination holds it
//	queue_jobs{skill,destination,state}                gauge: pending, running, dead, read at scrape time
//	dead_letter_jobs{skill,destination}                gauge: dead-lettered jobs, read at scrape time
//	queue_oldest_pending_seconds{skill,destination}    gauge: age of the oldest change a pending job carries, read at scrape time
//	http_request_duration_seconds{route,method,code}   histogram: HTTP requests by matched route pattern
//	build_info{version,commit,go_version}              gauge: always 1
//	rate_limit_waits_total{destination,bucket}         counter: requests that waited for a rate-limit window
//	rate_limit_wait_seconds_total{destination,bucket}  counter: the planned length of those waits
//
// and the Go runtime's and the process's standard go_* and process_* series.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"synclayer"
)

// JobCounter reads the queue, at each scrape.
type JobCounter interface {
	CountJobsBySkill(ctx context.Context) (map[string]map[synclayer.JobState]int, error)
	// OldestPendingJobs returns, per queue with a pending job, when the
	// oldest change a pending job carries was received.
	OldestPendingJobs(ctx context.Context) (map[string]time.Time, error)
}

// Build names the running binary for synclayer_build_info, so a dashboard
// can show which version each instance runs and an alert can say whether
// a rollout is to blame.
type Build struct {
	Version   string
	Commit    string // "" when the binary carries none
	GoVersion string
}

// Config says which label values exist from the start, so a rate() over a
// series that has not moved yet reads 0 rather than nothing.
type Config struct {
	// Sources are the configured webhook sources. A webhook to any other
	// name is counted as source "unknown", so a scanner probing URLs cannot
	// grow the number of series.
	Sources []string
	// Skills maps each skill to its destination.
	Skills map[string]string
	// RateLimitBuckets maps each destination to its rate-limit buckets.
	RateLimitBuckets map[string][]string
	Jobs             JobCounter
	Build            Build
	Logger           *slog.Logger
	// Now is the clock the oldest-pending age is measured with; default
	// time.Now.
	Now func() time.Time
}

// Metrics holds the registry and the series that hooks move.
type Metrics struct {
	cfg             Config
	reg             *prometheus.Registry
	webhooks        *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	rateWaits       *prometheus.CounterVec
	rateWaitSeconds *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
}

// LatencyBuckets run from 5 ms, a delivery made at once, to an hour, one
// that waited out an outage or a rate limit.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// New returns Metrics registered on a registry of their own.
func New(cfg Config) *Metrics {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Metrics{
		cfg: cfg,
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synclayer_webhooks_received_total",
			Help: "Webhooks received, by source and outcome: accepted, duplicate (deduplicated redelivery), rejected (bad signature or input), ping, error (storage failed).",
		}, []string{"source", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synclayer_deliveries_total",
			Help: "Delivery attempts, by skill, destination and outcome: delivered, retried, dead (dead-lettered).",
		}, []string{"skill", "destination", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "synclayer_delivery_latency_seconds",
			Help:    "Time from receiving the oldest change a delivery carried to the destination holding it, for delivered attempts.",
			Buckets: LatencyBuckets,
		}, []string{"skill", "destination"}),
		rateWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synclayer_rate_limit_waits_total",
			Help: "Requests that waited for a destination's rate-limit window to reset, by destination and bucket.",
		}, []string{"destination", "bucket"}),
		rateWaitSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "synclayer_rate_limit_wait_seconds_total",
			Help: "Planned length of rate-limit waits, in seconds, by destination and bucket.",
		}, []string{"destination", "bucket"}),
	}
	m.httpDuration = newHTTPDuration()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "synclayer_build_info",
		Help:        "Always 1; its labels name the running binary's version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": cfg.Build.Version, "commit": cfg.Build.Commit, "go_version": cfg.Build.GoVersion},
	})
	build.Set(1)
	m.reg.MustRegister(m.webhooks, m.deliveries, m.latency, m.rateWaits, m.rateWaitSeconds, m.httpDuration, build,
		&queueCollector{m: m}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, src := range append(slices.Clone(cfg.Sources), "unknown") {
		for _, o := range []string{"accepted", "duplicate", "rejected", "ping", "error"} {
			m.webhooks.WithLabelValues(src, o)
		}
	}
	for queue, dest := range cfg.Skills {
		skill, _, _ := strings.Cut(queue, "@")
		for _, o := range []string{"delivered", "retried", "dead"} {
			m.deliveries.WithLabelValues(skill, dest, o)
		}
		m.latency.WithLabelValues(skill, dest)
	}
	for dest, buckets := range cfg.RateLimitBuckets {
		for _, b := range buckets {
			m.rateWaits.WithLabelValues(dest, b)
			m.rateWaitSeconds.WithLabelValues(dest, b)
		}
	}
	return m
}

// Handler serves the registry in the Prometheus text format. A failing
// store read leaves out the queue series and logs why; the rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(m.cfg.Logger.Handler(), slog.LevelWarn),
	})
}

// Registry returns the registry, for tests and for registering more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Webhook counts one webhook and its outcome.
func (m *Metrics) Webhook(source, outcome string) {
	if !slices.Contains(m.cfg.Sources, source) {
		source = "unknown"
	}
	m.webhooks.WithLabelValues(source, outcome).Inc()
}

// Delivery counts one delivery attempt; a delivered one also records its
// latency.
func (m *Metrics) Delivery(queue, destination, outcome string, latency time.Duration) {
	skill, _, _ := strings.Cut(queue, "@") // customer-sync@klaviyo is customer-sync on klaviyo
	m.deliveries.WithLabelValues(skill, destination, outcome).Inc()
	if outcome == string(synclayer.DeliveryDelivered) {
		m.latency.WithLabelValues(skill, destination).Observe(latency.Seconds())
	}
}

// RateLimitWait counts one wait for a rate-limit window, of planned length d.
func (m *Metrics) RateLimitWait(destination, bucket string, d time.Duration) {
	m.rateWaits.WithLabelValues(destination, bucket).Inc()
	m.rateWaitSeconds.WithLabelValues(destination, bucket).Add(d.Seconds())
}

var (
	queueDesc = prometheus.NewDesc("synclayer_queue_jobs",
		"Delivery jobs by skill, destination and state (pending, running, dead), read from the store at scrape time.", []string{"skill", "destination", "state"}, nil)
	deadDesc = prometheus.NewDesc("synclayer_dead_letter_jobs",
		"Dead-lettered delivery jobs waiting for a retry or a discard, by skill and destination, read from the store at scrape time.", []string{"skill", "destination"}, nil)
	oldestDesc = prometheus.NewDesc("synclayer_queue_oldest_pending_seconds",
		"Seconds since the oldest change a pending delivery job carries was received (retries keep their first change's time), by skill and destination; 0 with no pending job. Read from the store at scrape time.",
		[]string{"skill", "destination"}, nil)
)

// queueCollector reads the queue from the store at each scrape, so the
// gauges are as fresh as the scrape and no goroutine polls the database.
type queueCollector struct{ m *Metrics }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- deadDesc
	ch <- oldestDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m.cfg.Jobs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.m.cfg.Jobs.CountJobsBySkill(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for skill := range c.m.cfg.Skills {
		if counts[skill] == nil {
			counts[skill] = map[synclayer.JobState]int{}
		}
	}
	for queue, byState := range counts {
		skill, dest, _ := strings.Cut(queue, "@")
		if d, ok := c.m.cfg.Skills[queue]; ok {
			dest = d
		}
		for _, state := range []synclayer.JobState{synclayer.JobPending, synclayer.JobRunning, synclayer.JobDead} {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(byState[state]), skill, dest, string(state))
		}
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(byState[synclayer.JobDead]), skill, dest)
	}
	c.collectOldest(ctx, ch)
}

// collectOldest reports each queue's oldest pending change's age: the one
// gauge to alert on, since it grows through an outage, a stuck worker or a
// rate limit alike, while counts move with traffic. A configured queue
// with nothing pending reads 0, so the series never disappears.
func (c *queueCollector) collectOldest(ctx context.Context, ch chan<- prometheus.Metric) {
	oldest, err := c.m.cfg.Jobs.OldestPendingJobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(oldestDesc, err)
		return
	}
	now := c.m.cfg.Now()
	ages := map[string]float64{}
	for queue := range c.m.cfg.Skills {
		ages[queue] = 0
	}
	for queue, at := range oldest {
		ages[queue] = max(now.Sub(at).Seconds(), 0)
	}
	for queue, age := range ages {
		skill, dest, _ := strings.Cut(queue, "@")
		if d, ok := c.m.cfg.Skills[queue]; ok {
			dest = d
		}
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, skill, dest)
	}
}
