package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"synclayer"
)

var _ synclayer.ReportStore = (*DB)(nil)

const day = 24 * time.Hour

func dayOf(t time.Time) time.Time { return t.UTC().Truncate(day) }

// tallyShards spreads each day's count of one kind and source over this
// many rows (detail holds the shard), which HealthFigures adds up. A burst
// of new customers who opted in makes every ingest transaction count an
// opt-in: on one row, PostgreSQL ran them one at a time, each waiting on
// the row lock of the one before (the bench fell from 680 to 400
// webhooks/s). Spread over 64, sampled pg_stat_activity still showed 13%
// of active backends waiting on one (16 transactions in flight meet on
// some row of 64 most of the time); over 1024 they seldom meet, and a day
// still sums at most 1024 rows per kind and source.
const tallyShards = 1024

// AddTally adds one to kind's count for source on at's day.
func (t *Tx) AddTally(ctx context.Context, kind synclayer.Tally, source string, at time.Time) error {
	shard := fmt.Sprintf("shard %02d", rand.IntN(tallyShards))
	_, err := t.exec(ctx, `INSERT INTO report_days (day, kind, name, detail, n) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (day, kind, name, detail) DO UPDATE SET n = report_days.n + 1`, micros(dayOf(at)), string(kind), source, shard)
	if err != nil {
		return fmt.Errorf("add tally: %w", err)
	}
	return nil
}

// RollUpDeliveries rolls up every closed day whose attempts are all still
// kept and that is not rolled up yet: per skill its delivered, retried and
// dead counts, its p95 latency and its dead-letter reasons. A marker row
// inserted first makes each day rolled up once, even by two instances.
func (s *DB) RollUpDeliveries(ctx context.Context, now time.Time) error {
	today := dayOf(now)
	if s.rolledUp.Load() == micros(today) {
		return nil
	}
	for d := dayOf(now.Add(-DeliveryRetention)).Add(day); d.Before(today); d = d.Add(day) {
		if err := s.tx(ctx, func(tx *sql.Tx) error { return s.rollUpDay(ctx, tx, d) }); err != nil {
			return fmt.Errorf("roll up %s: %w", d.Format(time.DateOnly), err)
		}
	}
	s.rolledUp.Store(micros(today))
	return nil
}

