package shopifysim

import (
	"math"
	"time"
)

// bucket is Shopify's leaky bucket of query cost points: it holds up to
// max, refills at restore points a second, and a request passes only
// when the bucket holds its requested cost.
type bucket struct {
	max, restore float64
	available    float64
	at           time.Time // when available was last brought up to date
}

func newBucket(size, restore float64, now time.Time) bucket {
	if size <= 0 {
		size = DefaultBucket
	}
	if restore <= 0 {
		restore = DefaultRestoreRate
	}
	return bucket{max: size, restore: restore, available: size, at: now}
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.at) {
		b.available = math.Min(b.max, b.available+now.Sub(b.at).Seconds()*b.restore)
		b.at = now
	}
}

func (b *bucket) set(points float64, now time.Time) {
	b.refill(now)
	b.available = math.Max(0, math.Min(b.max, points))
}

// spend takes cost points if the bucket holds them.
func (b *bucket) spend(cost float64, now time.Time) bool {
	b.refill(now)
	if b.available < cost {
		return false
	}
	b.available -= cost
	return true
}

// costExtension is extensions.cost as every answer carries it;
// actualQueryCost is null for a throttled request.
type costExtension struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

func (b *bucket) cost(requested float64, actual *float64) costExtension {
	return costExtension{RequestedQueryCost: requested, ActualQueryCost: actual, ThrottleStatus: throttleStatus{
		MaximumAvailable: b.max, CurrentlyAvailable: math.Floor(b.available), RestoreRate: b.restore}}
}
