// Package magentosim is a Magento 2 REST API for tests: GET
// /rest/<store>/V1/customers/search, /orders, /products and /carts/search with
// searchCriteria filters (filter groups ANDed, filters within a group
// ORed), sort orders, pageSize and currentPage, answering as Magento
// does, total_count included, and with the last page again for a
// currentPage past the end (as Magento ≥2.3 does, magento/magento2#26986).
// Requests carry an integration's access token as a bearer token or an
// OAuth 1.0a HMAC-SHA256 signature, checked as Magento checks them, and a
// refused one gets Magento's 401 body. Switches make the next answers
// 429s or 503s. The Adobe Commerce Webhooks module's list, subscribe and
// unsubscribe endpoints keep the store's hooks (hooks.go). Sign makes a
// webhook's x-adobe-commerce-webhook-signature with TestPrivateKey, as
// the webhooks module does.
package magentosim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"synclayer/source/magento"
)

// Kinds the simulator serves, by the path after /V1.
const (
	Customers = "customers/search"
	Orders    = "orders"
	Products  = "products"
	Carts     = "carts/search" // quotes, as CartRepositoryInterface::getList lists them
)

// Server is the simulated store. Safe for concurrent use.
type Server struct {
	token string         // the bearer token it takes; "" takes none
	oauth *magento.OAuth // the OAuth credentials it takes; nil takes none

	mu       sync.Mutex
	records  map[string]map[string]map[string]any // kind → id → record
	throttle int                                  // the next answers that are 429s
	outage   int                                  // the next answers that are 503s
	requests []*http.Request
	onList   func(kind string, page int)

	hooks        map[string]map[string]any // webhook id → the hook as /V1/webhooks/list shows it
	noWebhooks   bool                      // the webhooks module is absent: its routes are 404s
	noSubscriber bool                      // Magento_AdobeCommerceWebhooksSubscriber is absent: subscribe and unsubscribe are 404s
}

// New simulates a store that takes token as a bearer token (when not ""),
// and requests signed with o (when not nil).
func New(token string, o *magento.OAuth) *Server {
	return &Server{token: token, oauth: o, records: map[string]map[string]map[string]any{Customers: {}, Orders: {}, Products: {}, Carts: {}},
		hooks: map[string]map[string]any{}}
}

// idKey is the key each kind's REST answer carries its id under.
func idKey(kind string) string {
	if kind == Orders {
		return "entity_id"
	}
	return "id"
}

// Put adds or replaces a record of kind (Customers, Orders, Products,
// Carts), which must hold its id (id, or entity_id for orders) and updated_at
// ("2006-01-02 15:04:05").
func (s *Server) Put(kind string, rec map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[kind][fmt.Sprint(rec[idKey(kind)])] = rec
}

// Touch sets fields of a stored record (updated_at among them, for a
// change), as a save in the admin would.
func (s *Server) Touch(kind string, id any, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.records[kind][fmt.Sprint(id)]
	for k, v := range fields {
		rec[k] = v
	}
}

// Throttle makes the next n answers 429s with Retry-After: 1.
func (s *Server) Throttle(n int) { s.mu.Lock(); s.throttle = n; s.mu.Unlock() }

// Outage makes the next n answers 503s.
func (s *Server) Outage(n int) { s.mu.Lock(); s.outage = n; s.mu.Unlock() }

// OnList, if set, is called (without the lock) after each answered
// search with its kind and currentPage: a test changes records there,
// as a store does while a listing runs.
func (s *Server) OnList(f func(kind string, page int)) { s.mu.Lock(); s.onList = f; s.mu.Unlock() }

// Requests returns the requests served so far.
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

var route = regexp.MustCompile(`^/rest/([A-Za-z0-9_]+)/V1/(customers/search|orders|products|carts/search)$`)

// magentoError writes Magento's error body, {"message", "parameters"}.
func magentoError(w http.ResponseWriter, status int, msg string, params any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "parameters": params})
}

