// Package bigcommercesim simulates the part of BigCommerce's REST API the
// BigCommerce source reads and registers with: GET /stores/{hash}/v3/
// customers?id:in=, /v2/orders/{id} and its /products, /v3/catalog/
// products/{id}, and /v3/hooks (GET, POST, PUT). It checks X-Auth-Token,
// answers 401 and 404 with BigCommerce's {"status", "title"} bodies, sends
// X-Rate-Limit-Requests-Left and X-Rate-Limit-Time-Reset-Ms on every
// answer, and injects 429s and outages. It also signs callbacks as
// BigCommerce does, for tests.
package bigcommercesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Hook is a webhook as /v3/hooks holds it.
type Hook struct {
	ID          int64             `json:"id"`
	Scope       string            `json:"scope"`
	Destination string            `json:"destination"`
	IsActive    bool              `json:"is_active"`
	Headers     map[string]string `json:"headers"`
	StoreHash   string            `json:"store_hash"`
}

// Server is the simulated API for one store. Safe for concurrent use.
type Server struct {
	mu        sync.Mutex
	hash      string
	token     string
	customers map[string]map[string]any
	orders    map[string]map[string]any
	lines     map[string][]map[string]any
	products  map[string]map[string]any
	hooks     []Hook
	nextHook  int64
	fail      int
	limited   int
	reads     map[string]int
	Reset     time.Duration // what a 429 asks to wait; 50ms unless set
}

// New returns a store with hash that accepts token.
func New(hash, token string) *Server {
	return &Server{hash: hash, token: token, customers: map[string]map[string]any{}, orders: map[string]map[string]any{},
		lines: map[string][]map[string]any{}, products: map[string]map[string]any{}, reads: map[string]int{}, nextHook: 20172984, Reset: 50 * time.Millisecond}
}

// AddCustomer, AddOrder and AddProduct store records as the API returns
// them (an id key is required).
func (s *Server) AddCustomer(c map[string]any) {
	s.mu.Lock()
	s.customers[fmt.Sprint(c["id"])] = c
	s.mu.Unlock()
}
func (s *Server) AddOrder(o map[string]any, products []map[string]any) {
	s.mu.Lock()
	s.orders[fmt.Sprint(o["id"])], s.lines[fmt.Sprint(o["id"])] = o, products
	s.mu.Unlock()
}
func (s *Server) AddProduct(p map[string]any) {
	s.mu.Lock()
	s.products[fmt.Sprint(p["id"])] = p
	s.mu.Unlock()
}

// FailNext makes the next n calls answer 500, and RateLimitNext 429.
func (s *Server) FailNext(n int)      { s.mu.Lock(); s.fail = n; s.mu.Unlock() }
func (s *Server) RateLimitNext(n int) { s.mu.Lock(); s.limited = n; s.mu.Unlock() }

// Reads is how many times path (as "/v2/orders/250") was answered 200.
func (s *Server) Reads(path string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.reads[path] }

// Hooks returns the hooks held.
func (s *Server) Hooks() []Hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hook(nil), s.hooks...)
}

func problem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": title, "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fail, limited := s.fail > 0, s.limited > 0
	if fail {
		s.fail--
	} else if limited {
		s.limited--
	}
	s.mu.Unlock()
	w.Header().Set("X-Rate-Limit-Time-Window-Ms", "30000")
	w.Header().Set("X-Rate-Limit-Requests-Quota", "150")
	w.Header().Set("X-Rate-Limit-Time-Reset-Ms", strconv.FormatInt(s.Reset.Milliseconds(), 10))
	rest, ok := strings.CutPrefix(r.URL.Path, "/stores/"+s.hash)
	switch {
	case !ok:
		problem(w, 404, "Store not found")
		return
	case fail:
		problem(w, 500, "Internal Server Error")
		return
	case r.Header.Get("X-Auth-Token") != s.token:
		problem(w, 401, "Unauthorized")
		return
	case limited:
		w.Header().Set("X-Rate-Limit-Requests-Left", "0")
		problem(w, 429, "Too many requests")
		return
	}
	w.Header().Set("X-Rate-Limit-Requests-Left", "149")
	out, status, title := s.answer(r, rest)
	if status != http.StatusOK {
		problem(w, status, title)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// answer is what the store answers r on rest (the path after
// /stores/{hash}): the body, or a status and title.
func (s *Server) answer(r *http.Request, rest string) (any, int, string) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	const missing = "The requested resource was not found."
	var out any
	switch {
	case r.Method == http.MethodGet && rest == "/v3/customers":
		data := []any{}
		for _, id := range strings.Split(r.URL.Query().Get("id:in"), ",") {
			if c, ok := s.customers[id]; ok {
				data = append(data, c)
			}
		}
		out = map[string]any{"data": data, "meta": map[string]any{"pagination": map[string]any{"total": len(data)}}}
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "v2" && parts[1] == "orders":
		o, ok := s.orders[parts[2]]
		if !ok {
			return nil, 404, missing
		}
		out = o
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "v2" && parts[1] == "orders" && parts[3] == "products":
		l, ok := s.lines[parts[2]]
		if !ok {
			return nil, 404, missing
		}
		out = l
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "v3" && parts[1] == "catalog" && parts[2] == "products":
		p, ok := s.products[parts[3]]
		if !ok {
			return nil, 404, "The product was not found."
		}
		out = map[string]any{"data": p, "meta": map[string]any{}}
	case rest == "/v3/hooks" && r.Method == http.MethodGet:
		out = map[string]any{"data": append([]Hook{}, s.hooks...), "meta": map[string]any{}}
	case rest == "/v3/hooks" && r.Method == http.MethodPost, len(parts) == 3 && parts[1] == "hooks" && r.Method == http.MethodPut:
		var h Hook
		if err := json.NewDecoder(r.Body).Decode(&h); err != nil || r.Method == http.MethodPost && h.Scope == "" ||
			h.Destination != "" && !strings.HasPrefix(h.Destination, "https://") {
			return nil, 422, "The destination must be an https URL and the scope is required."
		}
		h.StoreHash = s.hash
		if r.Method == http.MethodPost {
			s.nextHook++
			h.ID = s.nextHook
			s.hooks = append(s.hooks, h)
		} else {
			i := slices.IndexFunc(s.hooks, func(k Hook) bool { return strconv.FormatInt(k.ID, 10) == parts[2] })
			if i < 0 {
				return nil, 404, "Webhook not found"
			}
			h.ID = s.hooks[i].ID
			if h.Scope == "" {
				h.Scope = s.hooks[i].Scope
			}
			s.hooks[i] = h
		}
		out = map[string]any{"data": h, "meta": map[string]any{}}
	default:
		return nil, 404, missing
	}
	s.reads[rest]++
	return out, http.StatusOK, ""
}

// Callback is the body BigCommerce posts for scope on the record id.
func Callback(hash, scope, kind string, id any, created int64) []byte {
	b, _ := json.Marshal(map[string]any{"scope": scope, "store_id": "1025646", "producer": "stores/" + hash,
		"data": map[string]any{"type": kind, "id": id}, "hash": fmt.Sprintf("%x", created^0x5eed) + scope, "created_at": created})
	return b
}

// Sign returns the Standard Webhooks headers of a callback signed with
// the app's client secret.
func Sign(clientSecret, msgID string, at time.Time, body []byte) http.Header {
	wh, _ := standardwebhooks.NewWebhookRaw([]byte(clientSecret))
	sig, _ := wh.Sign(msgID, at, body)
	h := http.Header{}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}
