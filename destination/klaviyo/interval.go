package klaviyo

import (
	"encoding/json"
	"strings"
	"time"

	"synclayer"
)

// Interval is a duration setting written like 15m or 1h, or off (also 0,
// and false, which YAML 1.1 reads off as) for none.
type Interval time.Duration

// UnmarshalJSON reads a Go duration string, "off", "0", 0 or false. Any
// other value is an EINVALID *synclayer.Error naming reconcile_interval.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	const how = "write it like 15m or 1h, or off to turn reconciliation off"
	bad := func(format string, args ...any) error {
		return synclayer.FieldErrorf("reconcile_interval", format+": "+how, args...)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return bad("is not a duration")
	}
	switch v := v.(type) {
	case bool:
		if v {
			return bad("true is not a duration")
		}
		*iv = 0
	case float64:
		if v != 0 {
			return bad("%v has no unit", v)
		}
		*iv = 0
	case string:
		s := strings.TrimSpace(v)
		if strings.EqualFold(s, "off") || s == "0" {
			*iv = 0
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad("%q is not a duration", s)
		}
		if d < 0 {
			return bad("%q is negative", s)
		}
		*iv = Interval(d)
	default:
		return bad("is not a duration")
	}
	return nil
}

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
