// Package limit holds the rate limits synclayer applies to what comes in:
// token buckets by key (a source, a client address), bounded in memory.
// Outbound limits, the destinations' own, live with each destination.
package limit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxKeys bounds the table: past it, the buckets least recently used are
// dropped (a dropped key starts again with a full bucket), so a flood of
// addresses cannot grow memory without end.
const maxKeys = 10000

// Keyed is a token bucket per key.
type Keyed struct {
	every rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	used time.Time
}

// New allows perSecond events per key on average, and burst at once.
func New(perSecond float64, burst int) *Keyed {
	return &Keyed{every: rate.Limit(perSecond), burst: max(burst, 1), now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. When the bucket is empty it reports
// false and how long until a token is back, for a Retry-After header.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b, found := k.buckets[key]
	if !found {
		if len(k.buckets) >= maxKeys {
			k.evict()
		}
		b = &bucket{l: rate.NewLimiter(k.every, k.burst)}
		k.buckets[key] = b
	}
	b.used = now
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Peek reports whether key would be allowed now, without taking a token:
// for a limit that counts only failures, checked before the attempt.
func (k *Keyed) Peek(key string) (ok bool, retryAfter time.Duration) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b, found := k.buckets[key]
	if !found {
		return true, 0
	}
	if tokens := b.l.TokensAt(now); tokens < 1 {
		return false, time.Duration(math.Ceil((1-tokens)/float64(k.every)*1e9)) * time.Nanosecond
	}
	return true, 0
}

// evict drops the least recently used tenth of the buckets.
func (k *Keyed) evict() {
	type kv struct {
		key  string
		used time.Time
	}
	list := make([]kv, 0, len(k.buckets))
	for key, b := range k.buckets {
		list = append(list, kv{key, b.used})
	}
	// A partial selection would do; the table is small and this is rare.
	for i := 0; i < len(list)/10+1; i++ {
		oldest := i
		for j := i + 1; j < len(list); j++ {
			if list[j].used.Before(list[oldest].used) {
				oldest = j
			}
		}
		list[i], list[oldest] = list[oldest], list[i]
		delete(k.buckets, list[i].key)
	}
}
