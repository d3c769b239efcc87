package klaviyosim

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"synclayer/destination/simkit"
	"time"
)

// Options configures a Server.
type Options struct {
	// APIKey is the private key required in "Authorization: Klaviyo-API-Key
	// <key>"; "" accepts any non-empty key.
	APIKey string
	// Limits overrides DefaultLimits by bucket name.
	Limits map[string]Limit
	// BurstWindow and SteadyWindow are the windows' lengths, default 1 s
	// and 1 min as at Klaviyo; tests shorten them.
	BurstWindow, SteadyWindow time.Duration
	// Validate, when set, checks every request; an error is answered with
	// 400 invalid and recorded in Violations.
	Validate func(r *http.Request, body []byte) error
	// Lists are the IDs of the lists that exist initially.
	Lists []string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// BulkJobDelay is how long a bulk import job stays pending: a read
	// of the job before then finds it processing, the first one after
	// runs it. Zero runs it on the first read after it is created.
	BulkJobDelay time.Duration
}

// Outage is a failure mode the server can be put in (simkit.Outage).
type Outage = simkit.Outage

const (
	OutageNone    = simkit.OutageNone
	Outage500     = simkit.Outage500 // answer 500 with a JSON:API error body
	OutageTimeout = simkit.OutageTimeout
	OutageDrop    = simkit.OutageDrop
)

// Call is one request the server received (simkit.Call).
type Call = simkit.Call

const maxBody = 10 << 20 // the most of a request body read

// Server is the simulator; it implements http.Handler and is safe for
// concurrent use.
type Server struct {
	validate func(*http.Request, []byte) error
	apiKey   string
	now      func() time.Time
	mux      *http.ServeMux

	simkit.Recorder // the calls received and the spec violations seen

	mu         sync.Mutex
	outage     Outage
	limits     map[string]Limit
	burstLen   time.Duration
	steadyLen  time.Duration
	windows    map[string]*windows
	profiles   map[string]*Profile // by ID
	lists      map[string]*list
	jobs       []Job
	deletions  []DeletionJob
	nextID     int
	metrics    map[string]*Metric // by name
	events     []Event
	eventKeys  map[string]bool // profile, metric and unique_id of each event recorded
	items      map[string]*CatalogItem
	variants   map[string]*CatalogVariant
	categories map[string]*CatalogCategory
	bulkDelay  time.Duration
	bulkJobs   map[string]*bulkJob
	bulkOrder  []string
}

