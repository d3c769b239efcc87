// Package woosim is a WooCommerce REST API (v3) for tests: GET
// /wp-json/wc/v3/customers, /orders and /products with page, per_page
// (1 to 100, as WordPress checks it), orderby=id, order, and, for orders
// and products, modified_after with dates_are_gmt, answering with
// X-WP-Total and X-WP-TotalPages; and /webhooks (list, create, read,
// update, delete) with name, topic, delivery_url, a write-only secret and
// status active, paused or disabled. Requests carry the consumer key and
// secret over HTTP Basic, checked as WooCommerce checks them, and errors
// have WordPress's body, {code, message, data: {status}}. Switches make
// the next answers 429s with Retry-After. Deliver posts a topic's
// webhooks signed as WooCommerce signs them (X-WC-Webhook-Signature: the
// base64 HMAC-SHA256 of the body keyed with the webhook's secret).
package woosim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kinds the simulator serves, by the path after /wp-json/wc/v3.
const (
	Customers = "customers"
	Orders    = "orders"
	Products  = "products"
)

// Server is the simulated store. Safe for concurrent use.
type Server struct {
	key, secret string

	mu       sync.Mutex
	records  map[string]map[int64]json.RawMessage // kind → id → record
	modified map[string]map[int64]time.Time
	hooks    map[int64]*Webhook
	nextHook int64
	throttle int // answers left to refuse with refuse
	refuse   int
	retry    string
	// Requests counts the requests served, by "METHOD path".
	requests map[string]int
	// Now dates webhooks; time.Now unless set.
	Now func() time.Time
	// Ping, when set, sends the ping WooCommerce sends when a webhook is
	// saved active and new or with a new delivery_url: an unsigned form
	// body webhook_id=N with only a User-Agent. Its answer is recorded
	// (Pings) and, as in the REST controller, changes nothing.
	Ping  *http.Client
	pings []int
}

// Webhook is a webhook as the store holds it, secret included.
type Webhook struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Topic       string `json:"topic"`
	DeliveryURL string `json:"delivery_url"`
	Secret      string `json:"-"`
	Created     time.Time
	Modified    time.Time
}

// New returns a store whose REST API key is key and secret.
func New(key, secret string) *Server {
	return &Server{key: key, secret: secret,
		records:  map[string]map[int64]json.RawMessage{Customers: {}, Orders: {}, Products: {}},
		modified: map[string]map[int64]time.Time{Customers: {}, Orders: {}, Products: {}},
		hooks:    map[int64]*Webhook{}, nextHook: 1, requests: map[string]int{}}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// gmt is WooCommerce's _gmt date format: UTC, no offset.
const gmt = "2006-01-02T15:04:05"

// Put stores a record of kind as the API returns it; its id and
// date_modified_gmt (when a string the format reads) are what the
// endpoint sorts and filters on. A record without a numeric id is kept
// under the next free one, so a malformed record can be served.
func (s *Server) Put(kind string, record json.RawMessage) {
	var head struct {
		ID       json.RawMessage `json:"id"`
		Modified json.RawMessage `json:"date_modified_gmt"`
	}
	_ = json.Unmarshal(record, &head)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := strconv.ParseInt(string(head.ID), 10, 64)
	if err != nil {
		id = int64(len(s.records[kind]) + 1)
		for s.records[kind][id] != nil {
			id++
		}
	}
	var m string
	_ = json.Unmarshal(head.Modified, &m)
	t, _ := time.Parse(gmt, m)
	// WooCommerce sends its JSON compact (trim(wp_json_encode(...))).
	var compact bytes.Buffer
	if json.Compact(&compact, record) == nil {
		record = compact.Bytes()
	}
	s.records[kind][id] = append(json.RawMessage(nil), record...)
	s.modified[kind][id] = t
}

// Record returns a stored record.
func (s *Server) Record(kind string, id int64) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[kind][id]
}

// Customer, Order and Product are records of REST API v3's shape, with
// ids from 1 and modified at the given time.
func Customer(id int64, modified time.Time) json.RawMessage {
	return mustJSON(map[string]any{
		"id": id, "date_created": modified.Format(gmt), "date_created_gmt": modified.UTC().Format(gmt),
		"date_modified": modified.Format(gmt), "date_modified_gmt": modified.UTC().Format(gmt),
		"email": fmt.Sprintf("customer%d@example.com", id), "first_name": "Cus", "last_name": fmt.Sprintf("Tomer%d", id),
		"role": "customer", "username": fmt.Sprintf("customer%d", id),
		"billing":            map[string]any{"first_name": "Cus", "last_name": fmt.Sprintf("Tomer%d", id), "company": "", "email": fmt.Sprintf("customer%d@example.com", id), "phone": fmt.Sprintf("+1415555%04d", id%10000)},
		"is_paying_customer": false, "avatar_url": "", "meta_data": []any{},
	})
}

func Order(id int64, modified time.Time) json.RawMessage {
	return mustJSON(map[string]any{
		"id": id, "parent_id": 0, "number": strconv.FormatInt(id, 10), "status": "processing", "currency": "EUR",
		"date_created_gmt": modified.UTC().Format(gmt), "date_modified_gmt": modified.UTC().Format(gmt), "date_paid_gmt": modified.UTC().Format(gmt),
		"total": "19.90", "customer_id": 1,
		"billing":    map[string]any{"first_name": "Cus", "last_name": "Tomer1", "email": "customer1@example.com", "phone": ""},
		"line_items": []any{map[string]any{"id": id*10 + 1, "name": "Tee", "product_id": 1, "variation_id": 0, "quantity": 1, "price": 19.9, "total": "19.90", "sku": "TEE"}},
		"refunds":    []any{},
	})
}

