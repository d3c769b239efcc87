package hubspotsim

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer/destination/simkit"
)

// Limit is a rolling-window request budget, reported in the
// X-HubSpot-RateLimit-Max, -Remaining and -Interval-Milliseconds headers.
type Limit struct {
	Max      int
	Interval time.Duration
}

// DefaultLimit is HubSpot's documented budget of a private app on a Free
// or Starter account: 100 requests every 10 seconds
// (developers.hubspot.com/docs/api/usage-details).
var DefaultLimit = Limit{Max: 100, Interval: 10 * time.Second}

// DefaultDaily is the daily budget of a Free or Starter account.
const DefaultDaily = 250000

// DefaultSubscription is the subscription the simulator's account starts
// with, as HubSpot's default marketing subscription type.
const DefaultSubscription = "1001"

// Options configures a Server.
type Options struct {
	// AccessToken is the Bearer token required; "" accepts any non-empty
	// one. A missing or wrong token gets 401 INVALID_AUTHENTICATION.
	AccessToken string
	Limit       Limit // zero: DefaultLimit
	Daily       int   // zero: DefaultDaily
	// Validate, when set, checks every request; an error is answered 400
	// VALIDATION_ERROR and recorded in Violations.
	Validate func(r *http.Request, body []byte) error
	Now      func() time.Time
	// OAuth, when set, serves the token endpoint, and API calls take the
	// access tokens it issues (AccessToken, if set, too).
	OAuth *OAuthApp
}

// Outage is a failure mode the server can be put in (simkit.Outage).
type Outage = simkit.Outage

const (
	OutageNone    = simkit.OutageNone
	Outage500     = simkit.Outage500
	OutageTimeout = simkit.OutageTimeout
	OutageDrop    = simkit.OutageDrop
)

const maxBody = 10 << 20

// Server is the simulator; it implements http.Handler and is safe for
// concurrent use.
type Server struct {
	token string
	now   func() time.Time
	mux   *http.ServeMux

	simkit.Recorder

	mu       sync.Mutex
	validate func(*http.Request, []byte) error
	outage   Outage
	limit    Limit
	daily    int
	sent     []time.Time // requests inside the current window
	today    int
	day      string

	seq        int
	contacts   map[string]*Contact // by ID
	byEmail    map[string]string   // lowercased email → ID
	properties map[string]Property
	subs       []Definition
	status     map[string]map[string]string // lowercased email → subscription ID → SUBSCRIBED or UNSUBSCRIBED
	optedOut   map[string]bool              // opted out of all email
	oauth      *oauthState

	webhook  Webhook // webhook.go
	eventSeq int64

	objects  map[string]map[string]*Contact // deals, companies, tasks and notes, by type and ID (objects.go)
	unique   map[string]string              // type/idProperty/value → ID
	assoc    map[string]bool                // fromType/fromID/toType/toID, both directions
	objProps map[string]map[string]Property // their properties, by type
	owners   []Owner                        // owners.go
}

// New returns a Server with HubSpot's default contact properties and one
// subscription, DefaultSubscription.
func New(o Options) *Server {
	s := &Server{token: o.AccessToken, now: o.Now, validate: o.Validate, limit: o.Limit, daily: o.Daily,
		contacts: map[string]*Contact{}, byEmail: map[string]string{}, properties: map[string]Property{},
		status: map[string]map[string]string{}, optedOut: map[string]bool{}, seq: 100}
	if s.now == nil {
		s.now = time.Now
	}
	if o.OAuth != nil {
		s.oauth = &oauthState{app: *o.OAuth, grants: map[string]bool{}, issued: map[string]time.Time{}}
		if o.OAuth.RefreshToken != "" {
			s.oauth.grants[o.OAuth.RefreshToken] = true
		}
	}
	if s.limit.Max <= 0 || s.limit.Interval <= 0 {
		s.limit = DefaultLimit
	}
	if s.daily <= 0 {
		s.daily = DefaultDaily
	}
	for _, p := range append(defaultProperties, crmProperties...) {
		s.properties[p.Name] = p
	}
	s.initObjects()
	for _, o := range DefaultOwners {
		o.CreatedAt, o.UpdatedAt = s.now().UTC(), s.now().UTC()
		s.owners = append(s.owners, o)
	}
	s.subs = []Definition{{ID: DefaultSubscription, Name: "Marketing Information", Description: "Marketing offers and updates.", IsActive: true, IsDefault: true}}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /crm/v3/objects/contacts/batch/upsert", s.handleUpsert)
	s.mux.HandleFunc("POST /crm/v3/objects/contacts/gdpr-delete", s.handleGDPRDelete)
	s.mux.HandleFunc("POST /crm/v3/objects/contacts/search", s.handleSearch)
	s.mux.HandleFunc("GET /crm/v3/objects/contacts/{id}", s.handleContactGet)
	s.mux.HandleFunc("PATCH /crm/v3/objects/contacts/{id}", s.handleContactPatch)
	s.mux.HandleFunc("DELETE /crm/v3/objects/contacts/{id}", s.handleContactArchive)
	s.mux.HandleFunc("POST /crm/v3/objects/{objectType}/batch/upsert", s.handleObjectUpsert)
	s.mux.HandleFunc("PUT /crm/v4/objects/{fromType}/{fromId}/associations/default/{toType}/{toId}", s.handleAssociateDefault)
	s.mux.HandleFunc("POST /crm/v4/associations/{fromType}/{toType}/batch/associate/default", s.handleBatchAssociateDefault)
	s.mux.HandleFunc("GET /crm/v3/properties/{objectType}", s.handlePropertyList)
	s.mux.HandleFunc("POST /crm/v3/properties/{objectType}", s.handlePropertyCreate)
	s.mux.HandleFunc("GET /communication-preferences/v3/definitions", s.handleDefinitions)
	s.mux.HandleFunc("GET /crm/v3/owners", s.handleOwners)
	s.mux.HandleFunc("GET /communication-preferences/v3/status/email/{email}", s.handleStatus)
	s.mux.HandleFunc("POST /communication-preferences/v3/subscribe", s.handleSubscribe)
	s.mux.HandleFunc("POST /communication-preferences/v3/unsubscribe", s.handleUnsubscribe)
	return s
}

