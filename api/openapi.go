package api

import (
	_ "embed"
	"net/http"
)

// openAPI describes every route this package serves, the webhooks among
// them (authenticated by each platform's signature rather than a key),
// but not the dashboard under /ui/ or the /metrics scrape.
//
//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the embedded OpenAPI 3 document, for clients and for
// tests that validate responses against it.
func OpenAPI() []byte { return openAPI }

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}
