package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
)

var _ synclayer.BatchStore = (*DB)(nil)

// SaveCheckpoint inserts or replaces a checkpoint.
func (s *DB) SaveCheckpoint(ctx context.Context, c *synclayer.Checkpoint) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO batch_checkpoints (name, position, detail, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position, detail = excluded.detail, updated_at = excluded.updated_at`),
		c.Name, c.Position, string(c.Detail), micros(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// FindCheckpoint returns a checkpoint, or ENOTFOUND.
func (s *DB) FindCheckpoint(ctx context.Context, name string) (*synclayer.Checkpoint, error) {
	c := &synclayer.Checkpoint{Name: name}
	var detail string
	var updated int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT position, detail, updated_at FROM batch_checkpoints WHERE name = ?"), name).Scan(&c.Position, &detail, &updated)
	if isNoRows(err) {
		return nil, notFound("checkpoint")
	}
	if err != nil {
		return nil, fmt.Errorf("find checkpoint: %w", err)
	}
	if detail != "" {
		c.Detail = []byte(detail)
	}
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}

// DeleteCheckpoint removes a checkpoint.
func (s *DB) DeleteCheckpoint(ctx context.Context, name string) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM batch_checkpoints WHERE name = ?"), name); err != nil {
		return fmt.Errorf("delete checkpoint: %w", err)
	}
	return nil
}

// itemsPerInsert keeps a multi-row insert's parameters well under
// SQLite's and PostgreSQL's limits.
const itemsPerInsert = 500

// AddImport records imp and its items and holds their jobs until
// holdUntil, in one transaction.
func (s *DB) AddImport(ctx context.Context, imp *synclayer.Import, items []synclayer.ImportItem, holdUntil time.Time) error {
	imp.Items = len(items)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO batch_imports (skill, queue, process_id, summary, items, created_at, check_at, checks)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id`),
			imp.Skill, imp.Queue, imp.ProcessID, imp.Summary, imp.Items, micros(imp.CreatedAt), micros(imp.CheckAt)).Scan(&imp.ID)
		if err != nil {
			return err
		}
		for start := 0; start < len(items); start += itemsPerInsert {
			chunk := items[start:min(start+itemsPerInsert, len(items))]
			var q strings.Builder
			q.WriteString("INSERT INTO batch_import_items (import_id, job_id, state_key, remote_id, state, trace_key) VALUES ")
			args := make([]any, 0, len(chunk)*6)
			ids := make([]any, 0, len(chunk))
			for i, it := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?)")
				args = append(args, imp.ID, it.JobID, it.StateKey, it.RemoteID, string(it.State), it.TraceKey)
				ids = append(ids, it.JobID)
			}
			// A record listed twice in one import keeps its first item.
			if _, err := tx.ExecContext(ctx, s.q(q.String()+" ON CONFLICT (import_id, job_id) DO NOTHING"), args...); err != nil {
				return err
			}
			hold := append([]any{micros(holdUntil), micros(imp.CreatedAt)}, ids...)
			if _, err := tx.ExecContext(ctx, s.q("UPDATE jobs SET lease_until = ?, updated_at = ? WHERE state = 'running' AND id IN ("+placeholders(len(ids))+")"), hold...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record import: %w", err)
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

const importColumns = "id, skill, queue, process_id, summary, items, created_at, check_at, checks"

// FindImports lists a skill's pending imports, oldest first.
func (s *DB) FindImports(ctx context.Context, skill string) ([]*synclayer.Import, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+importColumns+" FROM batch_imports WHERE skill = ? ORDER BY id"), skill)
	if err != nil {
		return nil, fmt.Errorf("find imports: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Import
	for rows.Next() {
		imp := &synclayer.Import{}
		var created, check int64
		if err := rows.Scan(&imp.ID, &imp.Skill, &imp.Queue, &imp.ProcessID, &imp.Summary, &imp.Items, &created, &check, &imp.Checks); err != nil {
			return nil, fmt.Errorf("find imports: %w", err)
		}
		imp.CreatedAt, imp.CheckAt = fromMicros(created), fromMicros(check)
		out = append(out, imp)
	}
	return out, rows.Err()
}

// DelayImport records one more check of an import and when to check again.
func (s *DB) DelayImport(ctx context.Context, id int64, checkAt time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q("UPDATE batch_imports SET check_at = ?, checks = checks + 1 WHERE id = ?"), micros(checkAt), id); err != nil {
		return fmt.Errorf("delay import: %w", err)
	}
	return nil
}

