package mailchimpsim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"synclayer/destination/simkit"
	"time"
)

// DefaultConnectionLimit is Mailchimp's limit of simultaneous connections
// per API key.
const DefaultConnectionLimit = 10

// Options configures a Server.
type Options struct {
	// APIKey is the Basic-auth password required; "" accepts any
	// non-empty one. A missing or wrong key gets 401 "API Key Invalid".
	APIKey string
	// ConnectionLimit is how many requests per API key may be in flight
	// at once; one more is answered 429. 0 means DefaultConnectionLimit, a
	// negative value no limit.
	ConnectionLimit int
	// Validate, when set, checks every request; an error is answered 400
	// "Invalid Resource" and recorded in Violations.
	Validate func(r *http.Request, body []byte) error
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Outage is a failure mode the server can be put in (simkit.Outage).
type Outage = simkit.Outage

const (
	OutageNone    = simkit.OutageNone
	Outage500     = simkit.Outage500 // answer 500 with a problem body
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

	mu        sync.Mutex
	outage    Outage
	latency   time.Duration
	connLimit int
	inflight  map[string]int // API key → requests in flight
	audiences map[string]*audience
	stores    map[string]*store

	batches     map[string]*batch
	batchSeq    int
	holdBatches bool

	deliveries []Delivery // webhook deliveries made, oldest first
}

// New returns a Server configured by o, with no audiences (AddAudience).
func New(o Options) *Server {
	s := &Server{validate: o.Validate, apiKey: o.APIKey, now: o.Now, connLimit: o.ConnectionLimit,
		inflight: map[string]int{}, audiences: map[string]*audience{}, stores: map[string]*store{},
		batches: map[string]*batch{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.connLimit == 0 {
		s.connLimit = DefaultConnectionLimit
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /lists/{list_id}/members/{hash}", s.handleMemberGet)
	s.mux.HandleFunc("PUT /lists/{list_id}/members/{hash}", s.handleMemberPut)
	s.mux.HandleFunc("PATCH /lists/{list_id}/members/{hash}", s.handleMemberPatch)
	s.mux.HandleFunc("DELETE /lists/{list_id}/members/{hash}", s.handleMemberArchive)
	s.mux.HandleFunc("POST /lists/{list_id}/members/{hash}/actions/delete-permanent", s.handleMemberDeletePermanent)
	s.mux.HandleFunc("GET /lists/{list_id}/members/{hash}/tags", s.handleTagsGet)
	s.mux.HandleFunc("POST /lists/{list_id}/members/{hash}/tags", s.handleTagsPost)
	s.mux.HandleFunc("POST /lists/{list_id}/members/{hash}/events", s.handleEventPost)
	s.mux.HandleFunc("GET /lists/{list_id}/merge-fields", s.handleMergeFieldList)
	s.mux.HandleFunc("POST /lists/{list_id}/merge-fields", s.handleMergeFieldCreate)
	s.mux.HandleFunc("GET /lists/{list_id}", s.handleListGet)
	s.mux.HandleFunc("POST /batches", s.handleBatchCreate)
	s.mux.HandleFunc("GET /batches/{batch_id}", s.handleBatchGet)
	s.routeEcommerce()
	s.routeWebhooks()
	return s
}

// SetValidate checks every later request with v, as Options.Validate does.
func (s *Server) SetValidate(v func(*http.Request, []byte) error) {
	s.mu.Lock()
	s.validate = v
	s.mu.Unlock()
}

// SetOutage puts the server in failure mode m; OutageNone ends it.
func (s *Server) SetOutage(m Outage) { s.mu.Lock(); s.outage = m; s.mu.Unlock() }

// SetLatency delays each answer by d, holding its connection meanwhile.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetConnectionLimit changes the simultaneous connections allowed per key
// (negative: unlimited).
func (s *Server) SetConnectionLimit(n int) { s.mu.Lock(); s.connLimit = n; s.mu.Unlock() }

// ServeHTTP answers r as Mailchimp would, after any outage and latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	_, results, isResults := strings.Cut(r.URL.Path, resultsPrefix)
	r = r.WithContext(context.WithValue(r.Context(), mountKey{}, mountOf(r)))
	stripBase(r)
	call := s.Record(Call{Method: r.Method, Path: r.URL.RequestURI(), Body: body, At: s.now()})
	rec := &simkit.StatusWriter{ResponseWriter: w}
	defer func() { s.Answered(call, rec.Status) }()
	if isResults {
		s.serveResults(rec, r, results)
		return
	}

	var violation error
	s.mu.Lock()
	validate := s.validate
	s.mu.Unlock()
	if validate != nil {
		if violation = validate(r, body); violation != nil {
			s.Violation(violation.Error())
		}
	}
	_, key, _ := r.BasicAuth()
	over, limit := s.enter(key)
	defer s.leave(key)

	s.mu.Lock()
	outage, latency := s.outage, s.latency
	s.mu.Unlock()
	if !simkit.Hold(w, r, outage, 0) {
		return
	}
	if over && outage == OutageNone {
		// Mailchimp refuses the connection at once; it does not queue it.
		writeProblem(rec, http.StatusTooManyRequests, "Too Many Requests", fmt.Sprintf("You have exceeded the limit of %d simultaneous connections.", limit))
		return
	}
	if !simkit.Hold(w, r, OutageNone, latency) {
		return
	}
	switch {
	case outage == Outage500:
		writeProblem(rec, http.StatusInternalServerError, "Internal Server Error", "An unexpected internal error has occurred. Please contact Support for more information.")
	case key == "" || (s.apiKey != "" && key != s.apiKey):
		writeProblem(rec, http.StatusUnauthorized, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
	case violation != nil:
		invalid(rec, "The resource submitted could not be validated: "+violation.Error())
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		if _, pattern := s.mux.Handler(r); pattern == "" {
			notFound(rec)
			return
		}
		s.mux.ServeHTTP(rec, r)
	}
}

// enter counts a connection for key and reports whether it is over the
// limit (and the limit).
func (s *Server) enter(key string) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[key]++
	return s.connLimit > 0 && s.inflight[key] > s.connLimit, s.connLimit
}

func (s *Server) leave(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[key]--; s.inflight[key] <= 0 {
		delete(s.inflight, key)
	}
}

// CallsTo returns the calls with method whose path starts with prefix;
// an empty method matches any.
func (s *Server) CallsTo(method, prefix string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if (method == "" || c.Method == method) && strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}
