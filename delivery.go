package synclayer

import (
	"context"
	"slices"
	"time"
)

// DeliveryOutcome is how one delivery attempt ended.
type DeliveryOutcome string

const (
	DeliveryDelivered DeliveryOutcome = "delivered" // the destination holds the record's state
	DeliveryRetried   DeliveryOutcome = "retried"   // failed, and scheduled again
	DeliveryDead      DeliveryOutcome = "dead"      // failed for good, dead-lettered
)

// Delivery is one recorded delivery attempt. The store writes it in the
// same transaction that completes, retries or dead-letters the job, so the
// windowed figures of the dashboard and GET /api/v1/stats survive restarts
// and agree with the queue.
type Delivery struct {
	ID          int64           `json:"id"`
	JobID       int64           `json:"jobId"`
	Skill       string          `json:"skill"`
	Destination string          `json:"destination"`
	RecordKey   string          `json:"recordKey"`
	Outcome     DeliveryOutcome `json:"outcome"`
	At          time.Time       `json:"at"`
	// Latency runs from the oldest change the job carried (Job.FirstSeenAt)
	// to the end of the attempt.
	Latency time.Duration `json:"latency"`
	Reason  string        `json:"reason,omitempty"` // why it failed
}

// DeliveryFilter selects delivery attempts, newest first.
type DeliveryFilter struct {
	Since  time.Time // at or after
	Failed bool      // only retried and dead attempts
	Limit  int
}

// SkillStats sums up one skill's deliveries over a window, and its queue
// as it stands now.
type SkillStats struct {
	Skill     string `json:"skill"`
	Delivered int    `json:"delivered"`
	Retried   int    `json:"retried"`
	Dead      int    `json:"dead"`
	// AvgLatency and P95Latency are over the delivered attempts only: the
	// time from the change to the destination. P95Latency is computed from
	// at most the newest StatsLatencySample of them.
	AvgLatency time.Duration `json:"-"`
	P95Latency time.Duration `json:"-"`
	// Queue holds the jobs pending, running and dead now, whatever the window.
	Queue map[JobState]int `json:"-"`
}

// StatsLatencySample caps how many latencies one skill's p95 is computed
// from, so a busy week costs a bounded scan.
const StatsLatencySample = 50000

// Attempts is the number of delivery attempts in the window.
func (s *SkillStats) Attempts() int { return s.Delivered + s.Retried + s.Dead }

// SuccessRate is the share of finished deliveries that reached the
// destination, delivered / (delivered + dead); a retry is not finished.
// ok is false when nothing finished in the window.
func (s *SkillStats) SuccessRate() (rate float64, ok bool) {
	if n := s.Delivered + s.Dead; n > 0 {
		return float64(s.Delivered) / float64(n), true
	}
	return 0, false
}

// ErrorRate is the share of attempts that failed, (retried + dead) /
// attempts; ok is false when there was no attempt in the window.
func (s *SkillStats) ErrorRate() (rate float64, ok bool) {
	if n := s.Attempts(); n > 0 {
		return float64(s.Retried+s.Dead) / float64(n), true
	}
	return 0, false
}

// StatsWindow is a window the dashboard and the stats API offer, by the
// name their window parameter takes.
type StatsWindow struct {
	Name     string
	Duration time.Duration
	// Step is the interval the dashboard's charts of the window count in:
	// 15 intervals of 1 minute for 15m, 12 of 5 minutes for 1h, 24 of an
	// hour for 24h, 28 of 6 hours for 7d.
	Step time.Duration
}

// StatsWindows are the windows offered, shortest first.
var StatsWindows = []StatsWindow{
	{"15m", 15 * time.Minute, time.Minute},
	{"1h", time.Hour, 5 * time.Minute},
	{"24h", 24 * time.Hour, time.Hour},
	{"7d", 7 * 24 * time.Hour, 6 * time.Hour},
}

// StatsPoint is one interval of a skill's deliveries, for a chart: the
// attempts that ended in [Start, Start+step).
type StatsPoint struct {
	Start     time.Time
	Delivered int
	Retried   int
	Dead      int
	// P95Latency is over the interval's delivered attempts (at most the
	// newest StatsLatencySample / intervals of them); zero without any.
	P95Latency time.Duration
}

// Failed is the interval's failed attempts, retried and dead.
func (p StatsPoint) Failed() int { return p.Retried + p.Dead }

// ParseStatsWindow returns the window named s ("" is 1h), or an EINVALID
// error naming "window".
func ParseStatsWindow(s string) (StatsWindow, error) {
	if s == "" {
		s = "1h"
	}
	i := slices.IndexFunc(StatsWindows, func(w StatsWindow) bool { return w.Name == s })
	if i < 0 {
		return StatsWindow{}, FieldErrorf("window", "must be 15m, 1h, 24h or 7d, not %q", s)
	}
	return StatsWindows[i], nil
}

// StatsStore reads what deliveries did, for the dashboard, the stats API
// and the metrics.
type StatsStore interface {
	// SkillStats sums up deliveries since since, per skill, with each
	// skill's queue now. Every skill in include is listed, even idle, as
	// is every skill with jobs or deliveries; sorted by name.
	SkillStats(ctx context.Context, since time.Time, include ...string) ([]*SkillStats, error)
	// SkillSeries counts skill's delivery attempts in intervals of step
	// from since until until: one point per interval, oldest first, empty
	// ones included, so a chart's x axis is time. A step that makes more
	// than 1000 intervals is EINVALID.
	SkillSeries(ctx context.Context, skill string, since, until time.Time, step time.Duration) ([]StatsPoint, error)
	// FindDeliveries lists delivery attempts, newest first.
	FindDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// CountJobsBySkill returns the number of jobs per skill and state.
	CountJobsBySkill(ctx context.Context) (map[string]map[JobState]int, error)
}
