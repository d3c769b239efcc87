package brevosim

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
	// APIKey is the api-key header value required; "" accepts any non-empty
	// key. A missing or wrong key gets 401 unauthorized.
	APIKey string

	// RateLimit is how many requests per fixed one-second window are
	// allowed; 0 means unlimited (the headers then report a large limit).
	// It applies to the contacts bucket and, apart, to "other" requests.
	RateLimit int

	// OrderRateLimit and ProductRateLimit are the per-second limits of
	// POST /orders/status and POST /products, each in a bucket of its own
	// as at Brevo. 0 means Brevo's general tier (DefaultOrderRateLimit,
	// DefaultProductRateLimit); a negative value means unlimited.
	OrderRateLimit   int
	ProductRateLimit int

	// Validate, when set, checks every request; an error is answered with
	// 400 invalid_request and recorded in Violations.
	Validate func(r *http.Request, body []byte) error

	// Attributes are the attributes that exist initially, as "NAME" (a text
	// attribute) or "NAME:type" with type text, date, float, boolean,
	// multiple-choice, category, id or user. Default: EMAIL, FIRSTNAME,
	// LASTNAME and SMS. EXT_ID needs no entry: it is the ext_id identifier,
	// reported by GET as the EXT_ID attribute.
	Attributes []string

	// Now is the clock; default time.Now.
	Now func() time.Time

	// OtherHourlyLimit, when positive, limits the "other" bucket (batch
	// endpoints, processes, categories, attributes outside /contacts) to
	// this many requests per HourlyWindow, as Brevo's general tier does
	// with 100 an hour (DefaultOtherHourlyLimit). 0 keeps RateLimit per
	// second for it.
	OtherHourlyLimit int
	// HourlyWindow is the length of OtherHourlyLimit's window; default 1h.
	// Tests shorten it to run fast.
	HourlyWindow time.Duration
	// ImportDelay is how long a contact import takes to apply (see
	// imports.go); 0 applies it before answering.
	ImportDelay time.Duration

	// WebhookClient delivers SendMarketing's webhooks; default a client
	// with a 10 s timeout.
	WebhookClient *http.Client
}

// Outage is a failure mode the server can be put in (simkit.Outage).
type Outage = simkit.Outage

const (
	OutageNone    = simkit.OutageNone
	Outage500     = simkit.Outage500 // answer 500 with an errorModel body
	OutageTimeout = simkit.OutageTimeout
	OutageDrop    = simkit.OutageDrop
)

// Call is one request the server received (simkit.Call).
type Call = simkit.Call

// Contact is the server's record of a contact. Attributes excludes the
// email and ext_id, which have their own fields.
type Contact struct {
	ID               int64
	Email            string
	ExtID            string
	Attributes       map[string]any
	EmailBlacklisted bool
	SMSBlacklisted   bool
	ListIDs          []int64
	CreatedAt        time.Time
	ModifiedAt       time.Time
	// UserUnsubscribedAt is when the person unsubscribed through a
	// campaign's link (Unsubscribe, UnsubscribeSilently), as GET
	// /contacts/{identifier} reports in statistics.unsubscriptions; zero
	// when they never did. Blocklist alone (an admin's block) leaves it.
	UserUnsubscribedAt time.Time
}

const (
	maxBody   = 10 << 20 // the most of a request body read
	unlimited = 1000000  // the limit the headers report with no rate limit
)

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
	rateLimit int
	attrs     []attribute
	contacts  map[int64]*Contact
	byKey     map[string]*Contact // "email:", "ext_id:" and "sms:" + value → contact
	keysOf    map[int64][]string  // the byKey entries each contact holds
	nextID    int64

	// The e-commerce buckets and records (ratelimit.go, orders.go, products.go).
	orderRateLimit   int
	productRateLimit int
	windows          map[string]*window // rate-limit bucket → its current window
	commerce         commerce
	events           []Event // POST /events, oldest first (events.go)

	// Contact imports and the "other" bucket's hourly limit (imports.go).
	imports      []*Import
	nextProcess  int64
	failImports  int
	importDelay  time.Duration
	otherHourly  int
	hourlyWindow time.Duration

	// Webhooks (webhooks.go).
	webhooks      []*Webhook
	nextWebhook   int64
	webhookClient *http.Client
}