var resources = map[string]string{Customers: "Magento_Customer::customer", Orders: "Magento_Sales::sales", Products: "Magento_Catalog::products", Carts: "Magento_Cart::manage"}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if hm := hookRoute.FindStringSubmatch(r.URL.Path); hm != nil {
		s.serveWebhooks(w, r, hm[2])
		return
	}
	m := route.FindStringSubmatch(r.URL.Path)
	if m == nil {
		magentoError(w, http.StatusNotFound, "Request does not match any route.", []any{})
		return
	}
	if r.Method != http.MethodGet {
		magentoError(w, http.StatusMethodNotAllowed, "Request does not match any route.", []any{})
		return
	}
	kind := m[2]
	if !s.admit(w, r) {
		return
	}
	if !s.authorized(r) {
		magentoError(w, http.StatusUnauthorized, "The consumer isn't authorized to access %resources.", map[string]string{"resources": resources[kind]})
		return
	}
	sc, err := parseCriteria(r.URL.Query())
	if err != nil {
		magentoError(w, http.StatusBadRequest, "%fieldName is a required field.", map[string]string{"fieldName": err.Error()})
		return
	}
	s.mu.Lock()
	var all []map[string]any
	for _, rec := range s.records[kind] {
		if sc.match(kind, rec) {
			cp := map[string]any{}
			for k, v := range rec {
				cp[k] = v
			}
			all = append(all, cp)
		}
	}
	onList := s.onList
	s.mu.Unlock()
	sc.sort(kind, all)
	total := len(all)
	page, size := sc.page, sc.size
	items := all
	if size > 0 {
		if last := (total + size - 1) / size; page > last && last > 0 {
			page = last // Magento's collections answer the last page again
		}
		start := min((page-1)*size, total)
		items = all[start:min(start+size, total)]
	}
	if items == nil {
		items = []map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "search_criteria": map[string]any{"current_page": sc.page, "page_size": size}, "total_count": total})
	if onList != nil {
		onList(kind, sc.page)
	}
}

// admit records the request and answers the 429 or 503 a switch asks
// for, saying whether the request goes on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(r.Context()))
	throttled, down := s.throttle > 0, s.throttle == 0 && s.outage > 0
	if throttled {
		s.throttle--
	} else if down {
		s.outage--
	}
	s.mu.Unlock()
	switch {
	case throttled:
		w.Header().Set("Retry-After", "1")
		magentoError(w, http.StatusTooManyRequests, "Too Many Requests", []any{})
		return false
	case down:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body>Service Unavailable</body></html>"))
		return false
	}
	return true
}

// authorized checks the bearer token, or the OAuth 1.0a signature over
// the request as Magento rebuilds it (the URL's scheme, host and path,
// the query and the oauth_* parameters but the signature).
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return s.token != "" && tok == s.token
	}
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok || s.oauth == nil {
		return false
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return false
		}
		uv, err := url.PathUnescape(strings.Trim(v, `"`))
		if err != nil {
			return false
		}
		params[k] = uv
	}
	sig := params["oauth_signature"]
	delete(params, "oauth_signature")
	if params["oauth_consumer_key"] != s.oauth.ConsumerKey || params["oauth_token"] != s.oauth.AccessToken ||
		params["oauth_signature_method"] != "HMAC-SHA256" || params["oauth_nonce"] == "" || params["oauth_timestamp"] == "" {
		return false
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	want := magento.Sign("HMAC-SHA256", magento.BaseString(r.Method, u, nil, params), s.oauth.ConsumerSecret, s.oauth.AccessTokenSecret)
	return sig == want
}

type filter struct{ field, value, cond string }

type criteria struct {
	groups     [][]filter
	sorts      [][2]string // field, direction
	page, size int
}

var criteriaKey = regexp.MustCompile(`^searchCriteria\[(filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|condition_type|conditionType)\]$|^searchCriteria\[(sortOrders|sort_orders)\]\[(\d+)\]\[(field|direction)\]$|^searchCriteria\[(pageSize|page_size|currentPage|current_page)\]$`)

