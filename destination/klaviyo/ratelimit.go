package klaviyo

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// Limit is one bucket's documented rate limit: Burst requests per second
// and Steady requests per minute.
type Limit struct {
	Burst  int
	Steady int
}

// Buckets are the rate-limit buckets the client counts requests in, with
// the limits the spec documents for them (x-klaviyo-ratelimit of each
// operation in testdata/openapi/klaviyo.json). Klaviyo limits each
// endpoint per account; GET /api/profiles and /api/profiles/{id} share a
// bucket here, which is the cautious reading.
var Buckets = map[string]Limit{
	"profile-import": {Burst: 75, Steady: 750},
	"profiles":       {Burst: 75, Steady: 750},
	"subscribe":      {Burst: 75, Steady: 750},
	"unsubscribe":    {Burst: 75, Steady: 750},
	"lists":          {Burst: 75, Steady: 750},
	"list-members":   {Burst: 10, Steady: 150},
	"data-privacy":   {Burst: 3, Steady: 60},
	"events":         {Burst: 350, Steady: 3500}, // POST /api/events
	// GET /api/events and GET /api/metrics: reconciliation's reads. A
	// read's RateLimit-* headers are of its own endpoint, so it does not
	// share create_event's bucket.
	"event-reads": {Burst: 350, Steady: 3500},
	"metrics":     {Burst: 10, Steady: 150},
	// Every /api/profile-bulk-import-jobs operation (create, get, import
	// errors) documents 10/s and 150/m; they share one bucket here.
	"bulk-import": {Burst: 10, Steady: 150},
	// Catalog writes (create, update, delete) of each resource.
	"catalog-items":      {Burst: 75, Steady: 750},
	"catalog-variants":   {Burst: 75, Steady: 750},
	"catalog-categories": {Burst: 75, Steady: 750},
	"other":              {Burst: 1, Steady: 15}, // Klaviyo's smallest tier, XS
}

// bucketFor names the bucket of a request by its route template.
func bucketFor(method, route string) string {
	switch {
	case route == "/api/profile-import":
		return "profile-import"
	case route == "/api/profiles" || strings.HasPrefix(route, "/api/profiles/"):
		return "profiles"
	case route == "/api/profile-subscription-bulk-create-jobs":
		return "subscribe"
	case route == "/api/profile-subscription-bulk-delete-jobs":
		return "unsubscribe"
	case strings.HasSuffix(route, "/relationships/profiles"):
		return "list-members"
	case method == http.MethodGet && route == "/api/lists/{id}":
		return "lists"
	case route == "/api/data-privacy-deletion-jobs":
		return "data-privacy"
	case route == "/api/events" && method == http.MethodGet:
		return "event-reads"
	case route == "/api/events":
		return "events"
	case route == "/api/metrics":
		return "metrics"
	case route == "/api/profile-bulk-import-jobs" || strings.HasPrefix(route, "/api/profile-bulk-import-jobs/"):
		return "bulk-import"
	case route == "/api/catalog-items" || strings.HasPrefix(route, "/api/catalog-items/"):
		return "catalog-items"
	case route == "/api/catalog-variants" || strings.HasPrefix(route, "/api/catalog-variants/"):
		return "catalog-variants"
	case route == "/api/catalog-categories" || strings.HasPrefix(route, "/api/catalog-categories/"):
		return "catalog-categories"
	}
	return "other"
}

// steadyWindow is Klaviyo's steady window; burstWindow is its 1 s burst
// window with a margin, since Klaviyo counts arrivals, not sends.
const (
	steadyWindow = time.Minute
	burstWindow  = 1100 * time.Millisecond
)

// rateHeaders are what one response says about its bucket. Klaviyo sends
// RateLimit-Limit, -Remaining and -Reset (seconds) for the steady window
// on every answer but a 429, which carries Retry-After (seconds) instead.
type rateHeaders struct {
	ok               bool // limit and remaining were both present
	limit, remaining int
	reset            time.Duration
	retryAfter       time.Duration
}

func parseRateHeaders(h http.Header) rateHeaders {
	var rl rateHeaders
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Limit")))
	remaining, err2 := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Remaining")))
	if err1 == nil && err2 == nil && limit > 0 {
		rl.ok, rl.limit, rl.remaining = true, limit, remaining
	}
	rl.reset = seconds(h.Get("RateLimit-Reset"))
	rl.retryAfter = seconds(h.Get("Retry-After"))
	return rl
}