// New returns a Server configured by o.
func New(o Options) *Server {
	s := &Server{
		validate:   o.Validate,
		apiKey:     o.APIKey,
		now:        o.Now,
		limits:     map[string]Limit{},
		burstLen:   o.BurstWindow,
		steadyLen:  o.SteadyWindow,
		windows:    map[string]*windows{},
		profiles:   map[string]*Profile{},
		lists:      map[string]*list{},
		metrics:    map[string]*Metric{},
		eventKeys:  map[string]bool{},
		items:      map[string]*CatalogItem{},
		variants:   map[string]*CatalogVariant{},
		categories: map[string]*CatalogCategory{},
		bulkDelay:  o.BulkJobDelay,
		bulkJobs:   map[string]*bulkJob{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.burstLen <= 0 {
		s.burstLen = time.Second
	}
	if s.steadyLen <= 0 {
		s.steadyLen = time.Minute
	}
	for k, v := range DefaultLimits {
		s.limits[k] = v
	}
	for k, v := range o.Limits {
		s.limits[k] = v
	}
	for _, id := range o.Lists {
		s.AddList(id, id)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /api/profile-import", s.handleProfileImport)
	s.mux.HandleFunc("GET /api/profiles", s.handleProfileList)
	s.mux.HandleFunc("GET /api/profiles/{id}", s.handleProfileGet)
	s.mux.HandleFunc("POST /api/profile-subscription-bulk-create-jobs", s.handleSubscribe)
	s.mux.HandleFunc("POST /api/profile-subscription-bulk-delete-jobs", s.handleUnsubscribe)
	s.mux.HandleFunc("GET /api/lists/{id}", s.handleListGet)
	s.mux.HandleFunc("POST /api/lists/{id}/relationships/profiles", s.handleListMembers)
	s.mux.HandleFunc("DELETE /api/lists/{id}/relationships/profiles", s.handleListMembers)
	s.mux.HandleFunc("POST /api/data-privacy-deletion-jobs", s.handleDeletion)
	s.mux.HandleFunc("POST /api/profile-bulk-import-jobs", s.handleBulkImportCreate)
	s.mux.HandleFunc("GET /api/profile-bulk-import-jobs/{id}", s.handleBulkImportGet)
	s.mux.HandleFunc("GET /api/profile-bulk-import-jobs/{id}/import-errors", s.handleBulkImportErrors)
	s.mux.HandleFunc("POST /api/events", s.handleEvent)
	s.mux.HandleFunc("GET /api/events", s.handleEventList)
	s.mux.HandleFunc("GET /api/metrics", s.handleMetricList)
	s.mux.HandleFunc("POST /api/catalog-items", s.handleItemCreate)
	s.mux.HandleFunc("PATCH /api/catalog-items/{id}", s.handleItemUpdate)
	s.mux.HandleFunc("DELETE /api/catalog-items/{id}", s.handleItemDelete)
	s.mux.HandleFunc("POST /api/catalog-variants", s.handleVariantCreate)
	s.mux.HandleFunc("PATCH /api/catalog-variants/{id}", s.handleVariantUpdate)
	s.mux.HandleFunc("DELETE /api/catalog-variants/{id}", s.handleVariantDelete)
	s.mux.HandleFunc("POST /api/catalog-categories", s.handleCategoryCreate)
	s.mux.HandleFunc("PATCH /api/catalog-categories/{id}", s.handleCategoryUpdate)
	s.mux.HandleFunc("DELETE /api/catalog-categories/{id}", s.handleCategoryDelete)
	return s
}

// SetOutage puts the server in failure mode m; OutageNone ends it.
func (s *Server) SetOutage(m Outage) { s.mu.Lock(); s.outage = m; s.mu.Unlock() }

// SetValidate checks every later request with v, as Options.Validate does.
func (s *Server) SetValidate(v func(*http.Request, []byte) error) {
	s.mu.Lock()
	s.validate = v
	s.mu.Unlock()
}

// SetLimit changes one bucket's limits.
func (s *Server) SetLimit(bucket string, l Limit) { s.mu.Lock(); s.limits[bucket] = l; s.mu.Unlock() }

// ServeHTTP answers r as Klaviyo would, after any outage: authentication,
// then the revision header, then the request's rate-limit bucket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	call := s.Record(Call{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, At: s.now()})
	rec := &simkit.StatusWriter{ResponseWriter: w}
	defer func() { s.Answered(call, rec.Status) }()
	w.Header().Set("Date", call.At.UTC().Format(http.TimeFormat)) // the simulator's clock, as Klaviyo's is its own

	var invalid error
	s.mu.Lock()
	validate := s.validate
	s.mu.Unlock()
	if validate != nil {
		if invalid = validate(r, body); invalid != nil {
			s.Violation(invalid.Error())
		}
	}
	s.mu.Lock()
	outage := s.outage
	s.mu.Unlock()
	if !simkit.Hold(w, r, outage, 0) {
		return
	}
	switch outage {
	case Outage500:
		writeError(rec, http.StatusInternalServerError, "error", "A server error occurred.", "")
		return
	}
	if e := s.authenticate(r); e != nil {
		e.write(rec)
		return
	}
	if !s.admit(rec, bucketOf(r.Method, r.URL.Path)) {
		return
	}
	if e := checkMedia(r, body); e != nil {
		e.write(rec)
		return
	}
	if invalid != nil {
		writeError(rec, http.StatusBadRequest, "invalid", invalid.Error(), "")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, http.StatusNotFound, "not_found", "Not found.", "")
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// authenticate checks the private key and the revision header.
func (s *Server) authenticate(r *http.Request) *apiError {
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if scheme != "Klaviyo-API-Key" || strings.TrimSpace(key) == "" {
		return &apiError{status: http.StatusUnauthorized, code: "not_authenticated", detail: "Authentication credentials were not provided."}
	}
	if s.apiKey != "" && key != s.apiKey {
		return &apiError{status: http.StatusUnauthorized, code: "authentication_failed", detail: "Incorrect authentication credentials."}
	}
	if !validRevision(r.Header.Get("revision")) {
		return &apiError{status: http.StatusBadRequest, code: "invalid", detail: "The revision header is required, as YYYY-MM-DD[.suffix].", parameter: "revision"}
	}
	return nil
}
