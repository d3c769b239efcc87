package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"synclayer"
)

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers 200 when Ready passes, else 503 with the reason.
// Only a storage failure is logged here: the program logs what it reports
// itself (a rejected key, the shutdown) once, not at every probe.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			body := map[string]string{"status": "unavailable", "reason": "storage is not reachable or not migrated"}
			var e *synclayer.Error
			if errors.As(err, &e) {
				body["reason"] = e.Message
				if e.Field != "" {
					body["field"] = e.Field
				}
			} else {
				s.cfg.Logger.Warn("not ready", "err", err)
			}
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
