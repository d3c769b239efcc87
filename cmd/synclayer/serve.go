package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/api"
	"synclayer/limit"
	"synclayer/metrics"
	"synclayer/notify"
	"synclayer/queue"
	"synclayer/store"
)

// Main is the running program: built from a Config by Run, and shared by
// the serve command and the end-to-end tests.
type Main struct {
	Config *Config
	Logger *slog.Logger
	Stderr io.Writer

	DB   *store.DB
	Addr string // the address the server listens on
	// PlainAddr is, with HTTPS, the address of the plain listener that
	// redirects to it (and answers ACME's challenges); "" without one.
	PlainAddr string
	// Ingester is the pipeline webhooks, the API and Trigger feed; its
	// routes follow the skills' current config.
	Ingester api.Ingester
	// ConfigPoll is how often to look for config versions recorded
	// elsewhere (DefaultConfigPoll); NotifyPoll how often the notifier
	// looks for outcomes when not woken (2 s). Tests shorten them.
	ConfigPoll time.Duration
	NotifyPoll time.Duration
	// ApplyConfig records the config file as the newest version even when
	// other instances run a different one (serve --apply-config); without
	// it, an instance joining a running fleet runs the fleet's config.
	ApplyConfig bool
	// CheckPoll is how often a destination that failed its check is
	// checked again (10 s); tests shorten it.
	CheckPoll time.Duration
	// EncryptionKey seals the tokens destinations keep in the store
	// (tokens.go); nil reads SYNCLAYER_ENCRYPTION_KEY(_FILE).
	EncryptionKey []byte

	// skills runs customer-sync and applies admin changes to it. Config
	// stays what Run started with; the skills' current settings are here.
	skills   *skillRuntime
	level    *slog.LevelVar // nil when the caller supplied Logger
	metrics  *metrics.Metrics
	tel      *telemetry       // nil with telemetry off (otel.go)
	notifier *notify.Notifier // nil without notifications
	// destinations are the configured destinations by name.
	destinations map[string]synclayer.Destination
	// sources are the configured sources by name, each with its secrets.
	sources map[string]synclayer.Source
	// triggers records workflow rules' actions for canonical events (set
	// by workflows.go; nil without workflows). Ingest and cart-events fire it.
	triggers synclayer.TriggerSink
	// readiness is what /readyz answers beyond storage (ready.go).
	readiness readiness

	http   *http.Server
	joined *joinedListener // with HTTPS, server.listen and the simulators' loopback listener (tls.go)
	lock   *dataLock       // held on the SQLite file while serving; nil on PostgreSQL
	// instance is this server in the instances table (fleet.go).
	instance *synclayer.Instance
	workers  []*queue.Worker
	mu       sync.Mutex
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Run opens the store, builds sources, skills and workers, and starts
// serving. It returns once the server is listening; Close stops it.
func (m *Main) Run(ctx context.Context) (err error) {
	cfg := m.Config
	if m.Stderr == nil {
		m.Stderr = os.Stderr
	}
	secrets, err := m.loadSecrets()
	if err != nil {
		return err
	}
	if m.Logger == nil {
		m.level = new(slog.LevelVar)
		m.Logger = newLogger(m.Stderr, m.level, cfg.Log.Format, append(append(append(allSecrets(secrets), cfg.workflowSecrets()...),
			append(cfg.destinationSecrets(), cfg.sourceSecrets()...)...), cfg.Notifications.Secret, cfg.Notifications.SlackWebhookURL))
		m.setLogLevel(cfg.Skills.CustomerSync)
	}
	m.Logger = slog.New(contextHandler{m.Logger.Handler()}) // request and trace ids (otel.go)
	log := m.Logger
	if cfg.path != "" && len(cfg.defaulted) > 0 {
		log.Info("the config file leaves these to the built-in defaults", "file", cfg.path, "keys", cfg.defaultedKeys())
	}
	for _, w := range append(cfg.warnings, cfg.generatedSecretWarnings()...) {
		log.Warn(w)
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	if cfg.Storage.Driver == "sqlite" {
		if m.lock, err = lockSQLite(cfg.Storage.DSN, cfg.Server.Listen, cfg.path); err != nil {
			return err
		}
	}
	if m.DB, err = store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN); err != nil {
		return err
	}
	ln, err := m.listen() // tls.go
	if err != nil {
		return err
	}
	m.Addr = ln.Addr().String()
	m.lock.listening(m.Addr)
	m.instance = newInstance()
	m.metrics = m.newMetrics(secrets)
	if m.tel, err = m.newTelemetry(); err != nil { // observe.go
		return err
	}

	extra := map[string]http.Handler{}
	if err := m.openDestinations(extra); err != nil {
		return err
	}

	m.openSources(secrets)
	cs, version, err := m.resumeConfig(ctx)
	if err != nil {
		return fmt.Errorf("config history: %w", err)
	}
	m.setLogLevel(cs)
	if m.skills, err = newSkillRuntime(m, cs, version); err != nil {
		return fmt.Errorf("customer-sync: %w", err)
	}
	m.Ingester = m.tracedIngester(m.skills) // otel.go
	if err := m.startPprof(); err != nil {
		return err
	}
	if err := m.startNotifications(); err != nil {
		return err
	}
	m.startServing(ln, extra)
	m.registerWebhooks() // inbound.go
	m.startWriteBacks()  // writeback.go
	m.startFetchers()    // writeback.go
	m.startReconcile()   // reconcile.go
	m.startPolls()       // poll.go
	m.startSourceReconcile()
	m.startPrune() // prune.go
	if err := m.skills.start(ctx); err != nil {
		return err
	}
	if err := m.startCommerce(); err != nil {
		return err
	}
	m.startBatch()
	m.startWorkflows()
	if err := m.startCarts(); err != nil {
		return err
	}
	if err := m.heartbeat(ctx); err != nil {
		return fmt.Errorf("record this instance: %w", err)
	}
	m.skills.watchConfig(cmp.Or(m.ConfigPoll, DefaultConfigPoll))
	log.Info("synclayer is serving", append([]any{"addr", m.Addr, "storage", cfg.Storage.Driver, "sources", strings.Join(sortedNames(secrets), ",")},
		m.servingAttrs(secrets)...)...)
	return nil
}

func (m *Main) startServing(ln net.Listener, extra map[string]http.Handler) {
	sources := maps.Clone(m.sources)
	for name, src := range m.inboundSources() {
		if _, taken := sources[name]; taken {
			m.Logger.Error("destination's webhook not served: a source has its name", "destination", name)
			continue
		}
		sources[name] = src
	}
	h := api.Handler(api.Config{
		SourceLimits: m.sourceLimits(), RejectLimit: limit.New(1, rejectedPerAddress),
		Sources: sources, Ingester: m.Ingester, Store: m.DB, Rejections: m.DB, Keys: m.DB, Skills: m.skills, Configs: m.skills, Ready: m.ready, Replay: replayer{m},
		MaxBodyBytes: m.Config.Server.MaxBodyBytes, Logger: m.Logger, Extra: extra,
		OnWebhook: m.metrics.Webhook, Stats: m.DB, Metrics: m.metrics.Handler(), MetricsAuth: m.Config.Server.MetricsAuth,
		UI: m.newDashboard().Handler(),
	})
	m.http = &http.Server{
		Handler:           m.behindProxies(m.observeHTTP(h)), // proxy.go, access.go
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "err", err)
		}
	}()
}

