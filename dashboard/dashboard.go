// Package dashboard is synclayer's HTML dashboard under /ui/: per-skill
// delivery figures over a window, recent failures, the dead-letter queue
// with retry and discard, a contact search that opens the contact's
// trace, and the sources and destinations with their health. Pages are
// rendered on the server with html/template, charts included (inline SVG,
// chart.go); templates and the stylesheet are embedded, and no script runs
// in the browser.
//
// It takes the admin API's keys, as a bearer header or through a login
// page that sets a session cookie. The key behind a session is looked up
// on every request, so a revoked key stops working at once. Every route
// and the role it needs are in routes.go.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"synclayer"
	"synclayer/limit"
)

//go:embed templates static
var files embed.FS

// Skill is a skill the program knows, shown even while idle.
type Skill struct {
	Name    string
	Enabled bool
}

// Config configures the dashboard.
type Config struct {
	Store synclayer.Store
	Stats synclayer.StatsStore
	Keys  synclayer.KeyStore
	// Skills lists the skills the program knows.
	Skills func(ctx context.Context) ([]Skill, error)
	// Report computes the health report of the period holding now, or of
	// the one before when prev; nil shows none.
	Report func(ctx context.Context, p synclayer.ReportPeriod, prev bool) (*synclayer.HealthReport, error)
	// Rejections are the refused webhooks, counted per source on the
	// connections page; nil counts none.
	Rejections synclayer.RejectionStore
	// Connections lists the configured sources and destinations for the
	// connections page (connections.go); nil lists none.
	Connections func(ctx context.Context) (Connections, error)
	// SessionTTL is how long a login lasts; default 12 h.
	SessionTTL time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server renders the pages.
type Server struct {
	cfg      Config
	pages    map[string]*template.Template
	sessions *sessions
	// failedLogins counts refused logins per client address: five, then
	// one more every two minutes, so a key cannot be guessed at speed.
	failedLogins *limit.Keyed
}

// New returns the dashboard. It panics if an embedded template does not
// parse, which the tests catch.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Skills == nil {
		cfg.Skills = func(context.Context) ([]Skill, error) { return nil, nil }
	}
	if cfg.Connections == nil {
		cfg.Connections = func(context.Context) (Connections, error) { return Connections{}, nil }
	}
	s := &Server{cfg: cfg, pages: map[string]*template.Template{}, sessions: newSessions(cfg.SessionTTL, cfg.Now),
		failedLogins: limit.New(1.0/120, 5)}
	names, _ := fs.Glob(files, "templates/*.html")
	for _, name := range names {
		base := name[len("templates/"):]
		if base == "layout.html" {
			continue
		}
		s.pages[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", name))
	}
	return s
}

// page is what every template gets: the page's own data, and what the
// layout needs.
type page struct {
	Title  string
	Active string // the nav entry to highlight
	Key    *synclayer.APIKey
	CSRF   string // the session's token for forms; "" for a bearer request
	Data   any
}

// CanOperate reports whether the viewer may retry and discard.
func (p page) CanOperate() bool { return p.Key != nil && p.Key.Role.Allows(synclayer.RoleOperator) }

// Nav is the menu, in order.
func (p page) Nav() []navItem {
	items := []navItem{
		{ID: "overview", Label: "Overview", Href: "/ui/"},
		{ID: "failures", Label: "Failures", Href: "/ui/failures"},
		{ID: "dlq", Label: "Dead letters", Href: "/ui/dlq"},
		{ID: "report", Label: "Health report", Href: "/ui/report?period=week"},
		{ID: "contacts", Label: "Contacts", Href: "/ui/contacts"},
		{ID: "connections", Label: "Connections", Href: "/ui/connections"},
	}
	for i := range items {
		items[i].Active = items[i].ID == p.Active
	}
	return items
}

type navItem struct {
	ID, Label, Href string
	Active          bool
}

// render writes the named page, or a plain 500 if it fails to execute, so
// a half-written page is never sent.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.cfg.Logger.Error("render dashboard page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders an error page with a message that says what to do; internal
// details go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	code := synclayer.ErrorCode(err)
	status, msg := http.StatusInternalServerError, "Something went wrong on the server; the details are in its log. Try again in a moment."
	switch code {
	case synclayer.ENOTFOUND:
		status, msg = http.StatusNotFound, synclayer.ErrorMessage(err)
	case synclayer.EINVALID:
		status, msg = http.StatusBadRequest, synclayer.ErrorMessage(err)
	case synclayer.EFORBIDDEN:
		status, msg = http.StatusForbidden, synclayer.ErrorMessage(err)
	default:
		s.cfg.Logger.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := page{Title: http.StatusText(status), Data: msg}
	if req != nil {
		p.Key, p.CSRF = req.key, req.csrf
	}
	s.render(w, r, status, "error.html", p)
}

// secure sets the headers every dashboard answer carries: nothing from
// elsewhere may load, no page may be framed, and pages with customer data
// are not cached.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func staticFiles() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fsrv := http.StripPrefix("/ui/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

func errorf(code, format string, args ...any) error { return synclayer.Errorf(code, format, args...) }