func seconds(v string) time.Duration {
	s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || s < 0 || math.IsInf(s, 0) || math.IsNaN(s) || s > 86400 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

type answer struct {
	status int
	rate   rateHeaders
}

// limiter keeps, per bucket, a sliding burst window of send times (Burst
// sends per burstWindow at most) and the steady budget the last answer
// reported: RateLimit-Remaining minus the requests still in flight, which
// the server may not have counted yet. Until the window's reset the budget
// only shrinks; at the reset it restarts at the limit. A 429 blocks the
// bucket for its Retry-After.
type limiter struct {
	onWait func(string, time.Duration)
	log    *slog.Logger
	now    func() time.Time
	limits map[string]Limit

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	burst        int
	sent         []time.Time // send times of the last burst requests, oldest first
	known        bool        // an answer carried RateLimit-* headers
	limit        int
	budget       int
	resetAt      time.Time
	blockedUntil time.Time
	inflight     int
}

func newLimiter(onWait func(string, time.Duration), log *slog.Logger) *limiter {
	return &limiter{onWait: onWait, log: log, now: time.Now, limits: Buckets, buckets: map[string]*bucket{}}
}

// acquire waits until a request on bucket name may be sent, or ctx ends.
// OnRateLimitWait hears of the first wait only, with its planned length.
func (l *limiter) acquire(ctx context.Context, name string) (*bucket, error) {
	return l.take(ctx, name, false)
}

// acquireSpare is acquire for background reads (reconciliation): it waits
// until more than half of the bucket's steady budget is left, and fewer
// than half of its burst were sent in the last burst window, so a
// background read never takes the last half of either and deliveries on
// the same bucket always have it. Its waits are the client's own choice,
// not Klaviyo's throttling, so OnRateLimitWait does not hear of them (the
// debug log does).
func (l *limiter) acquireSpare(ctx context.Context, name string) (*bucket, error) {
	return l.take(ctx, name, true)
}

func (l *limiter) take(ctx context.Context, name string, spare bool) (*bucket, error) {
	waited := false
	for {
		l.mu.Lock()
		b := l.buckets[name]
		if b == nil {
			b = &bucket{burst: l.limits[name].Burst}
			l.buckets[name] = b
		}
		now := l.now()
		wait := b.waitAt(now, spare)
		if wait <= 0 {
			if b.known {
				b.budget--
			}
			if b.burst > 0 {
				b.sent = append(b.sent, now)
				if len(b.sent) > b.burst {
					b.sent = b.sent[len(b.sent)-b.burst:]
				}
			}
			b.inflight++
			l.mu.Unlock()
			return b, nil
		}
		l.mu.Unlock()
		if !waited {
			waited = true
			msg := "klaviyo rate limit wait"
			if spare {
				msg = "klaviyo rate limit: background read yields to deliveries"
			} else if l.onWait != nil {
				l.onWait(name, wait)
			}
			l.log.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("bucket", name), slog.Duration("wait", wait))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// waitAt returns how long a request must wait at now; l.mu is held. A
// spare (background) request keeps half of the steady budget and half of
// the burst for the others.
func (b *bucket) waitAt(now time.Time, spare bool) time.Duration {
	if now.Before(b.blockedUntil) {
		return b.blockedUntil.Sub(now)
	}
	if b.known {
		if !now.Before(b.resetAt) {
			b.budget, b.resetAt = b.limit-b.inflight, now.Add(steadyWindow)
		}
		keep := 0
		if spare {
			keep = b.limit / 2
		}
		if b.budget <= keep {
			return b.resetAt.Sub(now)
		}
	}
	burst := b.burst
	if spare {
		burst = max(b.burst/2, 1)
	}
	if burst > 0 && len(b.sent) >= burst {
		if end := b.sent[len(b.sent)-burst].Add(burstWindow); now.Before(end) {
			return end.Sub(now)
		}
	}
	return 0
}

// release ends a request admitted by acquire; a is nil when no answer came.
func (l *limiter) release(b *bucket, a *answer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.inflight--
	if a == nil {
		return
	}
	now := l.now()
	if a.rate.ok {
		b.known, b.limit = true, a.rate.limit
		b.budget = a.rate.remaining - b.inflight
		reset := a.rate.reset
		if reset <= 0 {
			reset = time.Second
		}
		b.resetAt = now.Add(reset)
	}
	if a.status == http.StatusTooManyRequests {
		d := a.rate.retryAfter
		if d <= 0 {
			d = time.Second
		}
		if until := now.Add(d); until.After(b.blockedUntil) {
			b.blockedUntil = until
		}
	}
}

// budgets reports the steady window of each bucket an answer carried
// RateLimit-* headers for, as acquire would count it now.
func (l *limiter) budgets() []synclayer.RateBudget {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var out []synclayer.RateBudget
	for name, b := range l.buckets {
		if !b.known {
			continue
		}
		rb := synclayer.RateBudget{Bucket: name, Remaining: max(b.budget, 0), Limit: b.limit, Reset: b.resetAt}
		if !now.Before(b.resetAt) {
			rb.Remaining, rb.Reset = max(b.limit-b.inflight, 0), now.Add(steadyWindow)
		}
		out = append(out, rb)
	}
	slices.SortFunc(out, func(a, b synclayer.RateBudget) int { return strings.Compare(a.Bucket, b.Bucket) })
	return out
}

// RateBudgets returns what Klaviyo's RateLimit-* headers last said of the
// steady window of each bucket this client has called, less the requests
// in flight.
func (c *Client) RateBudgets() []synclayer.RateBudget { return c.limits.budgets() }

// RateBudgets returns the client's (Client.RateBudgets).
func (d *Destination) RateBudgets() []synclayer.RateBudget { return d.client.RateBudgets() }

var _ synclayer.RateBudgeter = (*Destination)(nil)