// New returns a Server configured by o.
func New(o Options) *Server {
	s := &Server{
		validate:  o.Validate,
		apiKey:    o.APIKey,
		now:       o.Now,
		rateLimit: o.RateLimit,
		windows:   map[string]*window{},
		contacts:  map[int64]*Contact{},
		byKey:     map[string]*Contact{},
		keysOf:    map[int64][]string{},
		nextID:    1,

		importDelay:   o.ImportDelay,
		otherHourly:   o.OtherHourlyLimit,
		hourlyWindow:  o.HourlyWindow,
		webhookClient: o.WebhookClient,
	}
	if s.webhookClient == nil {
		s.webhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	if s.hourlyWindow <= 0 {
		s.hourlyWindow = time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.orderRateLimit, s.productRateLimit = orDefault(o.OrderRateLimit, DefaultOrderRateLimit), orDefault(o.ProductRateLimit, DefaultProductRateLimit)
	names := o.Attributes
	if names == nil {
		names = []string{"EMAIL", "FIRSTNAME", "LASTNAME", "SMS"}
	}
	for _, n := range names {
		name, typ, _ := strings.Cut(n, ":")
		if typ == "" {
			typ = "text"
		}
		s.attrs = append(s.attrs, attribute{Name: strings.ToUpper(name), Category: "normal", Type: typ})
	}
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /contacts", s.handleContactList)
	s.mux.HandleFunc("POST /contacts", s.handleContactCreate)
	s.mux.HandleFunc("GET /contacts/attributes", s.handleAttributeList)
	s.mux.HandleFunc("POST /contacts/attributes/{category}/{name}", s.handleAttributeCreate)
	s.mux.HandleFunc("GET /contacts/{identifier}", s.handleContactGet)
	s.mux.HandleFunc("PUT /contacts/{identifier}", s.handleContactUpdate)
	s.mux.HandleFunc("DELETE /contacts/{identifier}", s.handleContactDelete)
	s.commerceRoutes()
	s.eventRoutes()
	s.importRoutes()
	s.webhookRoutes()
}

// SetOutage puts the server in failure mode m; OutageNone ends it.
func (s *Server) SetOutage(m Outage) { s.mu.Lock(); s.outage = m; s.mu.Unlock() }

// SetAPIKey changes the api-key accepted from now on, as when a key is
// re-enabled or replaced in the Brevo account.
func (s *Server) SetAPIKey(key string) { s.mu.Lock(); s.apiKey = key; s.mu.Unlock() }

// SetRateLimit changes the requests allowed per second; 0 is unlimited.
func (s *Server) SetRateLimit(perSecond int) { s.mu.Lock(); s.rateLimit = perSecond; s.mu.Unlock() }

// SetValidate checks every later request with v, as Options.Validate does.
func (s *Server) SetValidate(v func(*http.Request, []byte) error) {
	s.mu.Lock()
	s.validate = v
	s.mu.Unlock()
}

// SetLatency delays each answer by d.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// ServeHTTP answers r as Brevo would, after any outage and latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	stripBase(r)
	// The Date header tells the client Brevo's clock; from the
	// simulator's, so a test's clock holds for it too.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	call := s.Record(Call{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, At: s.now()})
	rec := &simkit.StatusWriter{ResponseWriter: w}
	defer func() { s.Answered(call, rec.Status) }()

	// Every request is validated, so a violation is recorded even when the
	// answer is an outage or a 401.
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
	outage, latency := s.outage, s.latency
	s.mu.Unlock()
	if !simkit.Hold(w, r, outage, latency) {
		return
	}

	bucket := bucketOf(r.Method, r.URL.Path)
	s.writeRateHeaders(rec, bucket, false)
	if outage == Outage500 {
		writeError(rec, http.StatusInternalServerError, "", "Internal Server Error")
		return
	}
	s.mu.Lock()
	want := s.apiKey
	s.mu.Unlock()
	if key := r.Header.Get("api-key"); key == "" || (want != "" && key != want) {
		writeError(rec, http.StatusUnauthorized, "unauthorized", "Key not found")
		return
	}
	if invalid != nil {
		writeError(rec, http.StatusBadRequest, "invalid_request", invalid.Error())
		return
	}
	if !s.writeRateHeaders(rec, bucket, true) {
		writeError(rec, http.StatusTooManyRequests, "too_many_requests", "The expected rate limit is exceeded.")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, http.StatusNotFound, "document_not_found", "Invalid route or method")
		return
	}
	s.mux.ServeHTTP(rec, r)
}
