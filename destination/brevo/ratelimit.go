package brevo

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

// bucketFor names the Brevo rate-limit bucket a request counts against,
// after the table on developers.brevo.com/docs/api-limits.
func bucketFor(method, route string) string {
	switch {
	case route == "/contacts" || strings.HasPrefix(route, "/contacts/"):
		return "contacts"
	case method == http.MethodPost && route == "/events":
		return "events"
	case method == http.MethodPost && route == "/orders/status":
		return "orders"
	case method == http.MethodPost && route == "/products":
		return "products"
	case strings.HasPrefix(route, "/smtp/"):
		return "smtp"
	case strings.HasPrefix(route, "/loyalty/"):
		return "loyalty"
	}
	return "other"
}

// rateHeaders are the x-sib-ratelimit-* values of one response.
type rateHeaders struct {
	ok               bool // limit and remaining were both present
	limit, remaining int
	hasReset         bool
	reset            time.Duration
}

func parseRateHeaders(h http.Header) rateHeaders {
	var rl rateHeaders
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get("x-sib-ratelimit-limit")))
	remaining, err2 := strconv.Atoi(strings.TrimSpace(h.Get("x-sib-ratelimit-remaining")))
	if err1 == nil && err2 == nil {
		rl.ok, rl.limit, rl.remaining = true, limit, remaining
	}
	if s, err := strconv.ParseFloat(strings.TrimSpace(h.Get("x-sib-ratelimit-reset")), 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		rl.hasReset, rl.reset = true, time.Duration(s*float64(time.Second))
	}
	return rl
}

// answer is what release learns from a response.
type answer struct {
	status int
	rate   rateHeaders
}

// limiter keeps one budget per bucket. The budget is the number of requests
// that can still be sent without exceeding the server's window, assuming
// this client is the only one using the key:
//
//   - A response that reported remaining r leaves r minus the requests still
//     in flight minus the responses that arrived while it was in flight
//     (those may have been counted after it). Every request the server
//     counted after this one is in one of those two groups, so the budget
//     is safe whether or not the window has reset meanwhile, and it grows
//     again as soon as a response shows a fresh window.
//   - resetAt is the latest "arrival + x-sib-ratelimit-reset" seen, so at
//     resetAt every answered request's window has ended: the new window can
//     hold at most the requests in flight, and the budget restarts at
//     limit minus those.
//
// Until the first response with headers, one request at a time goes out.
type limiter struct {
	onWait func(string, time.Duration)
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	known     bool // a response carried rate-limit headers
	unlimited bool // a response carried none, and none has since
	probing   bool // the first request is in flight and nothing is known
	limit     int
	budget    int
	resetAt   time.Time
	window    time.Duration // longest reset seen: a bound on window length
	inflight  int
	answers   uint64        // responses received
	changed   chan struct{} // closed and replaced whenever the state changes
}

// ticket is one request admitted by acquire.
type ticket struct {
	b       *bucket
	answers uint64 // b.answers when the request was sent
	probe   bool
}

func newLimiter(onWait func(string, time.Duration), log *slog.Logger) *limiter {
	return &limiter{onWait: onWait, log: log, now: time.Now, buckets: map[string]*bucket{}}
}

// acquire waits until a request on bucket name may be sent, or ctx ends.
// OnRateLimitWait hears of the first wait only, with its planned length.
func (l *limiter) acquire(ctx context.Context, name string) (ticket, error) {
	return l.take(ctx, name, false)
}

// acquireSpare is acquire for background reads (reconciliation): it waits
// until more than half of the bucket's known budget is left, so a
// background request never takes one of the last half of a window's
// requests and deliveries on the same bucket always have them. Its waits
// are the client's own choice, not Brevo's throttling, so OnRateLimitWait
// does not hear of them (the debug log does).
func (l *limiter) acquireSpare(ctx context.Context, name string) (ticket, error) {
	return l.take(ctx, name, true)
}

func (l *limiter) take(ctx context.Context, name string, spare bool) (ticket, error) {
	waited := false
	for {
		l.mu.Lock()
		b := l.buckets[name]
		if b == nil {
			b = &bucket{changed: make(chan struct{})}
			l.buckets[name] = b
		}
		now := l.now()
		var wait time.Duration // 0: wait for a state change only
		switch {
		case b.unlimited:
			return l.admit(b, false), nil
		case !b.known:
			if !b.probing {
				b.probing = true
				return l.admit(b, true), nil
			}
		default:
			if !now.Before(b.resetAt) {
				b.budget = b.limit - b.inflight
				b.resetAt = now.Add(b.window)
			}
			keep := 0
			if spare {
				keep = b.limit / 2
			}
			if b.budget > keep {
				b.budget--
				return l.admit(b, false), nil
			}
			wait = b.resetAt.Sub(now)
		}
		changed := b.changed
		l.mu.Unlock()

		var timer *time.Timer
		var fired <-chan time.Time
		if wait > 0 {
			if !waited {
				waited = true
				msg := "brevo rate limit wait"
				if spare {
					msg = "brevo rate limit: background read yields to deliveries"
				} else if l.onWait != nil {
					l.onWait(name, wait)
				}
				l.log.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("bucket", name), slog.Duration("wait", wait))
			}
			timer = time.NewTimer(wait)
			fired = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-fired:
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return ticket{}, err
		}
	}
}

// admit records a request as in flight; l.mu is held and is released.
func (l *limiter) admit(b *bucket, probe bool) ticket {
	b.inflight++
	t := ticket{b: b, answers: b.answers, probe: probe}
	l.mu.Unlock()
	return t
}

// release ends t's request; a is nil when no response arrived.
func (l *limiter) release(t ticket, a *answer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := t.b
	b.inflight--
	if t.probe {
		b.probing = false
	}
	if a != nil {
		during := b.answers - t.answers
		b.answers++
		l.learn(b, a, int(during))
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

func (l *limiter) learn(b *bucket, a *answer, during int) {
	now := l.now()
	rl := a.rate
	reset := time.Second
	if rl.hasReset {
		reset = rl.reset
	}
	switch {
	case rl.ok:
		b.known, b.unlimited = true, false
		b.limit = rl.limit
		b.budget = rl.remaining - b.inflight - during
	case a.status == http.StatusTooManyRequests:
		b.known, b.unlimited = true, false
		if b.limit == 0 {
			b.limit = 1
		}
		b.budget = 0
	default:
		if !b.known {
			b.unlimited = true
		}
		return
	}
	if a.status == http.StatusTooManyRequests {
		b.budget = 0
	}
	if reset > b.window {
		b.window = reset
	}
	if at := now.Add(reset); at.After(b.resetAt) {
		b.resetAt = at
	}
}

// budgets reports each bucket whose limit an answer reported, as acquire
// would count it now.
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
			rb.Remaining, rb.Reset = max(b.limit-b.inflight, 0), now.Add(b.window)
		}
		out = append(out, rb)
	}
	slices.SortFunc(out, func(a, b synclayer.RateBudget) int { return strings.Compare(a.Bucket, b.Bucket) })
	return out
}

// RateBudgets returns what Brevo's x-sib-ratelimit-* headers last said of
// each bucket this client has called, less the requests in flight.
func (c *Client) RateBudgets() []synclayer.RateBudget { return c.limits.budgets() }

// RateBudgets returns the client's (Client.RateBudgets).
func (d *Destination) RateBudgets() []synclayer.RateBudget { return d.client.RateBudgets() }

var _ synclayer.RateBudgeter = (*Destination)(nil)