// takeImport deletes the import row and reports whether it was there, so
// two instances never both finish one import.
func (s *DB) takeImport(ctx context.Context, tx *sql.Tx, id int64) (imp synclayer.Import, err error) {
	var created int64
	err = tx.QueryRowContext(ctx, s.q("DELETE FROM batch_imports WHERE id = ? RETURNING skill, summary, created_at"), id).Scan(&imp.Skill, &imp.Summary, &created)
	if isNoRows(err) {
		return imp, synclayer.Errorf(synclayer.ENOTFOUND, "import %d is not pending", id)
	}
	imp.CreatedAt = fromMicros(created)
	return imp, err
}

// CompleteImport finishes every job of the import, as CompleteJob does one
// job, in one transaction: the jobs are done, their records' sync states
// written, one delivery row and one trace line each. Jobs whose hold was
// lost meanwhile (a recovered lease) are left to their new holder.
//
// A record whose sync state was written after the import was sent (a
// realtime delivery ran meanwhile, such as an opt-out) keeps that newer
// state, and gets a job on the skill's realtime queue marked as retried,
// so it is planned against what Brevo holds once the import has applied.
func (s *DB) CompleteImport(ctx context.Context, id int64, now time.Time) error {
	return s.completeImport(ctx, id, true, now)
}

// CompleteImportWithoutState finishes the import's jobs as CompleteImport
// does, but writes none of their sync states: Brevo reported rows it
// skipped without saying which, so what it holds for each record is
// unknown. The records keep their last recorded state and are planned
// (and sent) again at their next change or resync, instead of counting as
// delivered forever.
func (s *DB) CompleteImportWithoutState(ctx context.Context, id int64, now time.Time) error {
	return s.completeImport(ctx, id, false, now)
}

