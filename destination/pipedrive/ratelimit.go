package pipedrive

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"synclayer"
)

// Bucket names of Pipedrive's limits, for OnRateLimitWait and RateBudgets.
const (
	BucketWindow = "window" // x-ratelimit-limit requests per 2-second window, per token
	BucketDaily  = "daily"  // x-daily-requests-left: POST/PUT requests left today (UTC), api_token only
)

// defaultWindow is Pipedrive's documented window, assumed when an answer
// carries no x-ratelimit-reset.
const defaultWindow = 2 * time.Second

// limiter paces requests by Pipedrive's x-ratelimit-* headers. Within a
// window it counts down what the last answer said was left, so
// concurrent sends stop at zero instead of drawing 429s, and waits for
// x-ratelimit-reset; the first answer of a new window sets the count
// again, less the requests sent before it that may not have been counted
// yet.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	known   bool // remain is from this window's headers
	remain  int
	limit   int
	resetAt time.Time // end of the window the headers describe
	pending int       // sent while the window was unknown, not yet answered
	until   time.Time // a 429's hold: no send before this
	seen    bool

	daily, dailyMax int // x-daily-requests-left, and the most seen today
	dailyDay        string
	dailySeen       bool
}

func newLimiter(now func() time.Time) *limiter { return &limiter{now: now} }

// wait blocks until a send is allowed, counts it, and returns how long
// it waited.
func (l *limiter) wait(ctx context.Context) (time.Duration, error) {
	var total time.Duration
	for {
		l.mu.Lock()
		now := l.now()
		var d time.Duration
		switch {
		case now.Before(l.until):
			d = l.until.Sub(now)
		case l.known && !now.Before(l.resetAt):
			l.known = false
		}
		if d == 0 && l.known && l.remain <= 0 {
			d = l.resetAt.Sub(now)
		}
		if d <= 0 {
			if l.known {
				l.remain--
			} else {
				l.pending++
			}
			l.mu.Unlock()
			return total, nil
		}
		l.mu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return total, err
		}
		total += d
	}
}

// done releases a send that got no answer.
func (l *limiter) done() {
	l.mu.Lock()
	if !l.known && l.pending > 0 {
		l.pending--
	}
	l.mu.Unlock()
}

// observe records an answer's headers.
func (l *limiter) observe(h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if n, err := strconv.Atoi(h.Get("x-daily-requests-left")); err == nil {
		day := now.UTC().Format("2006-01-02")
		if day != l.dailyDay {
			l.dailyDay, l.dailyMax = day, 0
		}
		l.daily, l.dailyMax, l.dailySeen = n, max(l.dailyMax, n), true
	}
	limit, err1 := strconv.Atoi(h.Get("x-ratelimit-limit"))
	remain, err2 := strconv.Atoi(h.Get("x-ratelimit-remaining"))
	if err1 != nil || err2 != nil {
		if !l.known && l.pending > 0 {
			l.pending--
		}
		return
	}
	window := defaultWindow
	if s, err := strconv.Atoi(h.Get("x-ratelimit-reset")); err == nil && s > 0 {
		window = time.Duration(s) * time.Second
	}
	l.limit, l.seen = limit, true
	if !l.known || !now.Before(l.resetAt) {
		// Sends still unanswered from before this answer may not be in
		// its count: assume they were not.
		l.known, l.remain, l.resetAt = true, max(remain-max(l.pending-1, 0), 0), now.Add(window)
		l.pending = 0
		return
	}
	l.remain = min(l.remain, remain)
	if remain <= 0 {
		l.resetAt = now.Add(window)
	}
}

// throttled records a 429 and returns how long to wait, and whether it
// is the daily budget (x-daily-requests-left: 0), which resets at
// midnight UTC and is not waited out in the client. The 2-second
// window's wait is Retry-After when sent, else x-ratelimit-reset, else
// the documented 2 seconds.
func (l *limiter) throttled(h http.Header) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if h.Get("x-daily-requests-left") == "0" {
		next := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		return next.Sub(now), true
	}
	d := defaultWindow
	if s, err := strconv.Atoi(h.Get("x-ratelimit-reset")); err == nil && s > 0 {
		d = time.Duration(s) * time.Second
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		d = time.Duration(s) * time.Second
	}
	if t := now.Add(d); t.After(l.until) {
		l.until = t
	}
	l.known, l.remain, l.resetAt = true, 0, now.Add(d)
	return d, false
}

// budgets is what the headers last said. The daily bucket's Limit is the
// most x-daily-requests-left seen today, since Pipedrive sends no total.
func (l *limiter) budgets() []synclayer.RateBudget {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []synclayer.RateBudget
	if l.dailySeen {
		day, _ := time.Parse("2006-01-02", l.dailyDay)
		out = append(out, synclayer.RateBudget{Bucket: BucketDaily, Remaining: l.daily, Limit: l.dailyMax, Reset: day.Add(24 * time.Hour)})
	}
	if l.seen {
		out = append(out, synclayer.RateBudget{Bucket: BucketWindow, Remaining: max(l.remain, 0), Limit: l.limit, Reset: l.resetAt})
	}
	return out
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
