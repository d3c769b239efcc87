package shopify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"synclayer"
)

// The Admin GraphQL API limits each app on each shop by query cost, with
// a leaky bucket: a bucket of maximumAvailable points that refills at
// restoreRate points a second, which every answer reports in
// extensions.cost.throttleStatus. Until the first answer the limiter
// assumes the smallest limits Shopify has documented for the Standard
// plan (1000 points, 50 a second; current plans restore 100 a second or
// more), then takes the shop's own.
const (
	DefaultBucket      = 1000
	DefaultRestoreRate = 50
)

// mutationCost is what Shopify charges a mutation: 10 points, plus a
// point for each object the answer selects; the limiter counts 10, the
// answers' currentlyAvailable corrects the rest.
const mutationCost = 10

// costLimiter paces requests by Shopify's cost bucket.
type costLimiter struct {
	mu  sync.Mutex
	lim *rate.Limiter
}

func newCostLimiter(bucket, restore float64) *costLimiter {
	if bucket <= 0 {
		bucket = DefaultBucket
	}
	if restore <= 0 {
		restore = DefaultRestoreRate
	}
	return &costLimiter{lim: rate.NewLimiter(rate.Limit(restore), int(bucket))}
}

// errWait is what take returns when the bucket refills too slowly to
// wait inline; the job goes back to the queue instead, freeing the worker.
var errWait = errors.New("shopify: the Admin API's query cost bucket is empty")

// take waits until cost points are free. A wait longer than maxInlineWait
// is not made: the points are left for others and a RetryAfter error says
// when they will be there. A cost larger than the whole bucket is let
// through for Shopify to judge.
func (c *costLimiter) take(ctx context.Context, now time.Time, cost int) error {
	c.mu.Lock()
	r := c.lim.ReserveN(now, cost)
	c.mu.Unlock()
	if !r.OK() {
		return nil
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if d > maxInlineWait {
		r.CancelAt(now)
		return synclayer.Throttled(fmt.Errorf("%w: %d points needed, retry in %s", errWait, cost, d.Round(time.Millisecond)), d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// observe takes the bucket an answer reported: its size, its restore
// rate, and, when Shopify has fewer points left than the limiter thinks
// (other calls of the same app on the shop spend them too), that number.
func (c *costLimiter) observe(now time.Time, ts throttleStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts.MaximumAvailable >= 1 && int(ts.MaximumAvailable) != c.lim.Burst() {
		// The shop's own bucket, first seen: start from what it holds, so
		// a Plus shop's larger bucket is used at once, not refilled into.
		restore := c.lim.Limit()
		if ts.RestoreRate > 0 {
			restore = rate.Limit(ts.RestoreRate)
		}
		c.lim = rate.NewLimiter(restore, int(ts.MaximumAvailable))
		c.lim.SetLimitAt(now, restore)
		if ts.CurrentlyAvailable >= 0 && ts.CurrentlyAvailable < ts.MaximumAvailable {
			c.lim.ReserveN(now, int(math.Ceil(ts.MaximumAvailable-ts.CurrentlyAvailable)))
		}
		return
	}
	if ts.RestoreRate > 0 && rate.Limit(ts.RestoreRate) != c.lim.Limit() {
		c.lim.SetLimitAt(now, rate.Limit(ts.RestoreRate))
	}
	if have := c.lim.TokensAt(now); ts.CurrentlyAvailable >= 0 && ts.CurrentlyAvailable < have {
		c.lim.ReserveN(now, int(math.Ceil(have-ts.CurrentlyAvailable)))
	}
}

// throttledWait is how long a THROTTLED request waits before it can pass:
// the points it asked for that the bucket lacks, at the restore rate the
// answer reported (or the limiter's).
func (c *costLimiter) throttledWait(cost *queryCost) time.Duration {
	need, avail, restore := float64(mutationCost), 0.0, float64(c.restoreRate())
	if cost != nil {
		if cost.RequestedQueryCost > 0 {
			need = cost.RequestedQueryCost
		}
		avail = cost.ThrottleStatus.CurrentlyAvailable
		if cost.ThrottleStatus.RestoreRate > 0 {
			restore = cost.ThrottleStatus.RestoreRate
		}
	}
	d := time.Duration((need - avail) / restore * float64(time.Second))
	return max(d, 100*time.Millisecond)
}

func (c *costLimiter) restoreRate() rate.Limit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lim.Limit()
}
