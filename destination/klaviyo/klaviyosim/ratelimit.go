package klaviyosim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limit is one bucket's limits: Burst requests per burst window (1 s) and
// Steady requests per steady window (1 min).
type Limit struct {
	Burst  int
	Steady int
}

// DefaultLimits are the limits the spec documents for each endpoint
// (x-klaviyo-ratelimit), by the bucket names bucketOf gives.
var DefaultLimits = map[string]Limit{
	"profile-import": {Burst: 75, Steady: 750},
	"profiles":       {Burst: 75, Steady: 750},
	"subscribe":      {Burst: 75, Steady: 750},
	"unsubscribe":    {Burst: 75, Steady: 750},
	"lists":          {Burst: 75, Steady: 750},
	"list-members":   {Burst: 10, Steady: 150},
	"data-privacy":   {Burst: 3, Steady: 60},
	"events":         {Burst: 350, Steady: 3500}, // POST /api/events
	"event-reads":    {Burst: 350, Steady: 3500}, // GET /api/events
	"metrics":        {Burst: 10, Steady: 150},   // GET /api/metrics
	"bulk-import":    {Burst: 10, Steady: 150},   // every /api/profile-bulk-import-jobs operation
	// Catalog writes (create, update, delete) of each resource.
	"catalog-items":      {Burst: 75, Steady: 750},
	"catalog-variants":   {Burst: 75, Steady: 750},
	"catalog-categories": {Burst: 75, Steady: 750},
	"other":              {Burst: 1, Steady: 15},
}

// bucketOf names the bucket of a request, as the client's throttle does.
func bucketOf(method, path string) string {
	switch {
	case path == "/api/profile-import":
		return "profile-import"
	case path == "/api/profiles" || strings.HasPrefix(path, "/api/profiles/"):
		return "profiles"
	case path == "/api/profile-subscription-bulk-create-jobs":
		return "subscribe"
	case path == "/api/profile-subscription-bulk-delete-jobs":
		return "unsubscribe"
	case strings.HasPrefix(path, "/api/lists/") && strings.HasSuffix(path, "/relationships/profiles"):
		return "list-members"
	case method == http.MethodGet && strings.HasPrefix(path, "/api/lists/"):
		return "lists"
	case path == "/api/data-privacy-deletion-jobs":
		return "data-privacy"
	case path == "/api/events" && method == http.MethodGet:
		return "event-reads"
	case path == "/api/events":
		return "events"
	case path == "/api/metrics":
		return "metrics"
	case strings.HasPrefix(path, "/api/profile-bulk-import-jobs"):
		return "bulk-import"
	case path == "/api/catalog-items" || strings.HasPrefix(path, "/api/catalog-items/"):
		return "catalog-items"
	case path == "/api/catalog-variants" || strings.HasPrefix(path, "/api/catalog-variants/"):
		return "catalog-variants"
	case path == "/api/catalog-categories" || strings.HasPrefix(path, "/api/catalog-categories/"):
		return "catalog-categories"
	}
	return "other"
}

// windows are one bucket's fixed burst and steady windows.
type windows struct {
	burstStart, steadyStart time.Time
	burst, steady           int
}

// admit counts the request in bucket's windows. Within the limits it sets
// the RateLimit-* headers of the steady window and returns true; over
// either limit it answers 429 with Retry-After and no RateLimit-* headers,
// as Klaviyo does, and does not count the request.
func (s *Server) admit(w http.ResponseWriter, bucket string) bool {
	s.mu.Lock()
	now := s.now()
	win := s.windows[bucket]
	if win == nil {
		win = &windows{}
		s.windows[bucket] = win
	}
	if !now.Before(win.burstStart.Add(s.burstLen)) {
		win.burstStart, win.burst = now, 0
	}
	if !now.Before(win.steadyStart.Add(s.steadyLen)) {
		win.steadyStart, win.steady = now, 0
	}
	l := s.limits[bucket]
	var retry time.Duration
	switch {
	case l.Steady > 0 && win.steady >= l.Steady:
		retry = win.steadyStart.Add(s.steadyLen).Sub(now)
	case l.Burst > 0 && win.burst >= l.Burst:
		retry = win.burstStart.Add(s.burstLen).Sub(now)
	default:
		win.burst++
		win.steady++
	}
	limit, remaining := l.Steady, l.Steady-win.steady
	reset := win.steadyStart.Add(s.steadyLen).Sub(now)
	s.mu.Unlock()

	if retry > 0 {
		secs := int(math.Ceil(retry.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "throttled", "Request was throttled. Expected available in "+strconv.Itoa(secs)+" second(s).", "")
		return false
	}
	if limit > 0 {
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
		h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset.Seconds()))))
	}
	return true
}
