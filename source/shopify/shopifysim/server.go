package shopifysim

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer/destination/simkit"
)

// Options configures a Server.
type Options struct {
	// AccessToken is the X-Shopify-Access-Token required; "" accepts any
	// non-empty token.
	AccessToken string

	// Bucket and RestoreRate are the cost bucket (points) and its refill
	// (points a second); defaults DefaultBucket and DefaultRestoreRate. A
	// test shrinks them to be throttled soon.
	Bucket      float64
	RestoreRate float64
	// MutationCost is what each mutation costs; default 10, Shopify's
	// cost of a mutation.
	MutationCost float64

	// RetryAfter is the Retry-After of a 429 (FailNext); default 2 s.
	RetryAfter time.Duration

	// MaxPaged is how many objects of a connection the server pages
	// through; default 25,000, Shopify's limit. A test lowers it.
	MaxPaged int

	// BulkDuration is how long a bulk operation runs before it is
	// COMPLETED; 0 completes it by the first poll.
	BulkDuration time.Duration

	// Validate, when set, checks every request; what it refuses is
	// recorded in Violations and answered with a GraphQL error.
	Validate func(r *http.Request, body []byte) error

	Now func() time.Time // the bucket's clock; default time.Now
}

// The bucket of Shopify's Standard plan as its answers report it today:
// 100 points a second (shopify.dev's rate-limit page) in a bucket of 2000.
const (
	DefaultBucket      = 2000
	DefaultRestoreRate = 100
)

// Outage is a failure mode the server can be put in (simkit.Outage).
type Outage = simkit.Outage

const (
	OutageNone    = simkit.OutageNone
	Outage500     = simkit.Outage500 // answer 500 {"errors":"Internal Server Error"}
	OutageTimeout = simkit.OutageTimeout
	OutageDrop    = simkit.OutageDrop
)

// Call is one request the server received (simkit.Call).
type Call = simkit.Call

// Customer is the server's record of a customer. A consent is nil when
// the customer has no address for it, as Shopify leaves it null.
type Customer struct {
	ID           string // the numeric ID, as in gid://shopify/Customer/<ID>
	Email        string
	Phone        string
	FirstName    string
	LastName     string
	Company      string // the default address's; "" is no default address
	Tags         []string
	Orders       int    // numberOfOrders
	AmountSpent  string // a decimal in Currency, such as "199.65"
	Currency     string // default EUR
	CreatedAt    time.Time
	UpdatedAt    time.Time // moved by every change, consent writes included
	EmailConsent *Consent
	SMSConsent   *Consent
	EmailWrites  int // customerEmailMarketingConsentUpdate calls that changed it
	SMSWrites    int // customerSmsMarketingConsentUpdate calls that changed it
}

// Consent is one marketing consent as Shopify holds it.
type Consent struct {
	MarketingState      string // SUBSCRIBED, UNSUBSCRIBED, NOT_SUBSCRIBED, PENDING, ...
	MarketingOptInLevel string // SINGLE_OPT_IN, CONFIRMED_OPT_IN, UNKNOWN
	ConsentUpdatedAt    time.Time
}

const maxBody = 1 << 20

// adminPath is the Admin GraphQL endpoint, under any prefix.
var adminPath = regexp.MustCompile(`/admin/api/([^/]+)/graphql\.json$`)

