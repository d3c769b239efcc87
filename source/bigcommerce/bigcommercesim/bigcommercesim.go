// Package bigcommercesim simulates the part of BigCommerce's REST API the
// BigCommerce source reads and registers with: GET /stores/{hash}/v3/
// customers (by id:in, or a listing: page, limit up to 250,
// date_modified:min, sort=date_modified:asc, meta.pagination),
// /v2/orders (page, limit, min_date_modified, sort=date_modified:asc; 204
// when a page is empty), /v2/orders/{id} and its /products,
// /v3/catalog/products (page, limit, date_modified:min,
// sort=date_modified&direction=asc) and /{id}, and /v3/hooks (GET with
// page, limit, is_active, scope and destination; POST; PUT). It checks
// X-Auth-Token, answers 401, 404 and 422 with BigCommerce's {"status",
// "title", "type"} bodies, sends X-Rate-Limit-Requests-Left and
// X-Rate-Limit-Time-Reset-Ms on every answer, and injects 429s and
// outages. It also signs callbacks as BigCommerce does, for tests.
package bigcommercesim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
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
	carts     map[string]map[string]any // by UUID; deleted ones answer 404
	subs      map[string]map[string]any // newsletter subscribers, by id
	hooks     []Hook
	nextHook  int64
	fail      int
	limited   int
	reads     map[string]int
	quota     int           // answers left in the window; -1: no limit
	resetAt   time.Time     // when a spent window resets
	Reset     time.Duration // what a 429 asks to wait; 50ms unless set
}

