package synclayer

import (
	"strconv"
	"strings"
	"time"
)

// ReplayRequest asks for the stored events received in [Since, Until) to
// run again through the current pipeline: each contact they touched is
// queued for delivery as the skill is configured now, so a destination
// fixed after an outage, or a changed mapping, gets them again. Delivery
// plans from the canonical contact, so consent holds (an opt-out is never
// lifted) and a record the destination already holds unchanged is skipped.
type ReplayRequest struct {
	Since  time.Time
	Until  time.Time
	Skill  string // default customer-sync
	Source string // only this source's events; "" for every source the skill takes
	DryRun bool   // count, queue nothing
}

// ReplayResult reports what a replay matched and queued.
type ReplayResult struct {
	Skill        string    `json:"skill"`
	Since        time.Time `json:"since"`
	Until        time.Time `json:"until"`
	Source       string    `json:"source,omitempty"`
	DryRun       bool      `json:"dryRun"`
	Events       int       `json:"events"`   // events matched
	Failed       int       `json:"failed"`   // of them, refused at ingest: no contact to deliver
	Contacts     int       `json:"contacts"` // distinct contacts they touched
	Jobs         int       `json:"jobs"`     // delivery jobs queued; 0 on a dry run
	Destinations []string  `json:"destinations"`
}

// ReplayFilter selects stored events by when they were received and
// their source.
type ReplayFilter struct {
	Since, Until time.Time
	Sources      []string // empty: every source
}

// ParseTimeAgo reads a point in time as an RFC 3339 time
// ("2026-11-20T10:00:00Z") or as a duration before now ("24h", "90m",
// "7d"). Errors are EINVALID naming field.
func ParseTimeAgo(field, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, FieldErrorf(field, "%q is neither an RFC 3339 time such as 2026-11-20T10:00:00Z nor a duration ago such as 24h or 7d", s)
}
