package main

import (
	"cmp"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"synclayer"
	"synclayer/dashboard"
	"synclayer/metrics"
	"synclayer/queue"
	"synclayer/skill"
)

// newMetrics builds this Main's Prometheus registry, with a series for
// every configured source and skill from the start.
func (m *Main) newMetrics(secrets map[string][]string) *metrics.Metrics {
	cfg := metrics.Config{
		Sources:          sortedNames(secrets),
		Skills:           m.contactQueueDestinations(),
		RateLimitBuckets: map[string][]string{"brevo": {"contacts"}},
		Jobs:             m.DB,
		Build:            buildInfo(),
		Logger:           m.Logger,
	}
	m.commerceMetrics(&cfg)
	return metrics.New(cfg)
}

// buildInfo names this binary for synclayer_build_info and the spans'
// service.version: the version as synclayer version prints it
// (versionString), the full commit, and the Go release.
func buildInfo() metrics.Build {
	b := metrics.Build{Version: version, Commit: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			b.Commit = s.Value
		}
	}
	return b
}

// newTelemetry starts tracing per telemetry: (otel.go); nil when off.
func (m *Main) newTelemetry() (*telemetry, error) {
	t := m.Config.Telemetry
	return newTelemetry(t, cmp.Or(t.ServiceName, "synclayer"), buildInfo().Version, m.instance.ID, m.Logger)
}

// observeDelivery is the queue's Observe hook. An outcome of a watched
// skill also wakes the notifier: the store has marked it already.
func (m *Main) observeDelivery(job *synclayer.Job, o queue.Outcome, latency time.Duration) {
	m.metrics.Delivery(job.Queue, job.Destination, string(o), latency)
	if m.notifier != nil && job.Queue != synclayer.NotifySkill {
		m.notifier.Wake()
	}
}

// onBrevoWait is the Brevo client's OnRateLimitWait hook.
func (m *Main) onBrevoWait(bucket string, d time.Duration) {
	m.metrics.RateLimitWait("brevo", bucket, d)
}

// newDashboard builds the /ui/ dashboard on the store, the running skills
// and the configured connections.
func (m *Main) newDashboard() *dashboard.Server {
	return dashboard.New(dashboard.Config{
		Store: m.DB, Stats: m.DB, Keys: m.DB, Rejections: m.DB, Logger: m.Logger, Report: m.healthReport,
		Connections: func(context.Context) (dashboard.Connections, error) { return m.connections(), nil },
		Skills: func(ctx context.Context) ([]dashboard.Skill, error) {
			list, err := m.skills.List(ctx)
			out := make([]dashboard.Skill, len(list))
			for i, s := range list {
				out[i] = dashboard.Skill{Name: s.Name, Enabled: s.Enabled}
			}
			return out, err
		},
	})
}

// connections are the configured sources, with the URL their webhooks
// go to, and destinations, with what readiness knows of their keys and
// the rate-limit budget of the clients that keep one.
func (m *Main) connections() dashboard.Connections {
	base := strings.TrimSuffix(m.Config.Server.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if m.joined != nil {
			scheme = "https"
		}
		base = scheme + "://" + m.Addr
	}
	var c dashboard.Connections
	sources := m.Config.sources()
	for _, name := range sortedNames(sources) {
		src := dashboard.Source{Name: name, Type: sources[name].typeOf(name), WebhookURL: base + "/webhooks/" + name}
		if _, ok := m.sources[name].(synclayer.ConsentWriter); ok {
			src.WriteBackQueue = writeBackQueue(name)
		}
		c.Sources = append(c.Sources, src)
	}
	for _, name := range sortedNames(m.destinations) {
		d := m.destinations[name]
		dst := dashboard.Destination{Name: name, Type: d.Type(), CredentialsKey: "destinations." + name + ".api_key"}
		if t, ok := destinationType(d.Type()); ok && len(t.SecretKeys) > 0 {
			dst.CredentialsKey = "destinations." + name + "." + t.SecretKeys[0]
			if sec := m.Config.Destinations[name]; sec != nil {
				key, _ := sec.Settings[t.SecretKeys[0]].(string)
				dst.Simulated = key == ""
				// Another credential in use (HubSpot's oauth block) is named instead.
				for _, k := range t.SecretKeys[1:] {
					if key == "" && settingAt(sec.Settings, k) != "" && !strings.HasPrefix(k, "webhook.") {
						dst.CredentialsKey, key = "destinations."+name+"."+k, settingAt(sec.Settings, k)
					}
				}
			}
			if sim, ok := d.(interface{ Simulated() bool }); ok {
				dst.Simulated = sim.Simulated()
			}
		}
		if err := m.rejectedCredentials(name); err != nil {
			dst.Rejected = err
		}
		if rb, ok := d.(synclayer.RateBudgeter); ok {
			dst.Budget = rb
		}
		if in, ok := d.(synclayer.InboundDestination); ok && in.Inbound() != nil {
			dst.Inbound = "/webhooks/" + name
		}
		if r, ok := d.(synclayer.Reconciler); ok && r.ReconcileInterval() > 0 {
			dst.ReconcileEvery = r.ReconcileInterval()
			if cp, err := m.DB.FindCheckpoint(context.Background(), reconcileCheckpoint(name)); err == nil {
				dst.LastReconciled = cp.UpdatedAt
			}
		}
		c.Destinations = append(c.Destinations, dst)
	}
	return c
}

// contactQueueDestinations maps customer-sync's queues to their destinations.
func (m *Main) contactQueueDestinations() map[string]string {
	out := map[string]string{skill.CustomerSyncName: "brevo"}
	if cs := m.Config.Skills.CustomerSync; cs != nil {
		for _, t := range m.Config.targets(cs) {
			out[contactQueue(t.name)] = t.name
		}
	}
	return out
}
