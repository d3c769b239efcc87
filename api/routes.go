// Package api serves synclayer over HTTP: the webhook ingress, health
// checks, and operator endpoints. Every route is in Handler's one list.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"synclayer"
	"synclayer/ingest"
)

// Ingester is the pipeline entry the handlers feed.
type Ingester interface {
	Ingest(ctx context.Context, events []*synclayer.Event) ([]ingest.Result, error)
}

// Config configures the HTTP handler.
type Config struct {
	Sources      map[string]synclayer.Source
	Ingester     Ingester
	Store        synclayer.Store
	Rejections   synclayer.RejectionStore
	Ready        func(ctx context.Context) error // storage reachable and migrated
	MaxBodyBytes int64
	Logger       *slog.Logger
	Now          func() time.Time
	// Extra routes mounted as they are, such as the built-in simulator.
	Extra map[string]http.Handler
	// OnWebhook, if set, is told the outcome of every webhook, for metrics.
	OnWebhook func(source, outcome string)
}

// Server holds the handlers' dependencies.
type Server struct{ cfg Config }

// Handler returns the HTTP handler with every route.
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
	for pattern, h := range cfg.Extra {
		mux.Handle(pattern, h)
	}
	return mux
}
