package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
)

var _ synclayer.StatsStore = (*DB)(nil)

// DeliveryRetention is how long delivery attempts are kept: the longest
// stats window, and a day to spare.
const DeliveryRetention = 8 * 24 * time.Hour

// pruneEvery makes one insert in this many also delete the attempts older
// than DeliveryRetention, so the table stays bounded without a sweeper.
const pruneEvery = 1024

// recordDelivery writes one delivery attempt inside the transaction that
// completes, retries or dead-letters its job.
func recordDelivery(ctx context.Context, s *DB, tx *sql.Tx, job *synclayer.Job, outcome synclayer.DeliveryOutcome, reason string, now time.Time) error {
	if len(reason) > 500 {
		reason = strings.ToValidUTF8(reason[:500], string(utf8.RuneError))
	}
	latency := max(now.Sub(job.FirstSeenAt), 0)
	var id int64
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO deliveries (job_id, skill, destination, record_key, outcome, at, latency_us, reason, notify)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		job.ID, job.Queue, job.Destination, job.RecordKey, string(outcome), micros(now), latency.Microseconds(), reason, boolInt(s.marks(job.Queue))).Scan(&id)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	if id%pruneEvery == 0 {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM deliveries WHERE at < ?"), micros(now.Add(-DeliveryRetention))); err != nil {
			return fmt.Errorf("prune deliveries: %w", err)
		}
	}
	return nil
}

// SkillStats sums up the delivery attempts since since, per skill, with
// each skill's queue as it stands. Counts and the average latency are
// exact; the p95 latency is taken from at most the newest
// synclayer.StatsLatencySample delivered attempts of each skill.
func (s *DB) SkillStats(ctx context.Context, since time.Time, include ...string) ([]*synclayer.SkillStats, error) {
	bySkill := map[string]*synclayer.SkillStats{}
	get := func(skill string) *synclayer.SkillStats {
		st := bySkill[skill]
		if st == nil {
			st = &synclayer.SkillStats{Skill: skill, Queue: map[synclayer.JobState]int{
				synclayer.JobPending: 0, synclayer.JobRunning: 0, synclayer.JobDead: 0}}
			bySkill[skill] = st
		}
		return st
	}
	for _, sk := range include {
		get(sk)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT skill, outcome, COUNT(*), COALESCE(SUM(latency_us), 0) FROM deliveries
		WHERE at >= ? GROUP BY skill, outcome`), micros(since))
	if err != nil {
		return nil, fmt.Errorf("delivery stats: %w", err)
	}
	sums := map[string]int64{}
	for rows.Next() {
		var skill, outcome string
		var n int
		var sum int64
		if err := rows.Scan(&skill, &outcome, &n, &sum); err != nil {
			rows.Close()
			return nil, fmt.Errorf("delivery stats: %w", err)
		}
		st := get(skill)
		switch synclayer.DeliveryOutcome(outcome) {
		case synclayer.DeliveryDelivered:
			st.Delivered, sums[skill] = n, sum
		case synclayer.DeliveryRetried:
			st.Retried = n
		case synclayer.DeliveryDead:
			st.Dead = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery stats: %w", err)
	}
	counts, err := s.CountJobsBySkill(ctx)
	if err != nil {
		return nil, err
	}
	for skill, byState := range counts {
		st := get(skill)
		for _, state := range []synclayer.JobState{synclayer.JobPending, synclayer.JobRunning, synclayer.JobDead} {
			st.Queue[state] = byState[state]
		}
	}
	out := make([]*synclayer.SkillStats, 0, len(bySkill))
	for _, st := range bySkill {
		if st.Delivered > 0 {
			st.AvgLatency = time.Duration(sums[st.Skill]/int64(st.Delivered)) * time.Microsecond
			if st.P95Latency, err = s.p95Latency(ctx, st.Skill, since, time.Time{}, synclayer.StatsLatencySample); err != nil {
				return nil, err
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *synclayer.SkillStats) int { return strings.Compare(a.Skill, b.Skill) })
	return out, nil
}

// p95Latency is the nearest-rank 95th percentile of the newest sample
// delivered latencies of skill in [since, until); a zero until is now.
func (s *DB) p95Latency(ctx context.Context, skill string, since, until time.Time, sample int) (time.Duration, error) {
	end := int64(math.MaxInt64)
	if !until.IsZero() {
		end = micros(until)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT latency_us FROM deliveries WHERE skill = ? AND outcome = 'delivered' AND at >= ? AND at < ?
		ORDER BY at DESC LIMIT ?`), skill, micros(since), end, sample)
	if err != nil {
		return 0, fmt.Errorf("delivery latency: %w", err)
	}
	defer rows.Close()
	var lat []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("delivery latency: %w", err)
		}
		lat = append(lat, v)
	}
	if err := rows.Err(); err != nil || len(lat) == 0 {
		return 0, err
	}
	slices.Sort(lat)
	rank := int(math.Ceil(0.95*float64(len(lat)))) - 1
	return time.Duration(lat[rank]) * time.Microsecond, nil
}