var versionPattern = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}|unstable)$`)

// Server is the simulator; it implements http.Handler and is safe for
// concurrent use.
type Server struct {
	now          func() time.Time
	mutationCost float64
	retryAfter   time.Duration

	mu        sync.Mutex
	rec       *simkit.Recorder
	validate  func(*http.Request, []byte) error
	token     string
	outage    Outage
	latency   time.Duration
	fail      []failure // HTTP errors to answer the next requests with, in order
	bucket    bucket
	customers map[string]*Customer
	orders    map[string]*Order
	products  map[string]*Product
	hooks     []*Webhook
	hookSeq   int
	bulkOps   []*bulkOp
	bulkTime  time.Duration
	maxPaged  int
}

// New returns a Server configured by o.
func New(o Options) *Server {
	s := &Server{
		now:          o.Now,
		mutationCost: o.MutationCost,
		retryAfter:   o.RetryAfter,
		rec:          &simkit.Recorder{},
		validate:     o.Validate,
		token:        o.AccessToken,
		customers:    map[string]*Customer{},
		orders:       map[string]*Order{},
		products:     map[string]*Product{},
		bulkTime:     o.BulkDuration,
		maxPaged:     o.MaxPaged,
	}
	if s.maxPaged <= 0 {
		s.maxPaged = maxPaged
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.mutationCost <= 0 {
		s.mutationCost = 10
	}
	if s.retryAfter <= 0 {
		s.retryAfter = 2 * time.Second
	}
	s.bucket = newBucket(o.Bucket, o.RestoreRate, s.now())
	return s
}

// AddCustomer adds (or replaces) a customer with no marketing consent
// given (NOT_SUBSCRIBED) on each address it has, created and updated now.
func (s *Server) AddCustomer(id, email, phone string) {
	now := s.now().UTC().Truncate(time.Second)
	c := &Customer{ID: id, Email: email, Phone: phone, CreatedAt: now, UpdatedAt: now}
	if email != "" {
		c.EmailConsent = &Consent{MarketingState: "NOT_SUBSCRIBED", MarketingOptInLevel: "SINGLE_OPT_IN"}
	}
	if phone != "" {
		c.SMSConsent = &Consent{MarketingState: "NOT_SUBSCRIBED", MarketingOptInLevel: "SINGLE_OPT_IN"}
	}
	s.mu.Lock()
	s.customers[id] = c
	s.mu.Unlock()
}

// SetConsent sets a customer's email (sms false) or SMS consent, as when
// the person subscribed in the shop; it reports whether the customer has
// that address.
func (s *Server) SetConsent(id string, sms bool, c Consent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cu := s.customers[id]
	if cu == nil {
		return false
	}
	p := &cu.EmailConsent
	if sms {
		p = &cu.SMSConsent
	}
	if *p == nil {
		return false
	}
	*p = &c
	return true
}

// Customer returns a copy of the customer with the numeric id.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customers[id]
	if c == nil {
		return Customer{}, false
	}
	out := *c
	if c.EmailConsent != nil {
		e := *c.EmailConsent
		out.EmailConsent = &e
	}
	if c.SMSConsent != nil {
		m := *c.SMSConsent
		out.SMSConsent = &m
	}
	return out, true
}

// SetOutage puts the server in failure mode m; OutageNone ends it.
func (s *Server) SetOutage(m Outage) { s.mu.Lock(); s.outage = m; s.mu.Unlock() }

// SetLatency delays each answer by d.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetAccessToken changes the token accepted from now on, as when the
// app's token is rotated.
func (s *Server) SetAccessToken(token string) { s.mu.Lock(); s.token = token; s.mu.Unlock() }

// SetValidate checks every later request with v, as Options.Validate does.
func (s *Server) SetValidate(v func(*http.Request, []byte) error) {
	s.mu.Lock()
	s.validate = v
	s.mu.Unlock()
}

// SetAvailable sets the points left in the bucket, as when other calls of
// the app spent them; it then refills at the restore rate.
func (s *Server) SetAvailable(points float64) {
	s.mu.Lock()
	s.bucket.set(points, s.now())
	s.mu.Unlock()
}

// FailNext answers the next n requests that pass the token check with
// status and the body Shopify sends with it: 429 with Retry-After, 402
// for a frozen shop, 423 for a locked one, 5xx, ...
func (s *Server) FailNext(n, status int) { s.FailNextMutation("", n, status) }

// FailNextMutation is FailNext for the requests of one mutation only
// (customerSmsMarketingConsentUpdate), as when the second write of a job
// fails after the first passed.
func (s *Server) FailNextMutation(op string, n, status int) {
	s.mu.Lock()
	for range n {
		s.fail = append(s.fail, failure{op, status})
	}
	s.mu.Unlock()
}

// failure is one HTTP error FailNext queued; op "" is any request.
type failure struct {
	op     string
	status int
}

// Calls returns the requests received since New or ClearCalls, oldest first.
func (s *Server) Calls() []Call { return s.recorder().Calls() }

// Count counts the requests match accepts.
func (s *Server) Count(match func(Call) bool) int { return s.recorder().Count(match) }

// Violations returns what Validate refused since New or ClearCalls.
func (s *Server) Violations() []string { return s.recorder().Violations() }

// ClearCalls forgets the calls and violations recorded so far, so a test
// counts only what its next step sends.
func (s *Server) ClearCalls() { s.mu.Lock(); s.rec = &simkit.Recorder{}; s.mu.Unlock() }

func (s *Server) recorder() *simkit.Recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec
}

// ServeHTTP answers r as the Admin API would, after any outage and latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rec := s.recorder()
	call := rec.Record(Call{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, At: s.now()})
	sw := &simkit.StatusWriter{ResponseWriter: w}
	defer func() { rec.Answered(call, sw.Status) }()
	if r.Method == http.MethodGet && bulkPath.MatchString(r.URL.Path) {
		// The results of a bulk operation are on Shopify's storage, not
		// the Admin API: no token, no GraphQL to validate.
		s.serveBulkResult(sw, r)
		return
	}

	s.mu.Lock()
	validate, outage, latency := s.validate, s.outage, s.latency
	s.mu.Unlock()
	var invalid error
	if validate != nil {
		if invalid = validate(r, body); invalid != nil {
			rec.Violation(invalid.Error())
		}
	}
	if !simkit.Hold(w, r, outage, latency) {
		return
	}
	if outage == Outage500 {
		writeHTTPError(sw, http.StatusInternalServerError, s.retryAfter)
		return
	}
	m := adminPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost || m == nil || !versionPattern.MatchString(m[1]) {
		writeHTTPError(sw, http.StatusNotFound, 0)
		return
	}
	s.mu.Lock()
	want := s.token
	s.mu.Unlock()
	if got := r.Header.Get("X-Shopify-Access-Token"); got == "" || (want != "" && got != want) {
		writeHTTPError(sw, http.StatusUnauthorized, 0)
		return
	}
	if status := s.nextFailure(body); status != 0 {
		writeHTTPError(sw, status, s.retryAfter)
		return
	}
	s.serveGraphQL(sw, body, invalid, "http://"+r.Host+r.URL.Path[:strings.Index(r.URL.Path, "/admin/api/")])
}

// nextFailure takes the first queued failure that applies to the request.
func (s *Server) nextFailure(body []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) == 0 {
		return 0
	}
	op := operationOf(body)
	for i, f := range s.fail {
		if f.op == "" || f.op == op {
			s.fail = append(s.fail[:i], s.fail[i+1:]...)
			return f.status
		}
	}
	return 0
}

// httpBodies are the bodies Shopify sends with its HTTP errors: 401 as
// apps' tests and Shopify community answers quote it, 423 as an answer
// quoted on community.shopify.dev; the others are the simulator's.
var httpBodies = map[int]string{
	http.StatusBadRequest:      "Bad Request",
	http.StatusUnauthorized:    "[API] Invalid API key or access token (unrecognized login or wrong password)",
	http.StatusPaymentRequired: "Unavailable Shop",
	http.StatusForbidden:       "[API] This action requires merchant approval for write_customers scope.",
	http.StatusNotFound:        "Not Found",
	http.StatusLocked:          "This store is unavailable",
	http.StatusTooManyRequests: "Exceeded the API rate limit. Reduce request rates to resume uninterrupted service.",
}

func writeHTTPError(w http.ResponseWriter, status int, retryAfter time.Duration) {
	msg, ok := httpBodies[status]
	if !ok {
		msg = http.StatusText(status)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.FormatFloat(retryAfter.Seconds(), 'f', 1, 64))
	}
	writeJSON(w, status, map[string]string{"errors": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