func (s *DB) completeImport(ctx context.Context, id int64, withState bool, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		imp, err := s.takeImport(ctx, tx, id)
		if err != nil {
			return err
		}
		held := `FROM batch_import_items i JOIN jobs j ON j.id = i.job_id WHERE i.import_id = ? AND j.state = 'running'`
		newer := ` AND EXISTS (SELECT 1 FROM sync_state n WHERE n.record_key = i.state_key AND n.destination = j.destination AND n.updated_at > CAST(? AS BIGINT))`
		steps := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO jobs (skill, destination, record_key, state, attempts, run_at, first_seen_at, created_at, updated_at)
				SELECT CAST(? AS TEXT), j.destination, j.record_key, 'pending', 1, CAST(? AS BIGINT), j.first_seen_at, CAST(? AS BIGINT), CAST(? AS BIGINT) ` + held + newer + `
				ON CONFLICT (skill, record_key) WHERE state = 'pending' DO UPDATE SET attempts = CASE WHEN jobs.attempts < 1 THEN 1 ELSE jobs.attempts END, updated_at = excluded.updated_at`,
				[]any{imp.Skill, micros(now), micros(now), micros(now), id, micros(imp.CreatedAt)}},
			{`INSERT INTO sync_state (record_key, destination, remote_id, state, updated_at)
				SELECT i.state_key, j.destination, i.remote_id, i.state, CAST(? AS BIGINT) ` + held + ` AND i.state_key <> '' AND NOT` + newer[len(" AND"):] + `
				ON CONFLICT (record_key, destination) DO UPDATE SET remote_id = excluded.remote_id, state = excluded.state, updated_at = excluded.updated_at`,
				[]any{micros(now), id, micros(imp.CreatedAt)}},
			{`INSERT INTO deliveries (job_id, skill, destination, record_key, outcome, at, latency_us, reason, notify)
				SELECT j.id, j.skill, j.destination, j.record_key, 'delivered', CAST(? AS BIGINT), CASE WHEN j.first_seen_at < CAST(? AS BIGINT) THEN CAST(? AS BIGINT) - j.first_seen_at ELSE 0 END, '', 0 ` + held,
				[]any{micros(now), micros(now), micros(now), id}},
			{`INSERT INTO trace (contact_id, at, kind, event_id, summary, detail)
				SELECT i.trace_key, CAST(? AS BIGINT), 'delivery', '', CAST(? AS TEXT), '' ` + held + ` AND i.trace_key <> ''`,
				[]any{micros(now), imp.Summary, id}},
			{`UPDATE jobs SET state = 'done', lease_until = 0, last_error = '', updated_at = ?
				WHERE state = 'running' AND id IN (SELECT job_id FROM batch_import_items WHERE import_id = ?)`,
				[]any{micros(now), id}},
			{"DELETE FROM batch_import_items WHERE import_id = ?", []any{id}},
		}
		if !withState {
			steps = slices.Delete(steps, 1, 2) // the sync states
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, s.q(st.q), st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return fmt.Errorf("complete import: %w", err)
	}
	return err
}

// DetachImport moves the items of jobIDs out of import id into a new
// import with the given summary, and returns its ID, in one transaction:
// the rows a destination refused within an import it otherwise applied,
// settled apart (FailImport) while the rest complete. ENOTFOUND when id is
// not pending.
func (s *DB) DetachImport(ctx context.Context, id int64, jobIDs []int64, summary string, now time.Time) (int64, error) {
	var newID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var imp synclayer.Import
		var created, checkAt int64
		err := tx.QueryRowContext(ctx, s.q("SELECT skill, queue, process_id, created_at, check_at FROM batch_imports WHERE id = ?"), id).
			Scan(&imp.Skill, &imp.Queue, &imp.ProcessID, &created, &checkAt)
		if isNoRows(err) {
			return synclayer.Errorf(synclayer.ENOTFOUND, "import %d is not pending", id)
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO batch_imports (skill, queue, process_id, summary, items, created_at, check_at, checks)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id`), imp.Skill, imp.Queue, "detached:"+imp.ProcessID, summary, len(jobIDs), created, micros(now)).Scan(&newID); err != nil {
			return err
		}
		for start := 0; start < len(jobIDs); start += itemsPerInsert {
			chunk := jobIDs[start:min(start+itemsPerInsert, len(jobIDs))]
			args := []any{newID, id}
			for _, j := range chunk {
				args = append(args, j)
			}
			if _, err := tx.ExecContext(ctx, s.q("UPDATE batch_import_items SET import_id = ? WHERE import_id = ? AND job_id IN ("+placeholders(len(chunk))+")"), args...); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE batch_imports SET items = (SELECT COUNT(*) FROM batch_import_items WHERE import_id = ?) WHERE id = ?"), id, id)
		return err
	})
	if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return 0, fmt.Errorf("detach import items: %w", err)
	}
	return newID, err
}

