package synclayer

import (
	"context"
	"time"
)

// Tally names a happening the ingest transaction counts per day and
// source, for the health report: the trace records each one, but has no
// index by time to count them from.
type Tally string

const (
	TallyMerge  Tally = "merge"   // a record joined an existing contact (RuleIdentityMerged)
	TallyOptIn  Tally = "opt_in"  // a consent became subscribed (email or SMS)
	TallyOptOut Tally = "opt_out" // a consent became unsubscribed (email or SMS)
	// TallyConflict is a change to a field that another system owns
	// (fields.<name>.owner), which was not applied; counted under the
	// system that sent it.
	TallyConflict Tally = "conflict"
)

// ReportPeriod is the span a health report covers: an ISO week (Monday
// 00:00 UTC to Monday) or a calendar month, in UTC.
type ReportPeriod string

const (
	ReportWeek  ReportPeriod = "week"
	ReportMonth ReportPeriod = "month"
)

// HealthFigures is what the store counts over [From, To), the raw
// material of a HealthReport. Delivery attempts are kept 8 days, so
// older days come from daily roll-ups (RollUpDeliveries); a day that was
// never rolled up before its attempts were pruned is missing, and
// CoveredFrom says from when the figures are complete.
type HealthFigures struct {
	From, To    time.Time
	CoveredFrom time.Time
	Skills      map[string]*SkillFigures
	// Failures are dead-lettered deliveries (Stage "delivery", Name the
	// skill) and events failed at ingest (Stage "ingest", Name the
	// source), by their stored reason.
	Failures []FailureCount
	// Tallies count per kind and source.
	Tallies map[Tally]map[string]int
	Sources []SourceFigures
}

// SkillFigures is one skill's deliveries over the period and its queue now.
type SkillFigures struct {
	Delivered, Retried, Dead int
	// P95Latency is the highest of the period's daily p95 latencies of
	// delivered attempts: a slow day is not averaged away.
	P95Latency    time.Duration
	Pending       int       // jobs pending now
	OldestPending time.Time // when the oldest pending job's change was first seen; zero if none
}

// FailureCount is how many failures had one reason.
type FailureCount struct {
	Stage  string `json:"stage"` // ingest or delivery
	Name   string `json:"name"`  // the source (ingest) or the skill (delivery)
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// SourceFigures is one configured source's traffic.
type SourceFigures struct {
	Source         string
	Events         int       // accepted in the period
	LastReceivedAt time.Time // the newest accepted event ever; zero if none
}

// ReportStore computes health figures.
type ReportStore interface {
	// HealthFigures counts over [from, to), with the queue as it stands
	// at now and the traffic of each of sources. It first rolls up the
	// closed days not yet rolled up.
	HealthFigures(ctx context.Context, from, to, now time.Time, sources []string) (*HealthFigures, error)
}

// HealthReport is the health report as sent and shown: figures made
// readable, reasons masked and ranked.
type HealthReport struct {
	Period      ReportPeriod   `json:"period"`
	Key         string         `json:"key"` // 2026-W49 or 2026-12
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	CoveredFrom time.Time      `json:"coveredFrom,omitzero"` // set when figures before it were not kept
	Skills      []SkillHealth  `json:"skills"`
	Failures    []FailureCount `json:"failures"` // the top 10, values masked
	Merges      int            `json:"merges"`
	MergesBy    map[string]int `json:"mergesBySource"`
	// Conflicts are changes refused because another system owns the
	// field, by the system that sent them.
	Conflicts   int            `json:"conflicts"`
	ConflictsBy map[string]int `json:"conflictsBySource"`
	Consent     []ConsentCount `json:"consent"`
	Sources     []SourceHealth `json:"sources"`
}

// SkillHealth is one skill's line in a HealthReport.
type SkillHealth struct {
	Skill     string `json:"skill"`
	Delivered int    `json:"delivered"`
	Retried   int    `json:"retried"`
	Dead      int    `json:"dead"`
	// SuccessRate is delivered / (delivered + dead): the share of finished
	// deliveries that arrived; -1 when none finished.
	SuccessRate   float64       `json:"successRate"`
	P95Latency    time.Duration `json:"-"`
	P95LatencyMS  int64         `json:"p95LatencyMs"`
	Pending       int           `json:"pending"`
	OldestPending time.Time     `json:"oldestPendingSince,omitzero"`
}

// ConsentCount is one source's consent changes in a HealthReport.
type ConsentCount struct {
	Source  string `json:"source"`
	OptIns  int    `json:"optIns"`
	OptOuts int    `json:"optOuts"`
}

// SourceHealth is one configured source's line in a HealthReport. Silent
// is set when it sent nothing for more than 24 hours before the report.
type SourceHealth struct {
	Source         string    `json:"source"`
	Events         int       `json:"events"`
	LastReceivedAt time.Time `json:"lastReceivedAt,omitzero"`
	Silent         bool      `json:"silent"`
}
