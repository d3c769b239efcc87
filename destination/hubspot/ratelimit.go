package hubspot

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"synclayer"
)

// Bucket names of HubSpot's limits, for OnRateLimitWait and RateBudgets.
const (
	BucketRolling = "rolling" // the X-HubSpot-RateLimit-Max per -Interval-Milliseconds window
	BucketDaily   = "daily"
)

// limiter paces requests by what HubSpot's X-HubSpot-RateLimit-* headers
// last said: once an answer reports no request left in the window, sends
// wait one interval, read from X-HubSpot-RateLimit-Interval-Milliseconds
// (HubSpot's documented window is 10 s, but the header is the truth).
type limiter struct {
	mu       sync.Mutex
	now      func() time.Time
	max      int
	remain   int
	interval time.Duration
	until    time.Time // no send before this
	daily    int
	dailyRem int
	seen     bool
	seenAt   time.Time
}

// defaultInterval is the window assumed before any answer carried the
// header: HubSpot's documented ten seconds.
const defaultInterval = 10 * time.Second

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, interval: defaultInterval}
}

// wait blocks until a send is allowed and returns how long it waited.
func (l *limiter) wait(ctx context.Context) (time.Duration, error) {
	l.mu.Lock()
	d := l.until.Sub(l.now())
	l.mu.Unlock()
	if d <= 0 {
		return 0, nil
	}
	return d, sleep(ctx, d)
}

// observe records an answer's headers.
func (l *limiter) observe(h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		l.interval = time.Duration(ms) * time.Millisecond
	}
	if n, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Max")); err == nil {
		l.max, l.seen, l.seenAt = n, true, l.now()
		if r, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Remaining")); err == nil {
			l.remain = r
			if r <= 0 {
				l.hold(l.interval)
			}
		}
	}
	if n, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Daily")); err == nil {
		l.daily = n
		if r, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Daily-Remaining")); err == nil {
			l.dailyRem = r
		}
	}
}

// throttled records a 429 and returns how long to wait: the Retry-After
// header when HubSpot sends one, else one interval for the rolling limit
// and an hour for the daily one (it resets at midnight in the account's
// time zone, which the API does not say).
func (l *limiter) throttled(h http.Header, policy string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.interval
	if policy == "DAILY" {
		d = time.Hour
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		d = time.Duration(s) * time.Second
	}
	l.hold(d)
	return d
}

func (l *limiter) hold(d time.Duration) {
	if t := l.now().Add(d); t.After(l.until) {
		l.until = t
	}
}

// budgets is what the headers last said.
func (l *limiter) budgets() []synclayer.RateBudget {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seen {
		return nil
	}
	out := []synclayer.RateBudget{}
	if l.daily > 0 {
		out = append(out, synclayer.RateBudget{Bucket: BucketDaily, Remaining: l.dailyRem, Limit: l.daily})
	}
	return append(out, synclayer.RateBudget{Bucket: BucketRolling, Remaining: l.remain, Limit: l.max, Reset: l.seenAt.Add(l.interval)})
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
