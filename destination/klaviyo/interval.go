package klaviyo

import (
	"time"

	"synclayer"
)

// Interval is reconcile_interval's type.
type Interval = synclayer.Interval

// Reconciliation intervals: the default, and the shortest and longest
// accepted. A pass costs a few requests (metrics, suppressed profiles,
// and each opt-out metric's events); a day is the longest an opt-out made
// in Klaviyo may wait to reach the other destinations.
const (
	DefaultReconcileInterval = 15 * time.Minute
	MinReconcileInterval     = time.Minute
	MaxReconcileInterval     = 24 * time.Hour
)

// reconcileInterval is the interval s asks for: the default when unset, 0
// when off, else one from MinReconcileInterval to MaxReconcileInterval, or
// an EINVALID error naming reconcile_interval.
func (s Settings) reconcileInterval() (time.Duration, error) {
	if s.ReconcileInterval == nil {
		return DefaultReconcileInterval, nil
	}
	d := time.Duration(*s.ReconcileInterval)
	if d != 0 && (d < MinReconcileInterval || d > MaxReconcileInterval) {
		return 0, synclayer.FieldErrorf("reconcile_interval", "is %s; it must be from %s to %s (each pass reads Klaviyo's opt-outs on its rate limits), or off",
			d, MinReconcileInterval, MaxReconcileInterval)
	}
	return d, nil
}
