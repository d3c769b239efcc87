package brevosim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Default per-second limits of the e-commerce buckets, as on Brevo's
// general tier: POST /orders/status 5, POST /products 2.
const (
	DefaultOrderRateLimit   = 5
	DefaultProductRateLimit = 2
	DefaultEventRateLimit   = 10 // POST /events
)

// window is one bucket's fixed one-second window.
type window struct {
	start time.Time
	count int
}

// bucketOf names the rate-limit bucket of a request, as Brevo counts them
// (and as the client's throttle names them): contacts, orders (POST
// /orders/status), products (POST /products), events (POST /events) and
// other.
func bucketOf(method, path string) string {
	switch {
	case path == "/contacts" || strings.HasPrefix(path, "/contacts/"):
		return "contacts"
	case method == http.MethodPost && path == "/orders/status":
		return "orders"
	case method == http.MethodPost && path == "/products":
		return "products"
	case method == http.MethodPost && path == "/events":
		return "events"
	}
	return "other"
}

// limitOf returns the bucket's limit per second; s.mu is held.
func (s *Server) limitOf(bucket string) int {
	limit := s.rateLimit
	switch bucket {
	case "orders":
		limit = s.orderRateLimit
	case "products":
		limit = s.productRateLimit
	case "events":
		limit = DefaultEventRateLimit
	case "other":
		if s.otherHourly > 0 {
			limit = s.otherHourly // per hourlyWindow (imports.go)
		}
	}
	if limit <= 0 {
		return unlimited
	}
	return limit
}

// writeRateHeaders sets the x-sib-ratelimit-* headers of the request's
// bucket. With count it also counts the request in the bucket's current
// window and reports whether it is within the limit; a refused request is
// not counted.
func (s *Server) writeRateHeaders(w http.ResponseWriter, bucket string, count bool) bool {
	s.mu.Lock()
	now := s.now()
	win := s.windows[bucket]
	if win == nil {
		win = &window{}
		s.windows[bucket] = win
	}
	length := time.Second
	if bucket == "other" && s.otherHourly > 0 {
		length = s.hourlyWindow
	}
	if end := win.start.Add(length); !now.Before(end) {
		win.start, win.count = now.Truncate(time.Second), 0
		if length != time.Second {
			win.start = now
		}
	}
	limit := s.limitOf(bucket)
	ok := win.count < limit
	if count && ok {
		win.count++
	}
	remaining := max(limit-win.count, 0)
	reset := int(math.Ceil(win.start.Add(length).Sub(now).Seconds()))
	s.mu.Unlock()

	h := w.Header()
	h.Set("x-sib-ratelimit-limit", strconv.Itoa(limit))
	h.Set("x-sib-ratelimit-remaining", strconv.Itoa(remaining))
	h.Set("x-sib-ratelimit-reset", strconv.Itoa(reset))
	return ok
}