// FindDeliveries lists delivery attempts, newest first.
func (s *DB) FindDeliveries(ctx context.Context, f synclayer.DeliveryFilter) ([]*synclayer.Delivery, error) {
	where, args := "at >= ?", []any{micros(f.Since)}
	if f.Failed {
		where += " AND outcome <> 'delivered'"
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, job_id, skill, destination, record_key, outcome, at, latency_us, reason
		FROM deliveries WHERE `+where+` ORDER BY at DESC, id DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Delivery
	for rows.Next() {
		var d synclayer.Delivery
		var outcome string
		var at, latency int64
		if err := rows.Scan(&d.ID, &d.JobID, &d.Skill, &d.Destination, &d.RecordKey, &outcome, &at, &latency, &d.Reason); err != nil {
			return nil, fmt.Errorf("find deliveries: %w", err)
		}
		d.Outcome, d.At, d.Latency = synclayer.DeliveryOutcome(outcome), fromMicros(at), time.Duration(latency)*time.Microsecond
		out = append(out, &d)
	}
	return out, rows.Err()
}

// SkillSeries counts skill's attempts in intervals of step, in SQL (the
// last one may be cut short at until), and
// takes each interval's p95 latency from at most its newest
// synclayer.StatsLatencySample / intervals delivered attempts, so a week
// of 28 intervals costs at most 29 bounded reads of deliveries_skill.
func (s *DB) SkillSeries(ctx context.Context, skill string, since, until time.Time, step time.Duration) ([]synclayer.StatsPoint, error) {
	if step <= 0 {
		return nil, synclayer.FieldErrorf("step", "must be positive, not %s", step)
	}
	n := max(int(math.Ceil(float64(until.Sub(since))/float64(step))), 1)
	if n > 1000 {
		return nil, synclayer.FieldErrorf("step", "%s makes %d intervals; at most 1000", step, n)
	}
	out := make([]synclayer.StatsPoint, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * step)
	}
	from, width := micros(since), step.Microseconds()
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT (at - ?) / ?, outcome, COUNT(*) FROM deliveries
		WHERE skill = ? AND at >= ? AND at < ? GROUP BY 1, 2`),
		from, width, skill, from, micros(until))
	if err != nil {
		return nil, fmt.Errorf("delivery series: %w", err)
	}
	for rows.Next() {
		var i int64
		var outcome string
		var count int
		if err := rows.Scan(&i, &outcome, &count); err != nil {
			rows.Close()
			return nil, fmt.Errorf("delivery series: %w", err)
		}
		p := &out[i]
		switch synclayer.DeliveryOutcome(outcome) {
		case synclayer.DeliveryDelivered:
			p.Delivered = count
		case synclayer.DeliveryRetried:
			p.Retried = count
		case synclayer.DeliveryDead:
			p.Dead = count
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery series: %w", err)
	}
	sample := max(synclayer.StatsLatencySample/n, 100)
	for i := range out {
		if out[i].Delivered == 0 {
			continue
		}
		stop := out[i].Start.Add(step)
		if stop.After(until) {
			stop = until
		}
		if out[i].P95Latency, err = s.p95Latency(ctx, skill, out[i].Start, stop, sample); err != nil {
			return nil, err
		}
	}
	return out, nil
}
