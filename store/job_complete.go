package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"synclayer"
)

// completeJobsArrays completes a batch on PostgreSQL in four statements
// whatever its size: the jobs, their sync states, their delivery rows and
// their trace entries, each passed as arrays and unnested. One at a time,
// a batch of n took 4n round trips while its committer held the batch's
// connection, and completions could end no faster than that (decision
// 0018). It reports false, having written nothing, when two completions
// save the same record's sync state, which one statement cannot upsert
// twice; the caller then completes them one by one, in order.
func (s *DB) completeJobsArrays(ctx context.Context, tx *sql.Tx, done []synclayer.Completion, now time.Time) (bool, error) {
	type stateKey struct{ record, destination string }
	seen := make(map[stateKey]bool, len(done))
	for _, d := range done {
		if d.State == nil {
			continue
		}
		k := stateKey{d.State.RecordKey, d.State.Destination}
		if seen[k] {
			return false, nil
		}
		seen[k] = true
	}

	ids := make([]int64, len(done))
	leases := make([]int64, len(done))
	for i, d := range done {
		ids[i], leases[i] = d.Job.ID, micros(d.Job.LeaseUntil)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'done', lease_until = 0, last_error = '', updated_at = $1
		FROM unnest($2::bigint[], $3::bigint[]) AS v(id, lease)
		WHERE jobs.id = v.id AND jobs.state = 'running' AND jobs.lease_until = v.lease`, micros(now), ids, leases); err != nil {
		return false, fmt.Errorf("complete jobs: %w", err)
	}

	var keys, dests, remotes, states []string
	for _, d := range done {
		if st := d.State; st != nil {
			keys, dests, remotes, states = append(keys, st.RecordKey), append(dests, st.Destination), append(remotes, st.RemoteID), append(states, string(st.State))
		}
	}
	if len(keys) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sync_state (record_key, destination, remote_id, state, updated_at)
			SELECT k, d, r, st, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(k, d, r, st)
			ON CONFLICT (record_key, destination) DO UPDATE SET remote_id = excluded.remote_id, state = excluded.state, updated_at = excluded.updated_at`,
			keys, dests, remotes, states, micros(now)); err != nil {
			return false, fmt.Errorf("save sync states: %w", err)
		}
	}

	if err := s.recordDeliveries(ctx, tx, done, now); err != nil {
		return false, err
	}

	var contacts, kinds, events, summaries, details []string
	var ats []int64
	for _, d := range done {
		if e := d.Trace; e != nil {
			contacts, kinds, events = append(contacts, e.ContactID), append(kinds, e.Kind), append(events, e.EventID)
			summaries, details, ats = append(summaries, e.Summary), append(details, string(e.Detail)), append(ats, micros(e.At))
		}
	}
	if len(contacts) > 0 {
		// WITH ORDINALITY and ORDER BY keep the ids in the batch's order.
		if _, err := tx.ExecContext(ctx, `INSERT INTO trace (contact_id, at, kind, event_id, summary, detail)
			SELECT c, a, k, e, s, d FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS v(c, a, k, e, s, d, i) ORDER BY i`,
			contacts, ats, kinds, events, summaries, details); err != nil {
			return false, fmt.Errorf("append trace: %w", err)
		}
	}
	return true, nil
}

// recordDeliveries is recordDelivery for a batch of delivered jobs, in one
// statement; it prunes old attempts when the batch took an id that
// recordDelivery would have pruned at.
func (s *DB) recordDeliveries(ctx context.Context, tx *sql.Tx, done []synclayer.Completion, now time.Time) error {
	n := len(done)
	jobIDs, lat, notify := make([]int64, n), make([]int64, n), make([]int32, n)
	skills, dests, keys := make([]string, n), make([]string, n), make([]string, n)
	for i, d := range done {
		j := d.Job
		jobIDs[i], skills[i], dests[i], keys[i] = j.ID, j.Queue, j.Destination, j.RecordKey
		lat[i] = max(now.Sub(j.FirstSeenAt), 0).Microseconds()
		notify[i] = int32(boolInt(s.marks(j.Queue)))
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO deliveries (job_id, skill, destination, record_key, outcome, at, latency_us, reason, notify)
		SELECT j, s, d, k, $5, $6, l, '', n FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $7::bigint[], $8::int[]) WITH ORDINALITY AS v(j, s, d, k, l, n, i) ORDER BY i
		RETURNING id`, jobIDs, skills, dests, keys, string(synclayer.DeliveryDelivered), micros(now), lat, notify)
	if err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	prune := false
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("record deliveries: %w", err)
		}
		prune = prune || id%pruneEvery == 0
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	if prune {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM deliveries WHERE at < ?"), micros(now.Add(-DeliveryRetention))); err != nil {
			return fmt.Errorf("prune deliveries: %w", err)
		}
	}
	return nil
}