func Product(id int64, modified time.Time) json.RawMessage {
	return mustJSON(map[string]any{
		"id": id, "name": fmt.Sprintf("Product %d", id), "status": "publish", "permalink": fmt.Sprintf("https://shop.example.com/product/p%d/", id),
		"sku": fmt.Sprintf("P%d", id), "price": "9.50", "stock_quantity": nil, "parent_id": 0,
		"date_created_gmt": modified.UTC().Format(gmt), "date_modified_gmt": modified.UTC().Format(gmt),
		"images": []any{}, "categories": []any{map[string]any{"id": 15, "name": "Clothing", "slug": "clothing"}},
	})
}

// Seed stores n records of kind, ids from 1, the first modified at
// first and each next one step later.
func (s *Server) Seed(kind string, n int, first time.Time, step time.Duration) {
	mk := map[string]func(int64, time.Time) json.RawMessage{Customers: Customer, Orders: Order, Products: Product}[kind]
	for i := 0; i < n; i++ {
		s.Put(kind, mk(int64(i+1), first.Add(time.Duration(i)*step)))
	}
}

// Throttle makes the next n answers 429 with Retry-After: retryAfter
// ("" for none), as a host's rate limit in front of WordPress does.
func (s *Server) Throttle(n int, retryAfter string) {
	s.Refuse(n, http.StatusTooManyRequests, retryAfter)
}

// Refuse makes the next n answers status (429, 503) with Retry-After:
// retryAfter ("" for none).
func (s *Server) Refuse(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.refuse, s.retry = n, status, retryAfter
}

// Requests returns how many times "METHOD path" was asked.
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// AddWebhook stores a webhook as an admin would make it.
func (s *Server) AddWebhook(w Webhook) *Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.ID = s.nextHook
	s.nextHook++
	if w.Status == "" {
		w.Status = "active"
	}
	w.Created, w.Modified = s.now(), s.now()
	s.hooks[w.ID] = &w
	cp := w
	return &cp
}

// SetWebhookStatus sets a webhook's status, as WooCommerce does when it
// disables one after failed deliveries.
func (s *Server) SetWebhookStatus(id int64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.hooks[id]; w != nil {
		w.Status = status
	}
}

// SetWebhookURL sets a webhook's delivery_url.
func (s *Server) SetWebhookURL(id int64, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.hooks[id]; w != nil {
		w.DeliveryURL = url
	}
}

// Webhooks returns the store's webhooks by id.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, w := range s.hooks {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Pings returns the statuses the pings were answered with (0: no answer).
func (s *Server) Pings() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.pings...)
}

// ping sends w's ping when Ping is set.
func (s *Server) ping(w Webhook) {
	if s.Ping == nil {
		return
	}
	req, err := http.NewRequest(http.MethodPost, w.DeliveryURL, strings.NewReader("webhook_id="+strconv.FormatInt(w.ID, 10)))
	status := 0
	if err == nil {
		req.Header = http.Header{"User-Agent": {"WooCommerce/9.3.3 Hookshot (WordPress/6.6.2)"}}
		if resp, err := s.Ping.Do(req); err == nil {
			resp.Body.Close()
			status = resp.StatusCode
		}
	}
	s.mu.Lock()
	s.pings = append(s.pings, status)
	s.mu.Unlock()
}

// Sign is X-WC-Webhook-Signature for body and secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// DeliveryHeaders are the headers WooCommerce sends with a delivery of
// topic by webhook w.
func DeliveryHeaders(w Webhook, topic string, body []byte) http.Header {
	resource, event, _ := strings.Cut(topic, ".")
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "WooCommerce/9.3.3 Hookshot (WordPress/6.6.2)")
	h.Set("X-WC-Webhook-Source", "https://shop.example.com/")
	h.Set("X-WC-Webhook-Topic", topic)
	h.Set("X-WC-Webhook-Resource", resource)
	h.Set("X-WC-Webhook-Event", event)
	h.Set("X-WC-Webhook-Signature", Sign(w.Secret, body))
	h.Set("X-WC-Webhook-ID", strconv.FormatInt(w.ID, 10))
	h.Set("X-WC-Webhook-Delivery-ID", fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(w.ID, body))))[:32])
	return h
}

// Deliver posts the stored record of kind and id to every active webhook
// of topic, signed with the webhook's secret, and returns the statuses
// answered. A delete's body is {"id": N}, as WooCommerce sends it.
func (s *Server) Deliver(ctx context.Context, client *http.Client, topic, kind string, id int64) ([]int, error) {
	body := s.Record(kind, id)
	if strings.HasSuffix(topic, ".deleted") {
		body = mustJSON(map[string]any{"id": id})
	}
	if body == nil {
		return nil, fmt.Errorf("woosim: no %s %d", kind, id)
	}
	var statuses []int
	for _, w := range s.Webhooks() {
		if w.Topic != topic || w.Status != "active" {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.DeliveryURL, bytes.NewReader(body))
		if err != nil {
			return statuses, err
		}
		req.Header = DeliveryHeaders(w, topic, body)
		resp, err := client.Do(req)
		if err != nil {
			return statuses, err
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