func (s *DB) rollUpDay(ctx context.Context, tx *sql.Tx, d time.Time) error {
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO report_days (day, kind, name, detail, n) VALUES (?, 'rolled', '', '', 0)
		ON CONFLICT (day, kind, name, detail) DO NOTHING`), micros(d))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	f, err := deliveryFigures(ctx, s, tx, d, d.Add(day))
	if err != nil {
		return err
	}
	put := func(kind, name, detail string, n int64) error {
		if n == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO report_days (day, kind, name, detail, n) VALUES (?, ?, ?, ?, ?)"), micros(d), kind, name, detail, n)
		return err
	}
	for sk, st := range f.skills {
		for _, row := range []struct {
			kind string
			n    int64
		}{{"delivered", int64(st.Delivered)}, {"retried", int64(st.Retried)}, {"dead", int64(st.Dead)}, {"p95_us", st.P95Latency.Microseconds()}} {
			if err := put(row.kind, sk, "", row.n); err != nil {
				return err
			}
		}
	}
	for _, fc := range f.dead {
		if err := put("dead_reason", fc.Name, fc.Reason, int64(fc.Count)); err != nil {
			return err
		}
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type dayFigures struct {
	skills map[string]*synclayer.SkillFigures
	dead   []synclayer.FailureCount
}

// deliveryFigures counts the attempts of [from, to) from the deliveries table.
func deliveryFigures(ctx context.Context, s *DB, q queryer, from, to time.Time) (*dayFigures, error) {
	f := &dayFigures{skills: map[string]*synclayer.SkillFigures{}}
	get := func(sk string) *synclayer.SkillFigures {
		if f.skills[sk] == nil {
			f.skills[sk] = &synclayer.SkillFigures{}
		}
		return f.skills[sk]
	}
	rows, err := q.QueryContext(ctx, s.q("SELECT skill, outcome, COUNT(*) FROM deliveries WHERE at >= ? AND at < ? GROUP BY skill, outcome"), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	for rows.Next() {
		var sk, outcome string
		var n int
		if err := rows.Scan(&sk, &outcome, &n); err != nil {
			rows.Close()
			return nil, err
		}
		st := get(sk)
		switch synclayer.DeliveryOutcome(outcome) {
		case synclayer.DeliveryDelivered:
			st.Delivered = n
		case synclayer.DeliveryRetried:
			st.Retried = n
		case synclayer.DeliveryDead:
			st.Dead = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for sk, st := range f.skills {
		if st.Delivered == 0 {
			continue
		}
		lat, err := scanInts(q.QueryContext(ctx, s.q(`SELECT latency_us FROM deliveries WHERE skill = ? AND outcome = 'delivered' AND at >= ? AND at < ?
			ORDER BY at DESC LIMIT ?`), sk, micros(from), micros(to), synclayer.StatsLatencySample))
		if err != nil {
			return nil, fmt.Errorf("delivery latency: %w", err)
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			st.P95Latency = time.Duration(lat[int(math.Ceil(0.95*float64(len(lat))))-1]) * time.Microsecond
		}
	}
	rows, err = q.QueryContext(ctx, s.q("SELECT skill, reason, COUNT(*) FROM deliveries WHERE outcome = 'dead' AND at >= ? AND at < ? GROUP BY skill, reason"), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		fc := synclayer.FailureCount{Stage: "delivery"}
		if err := rows.Scan(&fc.Name, &fc.Reason, &fc.Count); err != nil {
			return nil, err
		}
		f.dead = append(f.dead, fc)
	}
	return f, rows.Err()
}

func scanInts(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// HealthFigures rolls up the closed days not yet rolled up, then adds up
// [from, to): rolled-up days from report_days, the others (today) from the
// deliveries table; ingest failures and traffic from events; tallies; and
// the queue at now.
func (s *DB) HealthFigures(ctx context.Context, from, to, now time.Time, sources []string) (*synclayer.HealthFigures, error) {
	if err := s.RollUpDeliveries(ctx, now); err != nil {
		return nil, err
	}
	out := &synclayer.HealthFigures{From: from, To: to, Skills: map[string]*synclayer.SkillFigures{}, Tallies: map[synclayer.Tally]map[string]int{}}
	get := func(sk string) *synclayer.SkillFigures {
		if out.Skills[sk] == nil {
			out.Skills[sk] = &synclayer.SkillFigures{}
		}
		return out.Skills[sk]
	}
	dead := map[[2]string]int{}
	rolled := map[int64]bool{}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT day, kind, name, detail, n FROM report_days WHERE day >= ? AND day < ?"), micros(dayOf(from)), micros(to))
	if err != nil {
		return nil, fmt.Errorf("health figures: %w", err)
	}
	for rows.Next() {
		var d, n int64
		var kind, name, detail string
		if err := rows.Scan(&d, &kind, &name, &detail, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("health figures: %w", err)
		}
		switch kind {
		case "rolled":
			rolled[d] = true
		case "delivered":
			get(name).Delivered += int(n)
		case "retried":
			get(name).Retried += int(n)
		case "dead":
			get(name).Dead += int(n)
		case "p95_us":
			st := get(name)
			st.P95Latency = max(st.P95Latency, time.Duration(n)*time.Microsecond)
		case "dead_reason":
			dead[[2]string{name, detail}] += int(n)
		default:
			if out.Tallies[synclayer.Tally(kind)] == nil {
				out.Tallies[synclayer.Tally(kind)] = map[string]int{}
			}
			out.Tallies[synclayer.Tally(kind)][name] += int(n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("health figures: %w", err)
	}
	kept := now.Add(-DeliveryRetention)
	for d := dayOf(from); d.Before(to); d = d.Add(day) {
		if rolled[micros(d)] {
			continue
		}
		lo, hi := maxTime(d, from), minTime(d.Add(day), to)
		if lo.Before(kept) { // attempts before kept are pruned: the figures start later
			out.CoveredFrom = maxTime(out.CoveredFrom, minTime(kept, hi))
			lo = kept
		}
		if !lo.Before(hi) {
			continue
		}
		f, err := deliveryFigures(ctx, s, s.db, lo, hi)
		if err != nil {
			return nil, err
		}
		for sk, st := range f.skills {
			o := get(sk)
			o.Delivered, o.Retried, o.Dead = o.Delivered+st.Delivered, o.Retried+st.Retried, o.Dead+st.Dead
			o.P95Latency = max(o.P95Latency, st.P95Latency)
		}
		for _, fc := range f.dead {
			dead[[2]string{fc.Name, fc.Reason}] += fc.Count
		}
	}
	for k, n := range dead {
		out.Failures = append(out.Failures, synclayer.FailureCount{Stage: "delivery", Name: k[0], Reason: k[1], Count: n})
	}
	rows, err = s.db.QueryContext(ctx, s.q("SELECT source, reason, COUNT(*) FROM events WHERE status = 'failed' AND received_at >= ? AND received_at < ? GROUP BY source, reason"), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("count failed events: %w", err)
	}
	for rows.Next() {
		fc := synclayer.FailureCount{Stage: "ingest"}
		if err := rows.Scan(&fc.Name, &fc.Reason, &fc.Count); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count failed events: %w", err)
		}
		out.Failures = append(out.Failures, fc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count failed events: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, "SELECT skill, COUNT(*), MIN(first_seen_at) FROM jobs WHERE state = 'pending' GROUP BY skill")
	if err != nil {
		return nil, fmt.Errorf("pending jobs: %w", err)
	}
	for rows.Next() {
		var sk string
		var n int
		var oldest int64
		if err := rows.Scan(&sk, &n, &oldest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pending jobs: %w", err)
		}
		st := get(sk)
		st.Pending, st.OldestPending = n, fromMicros(oldest)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending jobs: %w", err)
	}
	for _, src := range sources {
		sf := synclayer.SourceFigures{Source: src}
		var last int64
		if err := s.db.QueryRowContext(ctx, s.q("SELECT COALESCE(MAX(received_at), 0) FROM events WHERE source = ?"), src).Scan(&last); err != nil {
			return nil, fmt.Errorf("source traffic: %w", err)
		}
		if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM events WHERE source = ? AND received_at >= ? AND received_at < ?"), src, micros(from), micros(to)).Scan(&sf.Events); err != nil {
			return nil, fmt.Errorf("source traffic: %w", err)
		}
		sf.LastReceivedAt = fromMicros(last)
		out.Sources = append(out.Sources, sf)
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