// SetValidate checks every later request with v.
func (s *Server) SetValidate(v func(*http.Request, []byte) error) {
	s.mu.Lock()
	s.validate = v
	s.mu.Unlock()
}

// SetOutage puts the server in failure mode m; OutageNone ends it.
func (s *Server) SetOutage(m Outage) { s.mu.Lock(); s.outage = m; s.mu.Unlock() }

// SetLimit changes the rolling budget; a zero Limit restores DefaultLimit.
func (s *Server) SetLimit(l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Max <= 0 || l.Interval <= 0 {
		l = DefaultLimit
	}
	s.limit, s.sent = l, nil
}

// SetDaily changes the daily budget (zero: DefaultDaily).
func (s *Server) SetDaily(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = DefaultDaily
	}
	s.daily = n
}

// ServeHTTP answers r as HubSpot would, under any mount prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	stripMount(r)
	call := s.Record(simkit.Call{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, At: s.now()})
	rec := &simkit.StatusWriter{ResponseWriter: w}
	defer func() { s.Answered(call, rec.Status) }()

	s.mu.Lock()
	validate, outage := s.validate, s.outage
	s.mu.Unlock()
	var violation error
	if validate != nil {
		if violation = validate(r, body); violation != nil {
			s.Violation(violation.Error())
		}
	}
	if !simkit.Hold(w, r, outage, 0) {
		return
	}
	if outage == Outage500 {
		writeError(rec, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error", nil)
		return
	}
	if s.oauth != nil && r.Method == http.MethodPost && r.URL.Path == "/oauth/v3/token" {
		if violation != nil {
			writeOAuthError(rec, "VALIDATION_ERROR", violation.Error())
			return
		}
		s.handleToken(rec, r, body)
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	known, live := s.checkAccessToken(rec, tok)
	if known && !live {
		return
	}
	// With an OAuth app, only its live access tokens and AccessToken pass.
	if !known && (tok == "" || (s.token != "" && tok != s.token) || (s.oauth != nil && s.token == "")) {
		// HubSpot's documented answer to a missing or invalid token.
		writeError(rec, http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil)
		return
	}
	if !s.admit(rec) {
		return
	}
	if violation != nil {
		writeError(rec, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1: "+violation.Error(), nil)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// admit counts r against the rolling and daily budgets, sets the
// X-HubSpot-RateLimit-* headers, and answers 429 when over either.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	now := s.now()
	if d := now.Format("2006-01-02"); d != s.day {
		s.day, s.today = d, 0
	}
	cut := now.Add(-s.limit.Interval)
	kept := s.sent[:0]
	for _, t := range s.sent {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	s.sent = kept
	l, daily := s.limit, s.daily
	overDaily := s.today >= daily
	overWindow := len(s.sent) >= l.Max
	if !overDaily && !overWindow {
		s.sent = append(s.sent, now)
		s.today++
	}
	remaining, dailyRemaining := l.Max-len(s.sent), daily-s.today
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(l.Max))
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(l.Interval.Milliseconds(), 10))
	h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(daily))
	h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(dailyRemaining, 0)))
	switch {
	case overDaily:
		writeRateLimit(w, "DAILY", "You have reached your daily limit.")
		return false
	case overWindow:
		writeRateLimit(w, "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
		return false
	}
	return true
}

// stripMount removes what comes before the API's paths (a /simulator/<name>
// mount), so the server answers at its root and under any prefix.
func stripMount(r *http.Request) {
	trim := func(p string) string {
		for _, root := range []string{"/crm/", "/communication-preferences/", "/oauth/"} {
			if i := strings.Index(p, root); i > 0 {
				return p[i:]
			}
		}
		return p
	}
	r.URL.Path = trim(r.URL.Path)
	if r.URL.RawPath != "" {
		r.URL.RawPath = trim(r.URL.RawPath)
	}
}