// New returns a store with hash that accepts token.
func New(hash, token string) *Server {
	return &Server{hash: hash, token: token, customers: map[string]map[string]any{}, orders: map[string]map[string]any{},
		lines: map[string][]map[string]any{}, products: map[string]map[string]any{},
		carts: map[string]map[string]any{}, subs: map[string]map[string]any{}, reads: map[string]int{}, nextHook: 20172984, quota: -1, Reset: 50 * time.Millisecond}
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

// Quota makes the window hold n more answers: the n-th carries
// X-Rate-Limit-Requests-Left: 0, and calls before Reset has passed are
// answered 429; after it there is no limit again.
func (s *Server) Quota(n int) { s.mu.Lock(); s.quota = n; s.mu.Unlock() }

// FailNext makes the next n calls answer 500, and RateLimitNext 429.
func (s *Server) FailNext(n int)      { s.mu.Lock(); s.fail = n; s.mu.Unlock() }
func (s *Server) RateLimitNext(n int) { s.mu.Lock(); s.limited = n; s.mu.Unlock() }

// Reads is how many times path (as "/v2/orders/250") was answered 200
// (a cart, 404 too: read after it was converted or deleted).
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
	left := "149"
	switch {
	case s.quota == 0 && time.Now().Before(s.resetAt):
		limited = true
	case s.quota == 0:
		s.quota = -1
	case s.quota > 0 && !fail && !limited:
		if s.quota--; s.quota == 0 {
			left, s.resetAt = "0", time.Now().Add(s.Reset)
		}
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
	w.Header().Set("X-Rate-Limit-Requests-Left", left)
	out, status, title := s.answer(r, rest)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
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
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	const missing = "The requested resource was not found."
	var out any
	switch {
	case r.Method == http.MethodGet && rest == "/v3/customers" && q.Has("id:in"):
		data := []any{}
		for _, id := range strings.Split(q.Get("id:in"), ",") {
			if c, ok := s.customers[id]; ok {
				data = append(data, c)
			}
		}
		out = map[string]any{"data": data, "meta": map[string]any{"pagination": pagination(len(data), len(data), 1, 1)}}
	case r.Method == http.MethodGet && (rest == "/v3/customers" || rest == "/v3/catalog/products"):
		recs, min := s.customers, "date_modified:min"
		if rest == "/v3/catalog/products" {
			recs = s.products
			if q.Get("sort") != "" && (q.Get("sort") != "date_modified" || q.Get("direction") != "asc") {
				return nil, 422, "The sort is not one this simulator answers: sort=date_modified&direction=asc"
			}
		} else if q.Get("sort") != "" && q.Get("sort") != "date_modified:asc" {
			return nil, 422, "The sort is not one this simulator answers: sort=date_modified:asc"
		}
		page, limit, status, title := paging(q, 50)
		if status != 0 {
			return nil, status, title
		}
		since, err := sinceOf(q.Get(min))
		if err != nil {
			return nil, 422, "The filter " + min + " is not a date."
		}
		list := sorted(recs, since, time.RFC3339)
		pages := (len(list) + limit - 1) / limit
		out = map[string]any{"data": window(list, page, limit), "meta": map[string]any{"pagination": pagination(len(list), len(window(list, page, limit)), page, pages)}}
	case r.Method == http.MethodGet && rest == "/v2/orders":
		if q.Get("sort") != "" && q.Get("sort") != "date_modified:asc" {
			return nil, 400, "The sort is not one this simulator answers: sort=date_modified:asc"
		}
		page, limit, status, title := paging(q, 50)
		if status != 0 {
			return nil, status, title
		}
		since, err := sinceOf(q.Get("min_date_modified"))
		if err != nil {
			return nil, 400, "The filter min_date_modified is not a date."
		}
		list := window(sorted(s.orders, since, time.RFC1123Z), page, limit)
		s.reads[rest]++
		if len(list) == 0 {
			return nil, http.StatusNoContent, "" // v2 answers an empty list with 204
		}
		return list, http.StatusOK, ""
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
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "v3" && parts[1] == "carts":
		c, ok := s.carts[parts[2]]
		if !ok {
			s.reads[rest]++ // a cart read after it is gone counts too
			return nil, 404, "Cart not found"
		}
		c = maps.Clone(c)
		shopper := c["storefront"] == true
		delete(c, "storefront")
		if strings.Contains(q.Get("include"), "redirect_urls") {
			if shopper {
				return nil, 422, "Redirect URLs can only be generated from carts created using the REST Management API."
			}
			c["redirect_urls"] = map[string]any{"cart_url": "https://store-" + s.hash + ".mybigcommerce.com/cart.php?action=load&id=" + parts[2],
				"checkout_url": "https://store-" + s.hash + ".mybigcommerce.com/checkout?cartId=" + parts[2]}
		}
		out = map[string]any{"data": c, "meta": map[string]any{}}
	case r.Method == http.MethodGet && rest == "/v3/customers/subscribers":
		page, limit, status, title := paging(q, 50)
		if status != 0 {
			return nil, status, title
		}
		var list []any
		for _, id := range slices.Sorted(maps.Keys(s.subs)) {
			sub := s.subs[id]
			if q.Has("email") && !strings.EqualFold(fmt.Sprint(sub["email"]), q.Get("email")) || q.Has("id") && id != q.Get("id") {
				continue
			}
			list = append(list, sub)
		}
		win := window(list, page, limit)
		out = map[string]any{"data": win, "meta": map[string]any{"pagination": pagination(len(list), len(win), page, max(1, (len(list)+limit-1)/limit))}}
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "v3" && parts[1] == "customers" && parts[2] == "subscribers":
		sub, ok := s.subs[parts[3]]
		if !ok {
			return nil, 404, "The resource was not found."
		}
		out = map[string]any{"data": sub, "meta": map[string]any{}}
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "v3" && parts[1] == "catalog" && parts[2] == "products":
		p, ok := s.products[parts[3]]
		if !ok {
			return nil, 404, "The product was not found."
		}
		out = map[string]any{"data": p, "meta": map[string]any{}}
	case rest == "/v3/hooks" && r.Method == http.MethodGet:
		page, limit, status, title := paging(q, 50)
		if status != 0 {
			return nil, status, title
		}
		var list []any
		for _, h := range s.hooks {
			if q.Has("is_active") && strconv.FormatBool(h.IsActive) != q.Get("is_active") ||
				q.Has("scope") && h.Scope != q.Get("scope") || q.Has("destination") && h.Destination != q.Get("destination") {
				continue
			}
			list = append(list, h)
		}
		win := window(list, page, limit)
		out = map[string]any{"data": win, "meta": map[string]any{"pagination": pagination(len(list), len(win), page, (len(list)+limit-1)/limit)}}
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

// maxLimit is the largest limit the list endpoints take.
const maxLimit = 250

// paging reads page (from 1) and limit (def unless given, at most
// maxLimit); a bad value is a status and title.
func paging(q url.Values, def int) (page, limit, status int, title string) {
	page, limit = 1, def
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, 422, "The page must be a whole number from 1."
		}
		page = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, 422, "The limit must be a whole number from 1 to 250."
		}
		limit = n
	}
	return page, limit, 0, ""
}

func pagination(total, count, page, pages int) map[string]any {
	return map[string]any{"total": total, "count": count, "per_page": count, "current_page": page, "total_pages": pages}
}

// sinceOf reads a date filter: RFC 3339 (ISO 8601) or RFC 2822; "" is
// the zero time.
func sinceOf(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC1123Z, v)
}