func (m *Main) addCancel(cancel context.CancelFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.cancel
	m.cancel = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
}

// startWorker runs a worker for the skill until Close, or until stop is
// called; deliveries in flight then finish in the background. opts adjust
// the queue config built from queue:.
func (m *Main) startWorker(name string, h queue.Handler, opts ...func(*queue.Config)) (stop func()) {
	q := m.Config.Queue
	qc := queue.Config{Store: m.DB, Skill: name, Handler: h, Concurrency: q.Concurrency, MaxConcurrency: q.MaxConcurrency, Lease: q.Lease,
		Poll: q.Poll, MaxAge: q.MaxAge, Logger: m.Logger, Observe: m.observeDelivery}
	if m.tel != nil {
		qc.Span = m.tel.deliverySpan // otel.go
	}
	for _, o := range opts {
		o(&qc)
	}
	w := queue.New(qc)
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.mu.Lock()
	m.workers = append(m.workers, w)
	m.mu.Unlock()
	m.wg.Add(1)
	go func() { defer m.wg.Done(); w.Run(ctx) }()
	return func() {
		cancel()
		m.mu.Lock()
		m.workers = slices.DeleteFunc(m.workers, func(x *queue.Worker) bool { return x == w })
		m.mu.Unlock()
	}
}

func (m *Main) wake(string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		w.Wake()
	}
}

