package dashboard

import (
	"net/http"

	"synclayer"
)

// Handler returns every dashboard route, each with the lowest role it
// needs. Paths are absolute: mount it at /ui/.
func (s *Server) Handler() http.Handler {
	viewer, operator := synclayer.RoleViewer, synclayer.RoleOperator
	mux := http.NewServeMux()
	mux.Handle("GET /ui/static/", staticFiles())
	mux.HandleFunc("GET /ui/login", s.handleLoginForm)
	mux.HandleFunc("POST /ui/login", s.handleLogin)
	mux.Handle("POST /ui/logout", s.page(viewer, s.handleLogout))
	mux.Handle("GET /ui/{$}", s.page(viewer, s.handleOverview))
	mux.Handle("GET /ui/failures", s.page(viewer, s.handleFailures))
	mux.Handle("GET /ui/dlq", s.page(viewer, s.handleDLQ))
	mux.Handle("GET /ui/report", s.page(viewer, s.handleReport))
	mux.Handle("POST /ui/dlq/{id}/retry", s.page(operator, s.handleDLQRetry))
	mux.Handle("POST /ui/dlq/{id}/discard", s.page(operator, s.handleDLQDiscard))
	mux.Handle("GET /ui/contacts", s.page(viewer, s.handleContactSearch))
	mux.Handle("GET /ui/contacts/{id}", s.page(viewer, s.handleContact))
	mux.Handle("GET /ui/connections", s.page(viewer, s.handleConnections))
	mux.Handle("/ui/", s.page(viewer, func(w http.ResponseWriter, r *http.Request, req *request) {
		s.fail(w, r, req, errorf(synclayer.ENOTFOUND, "There is no page at %s.", r.URL.Path))
	}))
	return secure(mux)
}
