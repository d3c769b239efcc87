package pipedrivesim

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer/destination/simkit"
)

// Limit is a fixed-window request budget, reported in the
// x-ratelimit-limit, -remaining and -reset headers.
type Limit struct {
	Max    int
	Window time.Duration
}

// DefaultLimit is the lowest budget Pipedrive documents for api_token
// requests, the Essential plan's 20 requests per 2-second window
// (pipedrive.readme.io/docs/core-api-concepts-rate-limiting).
var DefaultLimit = Limit{Max: 20, Window: 2 * time.Second}

// DefaultDaily is the daily POST/PUT fair-usage limit Pipedrive announced
// per user (10,000, developers.pipedrive.com/changelog/post/daily-api-limit-for-postput-endpoints),
// counted down in x-daily-requests-left.
const DefaultDaily = 10000

// Options configures a Server.
type Options struct {
	// APIToken is the x-api-token required; "" accepts any non-empty one.
	APIToken string
	Limit    Limit // zero: DefaultLimit
	Daily    int   // zero: DefaultDaily
	// Validate, when set, checks every request; an error is answered 400
	// and recorded in Violations.
	Validate func(r *http.Request, body []byte) error
	Now      func() time.Time
	// SearchLag is how long a new organization or person stays invisible
	// to search (GET /api/v2/organizations/search, /persons/search), as
	// Pipedrive's search index lags a create by seconds; reads by ID see
	// it at once. Measured on the wall clock, whatever Now says. Zero: no
	// lag.
	SearchLag time.Duration
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

	mu          sync.Mutex
	validate    func(*http.Request, []byte) error
	outage      Outage
	limit       Limit
	windowStart time.Time
	windowCount int
	daily       int
	today       int
	day         string

	seq        int64
	persons    map[int64]*Person
	fields     []Field
	orgs       map[int64]*Organization
	deals      map[int64]*Deal
	dealFields []Field // custom ones
	activities map[int64]*Activity
	notes      map[int64]*Note
	users      []User
	webhooks   map[int64]*Webhook
	client     *http.Client // for the webhooks it sends
	searchLag  time.Duration
	indexed    map[int64]time.Time // when search sees a record created with a lag
}

// New returns a Server with Pipedrive's standard person fields and no
// persons.
func New(o Options) *Server {
	s := &Server{token: o.APIToken, now: o.Now, validate: o.Validate, limit: o.Limit, daily: o.Daily, searchLag: o.SearchLag, indexed: map[int64]time.Time{},
		persons: map[int64]*Person{}, seq: 100, orgs: map[int64]*Organization{}, deals: map[int64]*Deal{},
		activities: map[int64]*Activity{}, notes: map[int64]*Note{}, webhooks: map[int64]*Webhook{},
		users:  []User{{ID: DefaultOwner, Name: "Sim Owner", Email: "owner@pipedrive-sim.example", ActiveFlag: true, IsAdmin: 1}},
		client: &http.Client{Timeout: 10 * time.Second}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.limit.Max <= 0 || s.limit.Window <= 0 {
		s.limit = DefaultLimit
	}
	if s.daily <= 0 {
		s.daily = DefaultDaily
	}
	s.fields = append(s.fields, standardFields...)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /api/v2/persons/search", s.handleSearch)
	s.mux.HandleFunc("GET /api/v2/persons/{id}", s.handleGet)
	s.mux.HandleFunc("POST /api/v2/persons", s.handleCreate)
	s.mux.HandleFunc("PATCH /api/v2/persons/{id}", s.handleUpdate)
	s.mux.HandleFunc("DELETE /api/v2/persons/{id}", s.handleDelete)
	s.mux.HandleFunc("GET /api/v2/personFields", s.handleFieldList)
	s.mux.HandleFunc("POST /api/v2/personFields", s.handleFieldCreate)
	s.routeCRM()
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

// SetLimit changes the window budget; a zero Limit restores DefaultLimit.
func (s *Server) SetLimit(l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Max <= 0 || l.Window <= 0 {
		l = DefaultLimit
	}
	s.limit, s.windowStart, s.windowCount = l, time.Time{}, 0
}

// ServeHTTP answers r as Pipedrive would, under any mount prefix.
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
		writeError(rec, http.StatusInternalServerError, "Internal server error")
		return
	}
	if r.URL.Query().Has("api_token") {
		s.Violation(r.Method + " " + r.URL.Path + ": the API token is in the URL; Pipedrive wants it in the x-api-token header")
	}
	tok := r.Header.Get("x-api-token")
	if tok == "" || (s.token != "" && tok != s.token) {
		// Pipedrive's answer to a missing or invalid token.
		writeJSON(rec, http.StatusUnauthorized, errorBody{Error: "unauthorized access", ErrorCode: http.StatusUnauthorized,
			ErrorInfo: "Please check developers.pipedrive.com for more information about Pipedrive API."})
		return
	}
	if !s.admit(rec, r.Method) {
		return
	}
	if violation != nil {
		writeError(rec, http.StatusBadRequest, violation.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, http.StatusNotFound, "Unknown method .")
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// admit counts a request against the window and, for writes, the daily
// budget, sets the rate-limit headers, and answers 429 when over either.
func (s *Server) admit(w http.ResponseWriter, method string) bool {
	s.mu.Lock()
	now := s.now()
	if d := now.UTC().Format("2006-01-02"); d != s.day {
		s.day, s.today = d, 0
	}
	if s.windowStart.IsZero() || now.Sub(s.windowStart) >= s.limit.Window {
		s.windowStart, s.windowCount = now, 0
	}
	write := method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
	overWindow := s.windowCount >= s.limit.Max
	overDaily := write && s.today >= s.daily
	if !overWindow && !overDaily {
		s.windowCount++
		if write {
			s.today++
		}
	}
	l, remaining, left := s.limit, s.limit.Max-s.windowCount, s.daily-s.today
	reset := int(math.Ceil(s.windowStart.Add(s.limit.Window).Sub(now).Seconds()))
	s.mu.Unlock()
	h := w.Header()
	h.Set("x-ratelimit-limit", strconv.Itoa(l.Max))
	h.Set("x-ratelimit-remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("x-ratelimit-reset", strconv.Itoa(max(reset, 1)))
	h.Set("x-daily-requests-left", strconv.Itoa(max(left, 0)))
	if overWindow || overDaily {
		writeError(w, http.StatusTooManyRequests, "Request over limit")
		return false
	}
	return true
}

// stripMount removes what comes before the API's paths (a
// /simulator/<name> mount).
func stripMount(r *http.Request) {
	trim := func(p string) string {
		if i := strings.Index(p, "/api/v"); i > 0 {
			return p[i:]
		}
		return p
	}
	r.URL.Path = trim(r.URL.Path)
	if r.URL.RawPath != "" {
		r.URL.RawPath = trim(r.URL.RawPath)
	}
}

// errorBody is Pipedrive's error answer.
type errorBody struct {
	Success   bool   `json:"success"`
	Error     string `json:"error"`
	ErrorCode int    `json:"errorCode,omitempty"`
	ErrorInfo string `json:"error_info,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, ErrorCode: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeData(w http.ResponseWriter, status int, data any, additional any) {
	writeJSON(w, status, map[string]any{"success": true, "data": data, "additional_data": additional})
}