// ImportJobs returns the job IDs of import id, in ascending order.
func (s *DB) ImportJobs(ctx context.Context, id int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT job_id FROM batch_import_items WHERE import_id = ? ORDER BY job_id"), id)
	if err != nil {
		return nil, fmt.Errorf("import jobs: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var j int64
		if err := rows.Scan(&j); err != nil {
			return nil, fmt.Errorf("import jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// FailImport puts the import's jobs back in their queue, as RetryJob does
// one job: a job whose record got a newer pending job merges into it.
func (s *DB) FailImport(ctx context.Context, id int64, reason string, runAt, now time.Time) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.takeImport(ctx, tx, id); err != nil {
			return err
		}
		mine := "SELECT job_id FROM batch_import_items WHERE import_id = ?"
		steps := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO deliveries (job_id, skill, destination, record_key, outcome, at, latency_us, reason, notify)
				SELECT j.id, j.skill, j.destination, j.record_key, 'retried', CAST(? AS BIGINT), CASE WHEN j.first_seen_at < CAST(? AS BIGINT) THEN CAST(? AS BIGINT) - j.first_seen_at ELSE 0 END, CAST(? AS TEXT), 0
				FROM jobs j WHERE j.state = 'running' AND j.id IN (` + mine + `)`,
				[]any{micros(now), micros(now), micros(now), reason, id}},
			{`UPDATE jobs SET run_at = CASE WHEN run_at > ? THEN run_at ELSE ? END, last_error = ?, updated_at = ?
				WHERE state = 'pending' AND EXISTS (SELECT 1 FROM jobs r WHERE r.skill = jobs.skill AND r.record_key = jobs.record_key
					AND r.state = 'running' AND r.id IN (` + mine + `))`,
				[]any{micros(runAt), micros(runAt), reason, micros(now), id}},
			{`DELETE FROM jobs WHERE state = 'running' AND id IN (` + mine + `)
				AND EXISTS (SELECT 1 FROM jobs p WHERE p.skill = jobs.skill AND p.record_key = jobs.record_key AND p.state = 'pending')`,
				[]any{id}},
			{`UPDATE jobs SET state = 'pending', run_at = ?, lease_until = 0, last_error = ?, updated_at = ?
				WHERE state = 'running' AND id IN (` + mine + `)`,
				[]any{micros(runAt), reason, micros(now), id}},
			{"DELETE FROM batch_import_items WHERE import_id = ?", []any{id}},
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, s.q(st.q), st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return fmt.Errorf("fail import: %w", err)
	}
	return err
}

// DeadImport dead-letters the import's jobs with reason, as DeadJob does
// one job, in one transaction: a delivery row and a trace line each. It is
// for a batch call Brevo refused as a whole with a 4xx (a list that does
// not exist, a body it cannot read): retrying cannot fix that, and the
// jobs wait in the dead-letter queue for the fix and `synclayer dlq retry`.
func (s *DB) DeadImport(ctx context.Context, id int64, reason string, now time.Time) error {
	if len(reason) > 500 {
		reason = strings.ToValidUTF8(reason[:500], "")
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.takeImport(ctx, tx, id); err != nil {
			return err
		}
		held := `FROM batch_import_items i JOIN jobs j ON j.id = i.job_id WHERE i.import_id = ? AND j.state = 'running'`
		steps := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO deliveries (job_id, skill, destination, record_key, outcome, at, latency_us, reason, notify)
				SELECT j.id, j.skill, j.destination, j.record_key, 'dead', CAST(? AS BIGINT), CASE WHEN j.first_seen_at < CAST(? AS BIGINT) THEN CAST(? AS BIGINT) - j.first_seen_at ELSE 0 END, CAST(? AS TEXT), 0 ` + held,
				[]any{micros(now), micros(now), micros(now), reason, id}},
			{`INSERT INTO trace (contact_id, at, kind, event_id, summary, detail)
				SELECT i.trace_key, CAST(? AS BIGINT), 'delivery', '', CAST(? AS TEXT), '' ` + held + ` AND i.trace_key <> ''`,
				[]any{micros(now), "batch delivery dead-lettered: " + reason, id}},
			{`UPDATE jobs SET state = 'dead', lease_until = 0, last_error = ?, updated_at = ?
				WHERE state = 'running' AND id IN (SELECT job_id FROM batch_import_items WHERE import_id = ?)`,
				[]any{reason, micros(now), id}},
			{"DELETE FROM batch_import_items WHERE import_id = ?", []any{id}},
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, s.q(st.q), st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return fmt.Errorf("dead-letter import: %w", err)
	}
	return err
}

// EnqueueAll enqueues one job on queue per record of kind, in one
// statement, coalescing with the queue's pending jobs.
func (s *DB) EnqueueAll(ctx context.Context, kind, queue, destination string, now time.Time) (int, error) {
	var sources []string
	switch kind {
	case "contacts":
		sources = []string{"SELECT id AS rk FROM contacts"}
	case "orders":
		sources = []string{"SELECT id AS rk FROM orders"}
	case "products":
		sources = []string{"SELECT 'category:' || id AS rk FROM categories", "SELECT id AS rk FROM products"}
	default:
		return 0, synclayer.Errorf(synclayer.EINVALID, "unknown record kind %q: use contacts, orders or products", kind)
	}
	total := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, src := range sources {
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO jobs (skill, destination, record_key, state, run_at, first_seen_at, created_at, updated_at)
				SELECT CAST(? AS TEXT), CAST(? AS TEXT), k.rk, 'pending', CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM (`+src+`) k WHERE true
				ON CONFLICT (skill, record_key) WHERE state = 'pending' DO UPDATE SET updated_at = excluded.updated_at`),
				queue, destination, micros(now), micros(now), micros(now), micros(now))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", kind, err)
	}
	return total, nil
}

// CountPending counts a queue's pending and running jobs.
func (s *DB) CountPending(ctx context.Context, queue string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM jobs WHERE skill = ? AND state IN ('pending', 'running')"), queue).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}