// Close stops accepting requests, lets deliveries in flight finish, and
// closes the store.
func (m *Main) Close() error {
	m.shuttingDown()
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = m.http.Shutdown(ctx)
		cancel()
	}
	m.mu.Lock()
	cancel := m.cancel
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	m.wg.Wait()
	// The deliveries have ended: export their last spans.
	m.tel.shutdown()
	defer m.lock.Unlock() // after the store is closed: the next server may start then
	if m.DB != nil && m.instance != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = m.DB.RemoveInstance(ctx, m.instance.ID)
		cancel()
	}
	if m.DB != nil {
		return m.DB.Close()
	}
	return nil
}

// openDestinations builds every configured destination. One without
// credentials mounts its built-in simulator under /simulator/<name>/.
func (m *Main) openDestinations(extra map[string]http.Handler) error {
	m.destinations = map[string]synclayer.Destination{}
	tokens, err := tokenStore(m.DB, m.EncryptionKey)
	if err != nil {
		return err
	}
	for _, name := range sortedNames(m.Config.Destinations) {
		env := synclayer.DestinationEnv{
			Logger: m.Logger,
			Mount: func(h http.Handler) string {
				prefix := "/simulator/" + name
				extra[prefix+"/"] = http.StripPrefix(prefix, h)
				return m.selfURL() + prefix // tls.go
			},
			OnRateLimitWait: func(bucket string, d time.Duration) { m.metrics.RateLimitWait(name, bucket, d) },
			Transport:       m.tel.transport(name), // otel.go; nil with telemetry off
			Tokens:          tokens,
			Shared:          sharedKeys(m.DB),
			PublicURL: func() string {
				if u := m.Config.Server.PublicURL; u != "" {
					return strings.TrimRight(u, "/")
				}
				return m.selfURL()
			},
		}
		d, err := m.Config.openDestination(name, env)
		if err != nil {
			return fmt.Errorf("destinations.%s: %w", name, err)
		}
		m.destinations[name] = d
	}
	return nil
}

// loadSecrets returns each configured source's accepted secrets, current
// first. A secret_file that does not exist is generated only for the
// built-in defaults, so the quick start works without any setup.
func (m *Main) loadSecrets() (map[string][]string, error) { return m.Config.loadSecrets() }

// loadSecrets is Main.loadSecrets for a command that runs no server
// (sources register, which gives a webhook the secret it is signed with).
func (c *Config) loadSecrets() (map[string][]string, error) {
	out := map[string][]string{}
	for name, s := range c.sources() {
		secret := s.Secret
		if secret == "" && s.SecretFile != "" {
			b, err := os.ReadFile(s.SecretFile)
			if errors.Is(err, os.ErrNotExist) && s.generate {
				b, err = generateSecret(s.typeOf(name), s.SecretFile)
			}
			if err != nil {
				return nil, fmt.Errorf("sources.%s.secret_file: %w", name, err)
			}
			secret = strings.TrimSpace(string(b))
		}
		out[name] = append([]string{secret}, s.PreviousSecrets...)
	}
	return out, nil
}

func generateSecret(typ, path string) ([]byte, error) {
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	t, _ := sourceType(typ)
	secret := t.SecretPrefix + base64.StdEncoding.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, err
	}
	return []byte(secret), nil
}

func allSecrets(m map[string][]string) []string {
	var out []string
	for _, s := range m {
		out = append(out, s...)
	}
	return out
}

// rejectedPerAddress is how many rejected webhooks one client address may
// send at once before it is answered 429, refilled at one a second: enough
// for a platform retrying a misconfigured secret, not for guessing one.
const rejectedPerAddress = 60

// sourceLimits are the sources' rate_limit settings as token buckets.
func (m *Main) sourceLimits() map[string]*limit.Keyed {
	out := map[string]*limit.Keyed{}
	for name, s := range m.Config.sources() {
		if s.RateLimit > 0 {
			out[name] = limit.New(s.RateLimit, max(1, int(2*s.RateLimit)))
		}
	}
	return out
}