// parseCriteria reads searchCriteria from the query. An unknown
// searchCriteria key is an error, so a client's misspelling shows.
func parseCriteria(q url.Values) (criteria, error) {
	c := criteria{page: 1}
	groups := map[int]map[int]*filter{}
	sorts := map[int]*[2]string{}
	for k, vs := range q {
		if !strings.HasPrefix(k, "searchCriteria") {
			continue
		}
		m := criteriaKey.FindStringSubmatch(k)
		if m == nil {
			return c, fmt.Errorf("%s", k)
		}
		v := vs[0]
		switch {
		case m[1] != "":
			g, _ := strconv.Atoi(m[2])
			i, _ := strconv.Atoi(m[3])
			if groups[g] == nil {
				groups[g] = map[int]*filter{}
			}
			if groups[g][i] == nil {
				groups[g][i] = &filter{cond: "eq"}
			}
			switch m[4] {
			case "field":
				groups[g][i].field = v
			case "value":
				groups[g][i].value = v
			default:
				groups[g][i].cond = v
			}
		case m[5] != "":
			i, _ := strconv.Atoi(m[6])
			if sorts[i] == nil {
				sorts[i] = &[2]string{"", "ASC"}
			}
			if m[7] == "field" {
				sorts[i][0] = v
			} else {
				sorts[i][1] = strings.ToUpper(v)
			}
		default:
			n, err := strconv.Atoi(v)
			if err != nil {
				return c, fmt.Errorf("%s", k)
			}
			if strings.HasPrefix(m[8], "page") {
				c.size = n
			} else {
				c.page = max(n, 1)
			}
		}
	}
	for _, g := range sortedKeys(groups) {
		var fs []filter
		for _, i := range sortedKeys(groups[g]) {
			fs = append(fs, *groups[g][i])
		}
		c.groups = append(c.groups, fs)
	}
	for _, i := range sortedKeys(sorts) {
		c.sorts = append(c.sorts, *sorts[i])
	}
	return c, nil
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// value is a record's field as the database column: entity_id is the id.
func value(kind string, rec map[string]any, field string) string {
	if field == "entity_id" {
		field = idKey(kind)
	}
	if rec[field] == nil {
		return ""
	}
	return fmt.Sprint(rec[field])
}

// compare orders two column values: numerically when both are numbers,
// else as strings (Magento's dates sort as text).
func compare(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func (c criteria) match(kind string, rec map[string]any) bool {
	for _, g := range c.groups {
		ok := false
		for _, f := range g {
			v := value(kind, rec, f.field)
			d := compare(v, f.value)
			switch f.cond {
			case "eq":
				ok = ok || v == f.value
			case "neq":
				ok = ok || v != f.value
			case "gt":
				ok = ok || d > 0
			case "gteq", "moreq", "from":
				ok = ok || d >= 0
			case "lt":
				ok = ok || d < 0
			case "lteq", "to":
				ok = ok || d <= 0
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// sort orders items by the sort orders, then, as MySQL leaves ties in
// no promised order, by id descending, so a client that does not break
// ties itself sees it.
func (c criteria) sort(kind string, items []map[string]any) {
	sort.SliceStable(items, func(i, j int) bool {
		for _, so := range c.sorts {
			d := compare(value(kind, items[i], so[0]), value(kind, items[j], so[0]))
			if so[1] == "DESC" {
				d = -d
			}
			if d != 0 {
				return d < 0
			}
		}
		return compare(value(kind, items[i], "entity_id"), value(kind, items[j], "entity_id")) > 0
	})
}

// Sign returns the x-adobe-commerce-webhook-signature Adobe Commerce
// sends with body, made with TestPrivateKey: its webhooks module
// (Magento\AdobeCommerceWebhooks\Model\Signature\DigitalSignature::sign)
// runs openssl_sign over Base64Json::serialize of the payload, that is
// over base64(json_encode(payload)), the body in base64, with SHA-256,
// and sends the signature in base64.
func Sign(body []byte) string {
	return SignWith(TestPrivateKey, []byte(base64.StdEncoding.EncodeToString(body)))
}

// SignRaw returns the signature of the body itself, the other reading
// of Adobe's documentation ("signature of the request body"), which
// the source accepts too.
func SignRaw(body []byte) string { return SignWith(TestPrivateKey, body) }

// SignWith returns base64 of the RSA-SHA256 (PKCS #1 v1.5, openssl_sign's
// OPENSSL_ALGO_SHA256) signature of msg with the PEM private key
// (PKCS #1 or PKCS #8).
func SignWith(privatePEM string, msg []byte) string {
	block, _ := pem.Decode([]byte(privatePEM))
	if block == nil {
		panic("magentosim: not a PEM private key")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = k
	} else if k8, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		key, _ = k8.(*rsa.PrivateKey)
	}
	if key == nil {
		panic("magentosim: not an RSA private key")
	}
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Webhook is the body Adobe Commerce posts for an observer event:
// {"eventName": ..., "data": {key: record}}.
func Webhook(eventName, key string, rec map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"eventName": eventName, "data": map[string]any{key: rec}})
	return b
}

// Headers are a signed webhook's headers.
func Headers(body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(magento.SignatureHeader, Sign(body))
	return h
}
