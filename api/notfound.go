package api

import (
	"fmt"
	"net/http"
	"strings"
)

// jsonErrors answers in the API's error shape what ServeMux would answer
// in plain text: a path no route takes is 404 not_found naming it, and a
// route called with a method it does not take is 405 method_not_allowed,
// with Allow listing the methods it takes. Every matched route, the
// dashboard's /ui/ pages and the Extra mounts among them, answers as
// before.
func (s *Server) jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" { // a route, or ServeMux's redirect to a cleaned path
			mux.ServeHTTP(w, r)
			return
		}
		// Without a pattern, h is ServeMux's 404 or 405; run it into a
		// recorder only to learn which, and the methods it allows.
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		path := r.URL.Path
		if len(path) > 200 {
			path = path[:200] + "..."
		}
		if rec.status == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, errorBodyOf("method_not_allowed",
				fmt.Sprintf("%s does not take %s; it takes %s", path, r.Method, strings.ReplaceAll(allow, ", ", " or ")), ""))
			return
		}
		writeJSON(w, http.StatusNotFound, errorBodyOf("not_found",
			fmt.Sprintf("nothing is served at %s; the admin API's routes are listed in /api/v1/openapi.yaml", path), ""))
	})
}

// statusRecorder keeps a response's status and headers and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *statusRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(b), nil
}

// handleRoot sends a browser to the dashboard; without one it answers an
// index of where to look.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if s.cfg.UI != nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"name": "synclayer", "openapi": "/api/v1/openapi.yaml", "health": "/healthz", "ready": "/readyz",
	})
}
