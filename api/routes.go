// Package api serves synclayer over HTTP: the webhook ingress, health
// checks, and the admin API under /api/v1, which takes a bearer API key and
// is described by openapi.yaml. Every route is in Handler's one list, with
// the role it needs.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/limit"
)

// Ingester is the pipeline entry the handlers feed.
type Ingester interface {
	Ingest(ctx context.Context, events []*synclayer.Event) ([]ingest.Result, error)
}

// Config configures the HTTP handler.
type Config struct {
	Sources    map[string]synclayer.Source
	Ingester   Ingester
	Store      synclayer.Store
	Rejections synclayer.RejectionStore
	Keys       synclayer.KeyStore // authenticates the admin API; nil refuses every key
	Skills     SkillManager
	Configs    ConfigManager // the config history and rollbacks; nil answers them 500
	Replay     Replayer      // POST /api/v1/replay; nil answers it 500
	// Ready answers /readyz: nil is ready. An *synclayer.Error is answered
	// 503 with its Message as the reason and its Field (a config key, such
	// as destinations.brevo.api_key); any other error as storage that is
	// unreachable or not migrated.
	Ready        func(ctx context.Context) error
	MaxBodyBytes int64
	Logger       *slog.Logger
	Now          func() time.Time
	// Extra routes mounted as they are, such as the built-in simulator.
	Extra map[string]http.Handler
	// SourceLimits caps each source's webhooks (sources.<name>.rate_limit);
	// a source without one is not limited.
	SourceLimits map[string]*limit.Keyed
	// RejectLimit caps the rejected webhooks (bad signatures, bad bodies)
	// per client address; past it an address gets 429 before its body is
	// read. Loopback is never limited. Nil: no limit.
	RejectLimit *limit.Keyed
	// OnWebhook, if set, is told the outcome of every webhook, for metrics.
	OnWebhook func(source, outcome string)
	// Stats answers GET /api/v1/stats; nil answers it 500.
	Stats synclayer.StatsStore
	// Metrics, if set, serves GET /metrics: open, or for a viewer key
	// with MetricsAuth (server.metrics_auth).
	Metrics     http.Handler
	MetricsAuth bool
	// UI, if set, is the dashboard under /ui/. It checks the same API keys
	// itself, from a bearer header or its session cookie.
	UI http.Handler
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg        Config
	formMu     sync.Mutex
	formLimits map[string]*limit.Keyed // per client address, by form (form.go)
}

// Handler returns the HTTP handler with every route. A request no route
// takes is answered in the error shape too (notfound.go), except under the
// dashboard's /ui/ and the Extra mounts, which answer for themselves.
func Handler(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.HandleFunc("POST /webhooks/{source}", s.handleWebhook)
	mux.HandleFunc("GET /webhooks/{source}", s.handleWebhookCheck)
	mux.HandleFunc("/webhooks/{source}", s.handleWebhookMethod) // any other method
	mux.HandleFunc("POST /forms/{name}", s.handleForm)
	mux.HandleFunc("OPTIONS /forms/{name}", s.handleFormPreflight)
	mux.HandleFunc("GET /forms/{name}/confirm", s.handleConfirmPage)
	mux.HandleFunc("POST /forms/{name}/confirm", s.handleConfirm)
	mux.HandleFunc("GET /api/v1/openapi.yaml", s.handleOpenAPI)
	mux.HandleFunc("GET /{$}", s.handleRoot)

	viewer, operator, admin := synclayer.RoleViewer, synclayer.RoleOperator, synclayer.RoleAdmin
	mux.Handle("GET /api/v1/skills", s.auth(viewer, s.handleSkillList))
	mux.Handle("PUT /api/v1/skills/{name}", s.auth(admin, s.handleSkillPut))
	mux.Handle("POST /api/v1/skills/{name}/disable", s.auth(admin, s.handleSkillDisable))
	mux.Handle("POST /api/v1/skills/{name}/trigger", s.auth(operator, s.handleSkillTrigger))
	mux.Handle("GET /api/v1/contacts", s.auth(viewer, s.handleContactList))
	mux.Handle("GET /api/v1/contacts/{id}", s.auth(viewer, s.handleContactGet))
	mux.Handle("GET /api/v1/contacts/{id}/trace", s.auth(viewer, s.handleContactTrace))
	mux.Handle("GET /api/v1/companies", s.auth(viewer, s.handleCompanyList))
	mux.Handle("GET /api/v1/companies/{id}", s.auth(viewer, s.handleCompanyGet))
	mux.Handle("GET /api/v1/rejections", s.auth(operator, s.handleRejectionList))
	mux.Handle("GET /api/v1/jobs", s.auth(viewer, s.handleJobList))
	mux.Handle("GET /api/v1/dlq", s.auth(viewer, s.handleDLQList))
	mux.Handle("POST /api/v1/dlq/retry", s.auth(operator, s.handleDLQRetryAll))
	mux.Handle("POST /api/v1/dlq/{id}/retry", s.auth(operator, s.handleDLQRetry))
	mux.Handle("DELETE /api/v1/dlq/{id}", s.auth(operator, s.handleDLQDelete))
	mux.Handle("GET /api/v1/keys", s.auth(admin, s.handleKeyList))
	mux.Handle("POST /api/v1/keys", s.auth(admin, s.handleKeyCreate))
	mux.Handle("POST /api/v1/keys/{id}/revoke", s.auth(admin, s.handleKeyRevoke))
	mux.Handle("POST /api/v1/replay", s.auth(operator, s.handleReplay))
	mux.Handle("GET /api/v1/stats", s.auth(viewer, s.handleStats))
	mux.Handle("GET /api/v1/config/versions", s.auth(viewer, s.handleConfigVersionList))
	mux.Handle("GET /api/v1/config/versions/{n}", s.auth(viewer, s.handleConfigVersionGet))
	mux.Handle("POST /api/v1/config/rollback", s.auth(admin, s.handleConfigRollback))
	switch {
	case cfg.Metrics != nil && cfg.MetricsAuth:
		mux.Handle("GET /metrics", s.auth(viewer, cfg.Metrics.ServeHTTP))
	case cfg.Metrics != nil:
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.UI != nil {
		mux.Handle("/ui/", cfg.UI) // routes and roles in dashboard/routes.go
	}
	for pattern, h := range cfg.Extra {
		mux.Handle(pattern, h)
	}
	return s.jsonErrors(mux)
}
