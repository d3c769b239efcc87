package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// DoneJobRetention is how long finished jobs stay listable (GET
// /api/v1/jobs?state=done); the trace keeps each delivery for good.
const DoneJobRetention = 7 * 24 * time.Hour

const jobColumns = "id, skill, destination, record_key, state, attempts, run_at, lease_until, last_error, first_seen_at, created_at, updated_at, traceparent"

func scanJob(row interface{ Scan(...any) error }) (*synclayer.Job, error) {
	var j synclayer.Job
	var state string
	var runAt, lease, first, created, updated int64
	var parents sql.NullString
	if err := row.Scan(&j.ID, &j.Queue, &j.Destination, &j.RecordKey, &state, &j.Attempts, &runAt, &lease, &j.LastError, &first, &created, &updated, &parents); err != nil {
		return nil, err
	}
	if f := strings.Fields(parents.String); len(f) > 0 {
		j.TraceParents = f[:min(len(f), synclayer.MaxJobTraceParents)]
	}
	j.State = synclayer.JobState(state)
	j.RunAt, j.LeaseUntil, j.FirstSeenAt = fromMicros(runAt), fromMicros(lease), fromMicros(first)
	j.CreatedAt, j.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &j, nil
}

func scanJobs(rows *sql.Rows, err error) ([]*synclayer.Job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*synclayer.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// EnqueueJob asks for a record to be brought up to date. A pending job for
// the same skill and record absorbs the request and keeps its schedule, so a
// burst of changes to one contact makes one delivery; it also keeps the
// request's traceparent (synclayer.TraceParent(ctx)) beside its own, up to
// synclayer.MaxJobTraceParents, so the delivery links to each trace.
func (t *Tx) EnqueueJob(ctx context.Context, skill, destination, recordKey string, now time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO jobs (skill, destination, record_key, state, run_at, first_seen_at, created_at, updated_at, traceparent)
		VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)
		ON CONFLICT (skill, record_key) WHERE state = 'pending' DO UPDATE SET updated_at = excluded.updated_at,
			traceparent = `+mergeTraceParents("jobs.traceparent", "excluded.traceparent"),
		skill, destination, recordKey, micros(now), micros(now), micros(now), micros(now), nullIfEmpty(synclayer.TraceParent(ctx)))
	if err != nil {
		return fmt.Errorf("enqueue job: %w", err)
	}
	return nil
}

// mergeTraceParents is the SQL for the space-separated traceparents of
// column with those of add appended, unless add is NULL or already there,
// or column holds synclayer.MaxJobTraceParents already (each is 55
// characters and a space). add is written four times: a bound parameter
// must be passed four times.
func mergeTraceParents(column, add string) string {
	full := strconv.Itoa(56*(synclayer.MaxJobTraceParents-1) + 55)
	return `CASE WHEN ` + add + ` IS NULL THEN ` + column + ` WHEN ` + column + ` IS NULL THEN ` + add + `
		WHEN length(` + column + `) >= ` + full + ` OR ` + column + ` LIKE ('%' || ` + add + ` || '%') THEN ` + column + `
		ELSE ` + column + ` || ' ' || ` + add + ` END`
}

// nullIfEmpty is s, or NULL for "".
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ClaimJobs first recovers jobs whose lease expired (their worker died),
// then leases up to n due jobs of skill, skipping records that another live
// lease holds, so two workers never send the same record at once.
func (s *DB) ClaimJobs(ctx context.Context, skill string, n int, lease time.Duration, now time.Time) ([]*synclayer.Job, error) {
	// Almost every claim has nothing to recover or prune; it is then one
	// statement, not a transaction of four round trips and a second commit.
	expired, err := s.anyExpired(ctx, skill, now)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// Done jobs stay listable for a while; at most once an hour a claim
	// drops those older than DoneJobRetention, so the table stays bounded
	// without a sweeper.
	prune := false
	if last := s.lastPrune.Load(); now.UnixMicro()-last > time.Hour.Microseconds() && s.lastPrune.CompareAndSwap(last, now.UnixMicro()) {
		prune = true
	}
	claim := func(q interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}) ([]*synclayer.Job, error) {
		return scanJobs(q.QueryContext(ctx, s.q(claimQuery+s.dialect.skipLocked()+`)
			RETURNING `+jobColumns), micros(now.Add(lease)), micros(now), skill, micros(now), n))
	}
	if !expired && !prune {
		jobs, err := claim(s.db)
		if err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		return jobs, nil
	}
	var jobs []*synclayer.Job
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if expired {
			if err := s.recoverExpired(ctx, tx, skill, now); err != nil {
				return err
			}
		}
		if prune {
			if _, err := s.execTx(ctx, tx, "DELETE FROM jobs WHERE state = 'done' AND updated_at < ?", micros(now.Add(-DoneJobRetention))); err != nil {
				return fmt.Errorf("prune done jobs: %w", err)
			}
		}
		var err error
		jobs, err = claim(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return jobs, nil
}

// claimQuery leases the oldest due pending jobs of a skill whose record has
// no running job; the dialect's SKIP LOCKED and the closing parenthesis
// follow. It reads jobs_pending_due in order and stops at the limit.
const claimQuery = `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ?
	WHERE id IN (
		SELECT id FROM jobs j WHERE j.skill = ? AND j.state = 'pending' AND j.run_at <= ?
		AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.skill = j.skill AND r.record_key = j.record_key AND r.state = 'running')
		ORDER BY j.run_at, j.id LIMIT ?`

// anyExpired reports whether a running job of skill has outlived its
// lease. The recovery statements, planned once for a table of any size,
// can read every pending job to find there is nothing to do (profiled on
// PostgreSQL under a backlog, the two took most of the server's CPU);
// this asks only the few running jobs.
func (s *DB) anyExpired(ctx context.Context, skill string, now time.Time) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE skill = ? AND state = 'running' AND lease_until < ? LIMIT 1) e"),
		skill, micros(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for expired leases: %w", err)
	}
	return n > 0, nil
}

func (s *DB) recoverExpired(ctx context.Context, tx *sql.Tx, skill string, now time.Time) error {
	// The expired job is kept, not a pending one for the same record: its
	// attempt count tells the next attempt that the last one may have
	// reached the destination unanswered. It keeps its place in the queue.
	if _, err := s.execTx(ctx, tx, `DELETE FROM jobs WHERE skill = ? AND state = 'pending'
		AND record_key IN (SELECT record_key FROM jobs WHERE skill = ? AND state = 'running' AND lease_until < ?)`, skill, skill, micros(now)); err != nil {
		return fmt.Errorf("recover expired jobs: %w", err)
	}
	if _, err := s.execTx(ctx, tx, `UPDATE jobs SET state = 'pending', lease_until = 0, last_error = 'lease expired: the worker stopped before finishing', updated_at = ?
		WHERE skill = ? AND state = 'running' AND lease_until < ?`, micros(now), skill, micros(now)); err != nil {
		return fmt.Errorf("recover expired jobs: %w", err)
	}
	return nil
}

// holds reports whether this claim still holds job: it is running under the
// lease it was claimed (or last renewed) with. A worker that stalled past
// its lease, while another recovered the job, must not overwrite its state.
func (s *DB) holds(ctx context.Context, tx *sql.Tx, job *synclayer.Job) (bool, error) {
	var n int
	err := s.queryRowTx(ctx, tx, "SELECT COUNT(*) FROM jobs WHERE id = ? AND state = 'running' AND lease_until = ?", job.ID, micros(job.LeaseUntil)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check lease: %w", err)
	}
	return n > 0, nil
}

// CompleteJob marks a claimed job done and records what the destination now
// holds and the delivery's trace entry, in one transaction.
func (s *DB) CompleteJob(ctx context.Context, job *synclayer.Job, st *synclayer.SyncState, trace *synclayer.TraceEntry, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.completeJob(ctx, tx, job, st, trace, now) })
}

// CompleteJobs completes several jobs in one transaction: on PostgreSQL
// each commit waits for its WAL flush, on SQLite for the one writer, so
// deliveries that end together share one. On PostgreSQL the batch also
// takes a fixed number of statements (completeJobsArrays).
func (s *DB) CompleteJobs(ctx context.Context, done []synclayer.Completion, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.driver == "postgres" && len(done) > 1 {
			if ok, err := s.completeJobsArrays(ctx, tx, done, now); ok || err != nil {
				return err
			}
		}
		for _, d := range done {
			if err := s.completeJob(ctx, tx, d.Job, d.State, d.Trace, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *DB) completeJob(ctx context.Context, tx *sql.Tx, job *synclayer.Job, st *synclayer.SyncState, trace *synclayer.TraceEntry, now time.Time) error {
	if _, err := s.execTx(ctx, tx, "UPDATE jobs SET state = 'done', lease_until = 0, last_error = '', updated_at = ? WHERE id = ? AND state = 'running' AND lease_until = ?",
		micros(now), job.ID, micros(job.LeaseUntil)); err != nil {
		return fmt.Errorf("complete job: %w", err)
	}

	if st != nil {
		if _, err := s.execTx(ctx, tx, `INSERT INTO sync_state (record_key, destination, remote_id, state, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (record_key, destination) DO UPDATE SET remote_id = excluded.remote_id, state = excluded.state, updated_at = excluded.updated_at`,
			st.RecordKey, st.Destination, st.RemoteID, string(st.State), micros(now)); err != nil {
			return fmt.Errorf("save sync state: %w", err)
		}
	}
	if err := recordDelivery(ctx, s, tx, job, synclayer.DeliveryDelivered, "", now); err != nil {
		return err
	}
	return appendTrace(ctx, s, tx, trace)
}

// RetryJob reschedules a claimed job. When a newer change was enqueued for
// the same record meanwhile, the two merge into the pending job, which keeps
// the later schedule so an outage does not turn into a retry storm.
func (s *DB) RetryJob(ctx context.Context, job *synclayer.Job, runAt time.Time, reason string, trace *synclayer.TraceEntry, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if held, err := s.holds(ctx, tx, job); err != nil || !held {
			return err // the job's new holder decides its fate
		}
		parents := nullIfEmpty(strings.Join(job.TraceParents, " "))
		res, err := s.execTx(ctx, tx, `UPDATE jobs SET run_at = CASE WHEN run_at > ? THEN run_at ELSE ? END, attempts = ?, last_error = ?,
				first_seen_at = CASE WHEN first_seen_at < ? THEN first_seen_at ELSE ? END, updated_at = ?,
				traceparent = `+mergeTraceParents("traceparent", "CAST(? AS TEXT)")+`
			WHERE skill = ? AND record_key = ? AND state = 'pending'`,
			micros(runAt), micros(runAt), job.Attempts, reason, micros(job.FirstSeenAt), micros(job.FirstSeenAt), micros(now),
			parents, parents, parents, parents, job.Queue, job.RecordKey)
		if err != nil {
			return fmt.Errorf("retry job: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			_, err = s.execTx(ctx, tx, "DELETE FROM jobs WHERE id = ?", job.ID)
		} else {
			_, err = s.execTx(ctx, tx, "UPDATE jobs SET state = 'pending', run_at = ?, lease_until = 0, last_error = ?, updated_at = ? WHERE id = ?",
				micros(runAt), reason, micros(now), job.ID)
		}
		if err != nil {
			return fmt.Errorf("retry job: %w", err)
		}
		if err := recordDelivery(ctx, s, tx, job, synclayer.DeliveryRetried, reason, now); err != nil {
			return err
		}
		return appendTrace(ctx, s, tx, trace)
	})
}

// DeadJob moves a claimed job to the dead-letter state with its reason.
func (s *DB) DeadJob(ctx context.Context, job *synclayer.Job, reason string, trace *synclayer.TraceEntry, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if held, err := s.holds(ctx, tx, job); err != nil || !held {
			return err // the job's new holder decides its fate
		}
		if _, err := s.execTx(ctx, tx, "UPDATE jobs SET state = 'dead', lease_until = 0, last_error = ?, updated_at = ? WHERE id = ?", reason, micros(now), job.ID); err != nil {
			return fmt.Errorf("dead-letter job: %w", err)
		}
		if err := recordDelivery(ctx, s, tx, job, synclayer.DeliveryDead, reason, now); err != nil {
			return err
		}
		return appendTrace(ctx, s, tx, trace)
	})
}

// RequeueDeadJob puts a dead job back in the queue to run now, with a fresh
// retry budget. A pending job for the same record already covers it, so then
// the dead one is simply removed.
func (s *DB) RequeueDeadJob(ctx context.Context, id int64, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		j, err := scanJob(s.queryRowTx(ctx, tx, "SELECT "+jobColumns+" FROM jobs WHERE id = ? AND state = 'dead'", id))
		if isNoRows(err) {
			return synclayer.Errorf(synclayer.ENOTFOUND, "dead-letter job %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("requeue job: %w", err)
		}
		var pending int
		if err := s.queryRowTx(ctx, tx, "SELECT COUNT(*) FROM jobs WHERE skill = ? AND record_key = ? AND state = 'pending'", j.Queue, j.RecordKey).Scan(&pending); err != nil {
			return fmt.Errorf("requeue job: %w", err)
		}
		if pending > 0 {
			_, err = s.execTx(ctx, tx, "DELETE FROM jobs WHERE id = ?", id)
		} else {
			_, err = s.execTx(ctx, tx, "UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?, updated_at = ? WHERE id = ?", micros(now), micros(now), id)
		}
		if err != nil {
			return fmt.Errorf("requeue job: %w", err)
		}
		return nil
	})
}

// DeleteDeadJob discards a dead job.
func (s *DB) DeleteDeadJob(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM jobs WHERE id = ? AND state = 'dead'"), id)
	if err != nil {
		return fmt.Errorf("delete job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return synclayer.Errorf(synclayer.ENOTFOUND, "dead-letter job %d not found", id)
	}
	return nil
}

// FindJobs lists jobs, most recently updated first.
func (s *DB) FindJobs(ctx context.Context, f synclayer.JobFilter) ([]*synclayer.Job, error) {
	where, args := "1 = 1", []any{}
	if f.State != "" {
		where, args = where+" AND state = ?", append(args, string(f.State))
	}
	if f.Queue != "" {
		where, args = where+" AND skill = ?", append(args, f.Queue)
	}
	if f.Skill != "" {
		// The column holds the queue; a skill's queues are its bare name
		// and the names that go on with @ or :.
		where = where + " AND (skill = ? OR substr(skill, 1, ?) = ? OR substr(skill, 1, ?) = ?)"
		args = append(args, f.Skill, len(f.Skill)+1, f.Skill+"@", len(f.Skill)+1, f.Skill+":")
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return scanJobs(s.db.QueryContext(ctx, s.q("SELECT "+jobColumns+" FROM jobs WHERE "+where+" ORDER BY updated_at DESC, id DESC LIMIT ?"), append(args, limit)...))
}

// CountJobs returns how many jobs are in each state.
func (s *DB) CountJobs(ctx context.Context) (map[synclayer.JobState]int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT state, COUNT(*) FROM jobs GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[synclayer.JobState]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[synclayer.JobState(state)] = n
	}
	return out, rows.Err()
}

// CountJobsBySkill returns how many jobs each skill has in each state.
func (s *DB) CountJobsBySkill(ctx context.Context) (map[string]map[synclayer.JobState]int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT skill, state, COUNT(*) FROM jobs GROUP BY skill, state")
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]map[synclayer.JobState]int{}
	for rows.Next() {
		var skill, state string
		var n int
		if err := rows.Scan(&skill, &state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		if out[skill] == nil {
			out[skill] = map[synclayer.JobState]int{}
		}
		out[skill][synclayer.JobState(state)] = n
	}
	return out, rows.Err()
}

// OldestPendingJobs returns, for each skill's queue with a pending job, the
// oldest first_seen_at among its pending jobs: when the longest-waiting
// change was received. A retried job keeps the first_seen_at of its first
// change, so an outage shows as an age that grows. It reads only pending
// jobs, through jobs_pending_due.
func (s *DB) OldestPendingJobs(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT skill, MIN(first_seen_at) FROM jobs WHERE state = 'pending' GROUP BY skill")
	if err != nil {
		return nil, fmt.Errorf("oldest pending jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var skill string
		var first int64
		if err := rows.Scan(&skill, &first); err != nil {
			return nil, fmt.Errorf("oldest pending jobs: %w", err)
		}
		out[skill] = fromMicros(first)
	}
	return out, rows.Err()
}

// FindSyncState returns what a destination holds for a record, or ENOTFOUND
// when nothing was delivered yet.
func (s *DB) FindSyncState(ctx context.Context, recordKey, destination string) (*synclayer.SyncState, error) {
	var st synclayer.SyncState
	var state string
	var updated int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT record_key, destination, remote_id, state, updated_at FROM sync_state WHERE record_key = ? AND destination = ?"), recordKey, destination).
		Scan(&st.RecordKey, &st.Destination, &st.RemoteID, &state, &updated)
	if isNoRows(err) {
		return nil, notFound("sync state")
	}
	if err != nil {
		return nil, fmt.Errorf("find sync state: %w", err)
	}
	st.State, st.UpdatedAt = json.RawMessage(state), fromMicros(updated)
	return &st, nil
}