// sorted returns the records modified at or after since, oldest change
// first, then by id; layout is how their date_modified is written. A
// record whose date_modified does not parse sorts first.
func sorted(recs map[string]map[string]any, since time.Time, layout string) []any {
	type rec struct {
		at time.Time
		id int64
		r  map[string]any
	}
	var list []rec
	for id, r := range recs {
		s, _ := r["date_modified"].(string)
		at, _ := time.Parse(layout, s)
		if !since.IsZero() && at.Before(since) {
			continue
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		list = append(list, rec{at, n, r})
	}
	slices.SortFunc(list, func(a, b rec) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]any, len(list))
	for i, r := range list {
		out[i] = r.r
	}
	return out
}

// window is page (from 1) of list in pages of limit.
func window(list []any, page, limit int) []any {
	from := (page - 1) * limit
	if from >= len(list) {
		return []any{}
	}
	return list[from:min(from+limit, len(list))]
}

// SeedCustomers adds n customers, ids from first, the i-th modified at
// start plus i seconds, with the email customer<id>@example.com.
func (s *Server) SeedCustomers(first, n int, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		id := first + i
		at := start.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339)
		s.customers[strconv.Itoa(id)] = map[string]any{"id": id, "email": fmt.Sprintf("customer%d@example.com", id), "first_name": "C",
			"last_name": strconv.Itoa(id), "date_created": at, "date_modified": at, "accepts_product_review_abandoned_cart_emails": false}
	}
}

// SetHookActive sets is_active of the hook of scope at destination, as
// BigCommerce deactivates a hook after 90 days without events; it
// reports whether one was found.
func (s *Server) SetHookActive(scope, destination string, active bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range s.hooks {
		if h.Scope == scope && h.Destination == destination {
			s.hooks[i].IsActive = active
			return true
		}
	}
	return false
}

// AddHook stores a hook as if made earlier (by another run, at another
// host), and returns its id.
func (s *Server) AddHook(h Hook) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextHook++
	h.ID, h.StoreHash = s.nextHook, s.hash
	s.hooks = append(s.hooks, h)
	return h.ID
}

// AddCart stores a v3 cart (its "id" a UUID; created_time, updated_time,
// email, customer_id, currency.code, cart_amount, line_items), as Get a
// Cart returns it; redirect_urls is added when the read includes it. A
// cart with "storefront": true is a shopper's: a read including
// redirect_urls answers 422 (BigCommerce generates them only for carts
// made with the REST Management API; the status it answers is this
// simulator's guess).
func (s *Server) AddCart(c map[string]any) {
	s.mu.Lock()
	s.carts[fmt.Sprint(c["id"])] = c
	s.mu.Unlock()
}

// DeleteCart removes a cart, as BigCommerce does when it is converted to
// an order or emptied: reading it answers 404 after.
func (s *Server) DeleteCart(id string) {
	s.mu.Lock()
	delete(s.carts, id)
	s.mu.Unlock()
}

// AddSubscriber stores a newsletter subscriber (id, email, first_name,
// last_name, source, order_id, date_created, date_modified).
func (s *Server) AddSubscriber(sub map[string]any) {
	s.mu.Lock()
	s.subs[fmt.Sprint(sub["id"])] = sub
	s.mu.Unlock()
}

// DeleteSubscriber removes a subscriber, as leaving the newsletter does.
func (s *Server) DeleteSubscriber(id any) {
	s.mu.Lock()
	delete(s.subs, fmt.Sprint(id))
	s.mu.Unlock()
}

// SeedSubscribers adds n subscribers with ids from first, each modified
// a minute after the last from start, emails sub<id>@example.com.
func (s *Server) SeedSubscribers(first, n int, start time.Time) {
	for i := 0; i < n; i++ {
		id := first + i
		at := start.Add(time.Duration(i) * time.Minute).UTC().Format(time.RFC3339)
		s.AddSubscriber(map[string]any{"id": id, "email": fmt.Sprintf("sub%d@example.com", id), "first_name": "Sub", "last_name": strconv.Itoa(id),
			"source": "storefront", "order_id": nil, "date_created": at, "date_modified": at})
	}
}

// CallbackData is the body BigCommerce posts for scope with data as
// given (store/cart/converted's {"type": "cart", "id", "orderId"}).
func CallbackData(hash, scope string, data map[string]any, created int64) []byte {
	b, _ := json.Marshal(map[string]any{"scope": scope, "store_id": "1025646", "producer": "stores/" + hash,
		"data": data, "hash": fmt.Sprintf("%x", created^0x5eed) + scope, "created_at": created})
	return b
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
