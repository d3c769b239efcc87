package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"synclayer"
)

// replayWhere selects the customer events f matches that are stored with
// their outcome. Listing the outcomes lets the (status, received_at)
// index serve the time range.
func replayWhere(f synclayer.ReplayFilter) (string, []any) {
	where := "status IN ('applied', 'unchanged', 'failed') AND type IN (?, ?, ?) AND received_at >= ? AND received_at < ?"
	args := []any{string(synclayer.EventCustomerCreated), string(synclayer.EventCustomerUpdated), string(synclayer.EventCustomerDeleted),
		micros(f.Since), micros(f.Until)}
	if len(f.Sources) > 0 {
		where += " AND source IN (?" + strings.Repeat(", ?", len(f.Sources)-1) + ")"
		for _, s := range f.Sources {
			args = append(args, s)
		}
	}
	return where, args
}

// CountReplay counts the customer events f selects, those of them
// refused at ingest (which touched no contact), and the distinct contacts
// the others touched.
func (s *DB) CountReplay(ctx context.Context, f synclayer.ReplayFilter) (events, failed, contacts int, err error) {
	where, args := replayWhere(f)
	err = s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0),
		COUNT(DISTINCT CASE WHEN contact_id <> '' THEN contact_id END) FROM events WHERE `+where), args...).Scan(&events, &failed, &contacts)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count events to replay: %w", err)
	}
	return events, failed, contacts, nil
}

// EnqueueReplay queues a job on queue, for destination, for every contact
// a customer event f selects touched, in one statement. A contact that
// already has a pending job keeps that one, as EnqueueJob does. It returns
// the jobs now pending for those contacts.
func (s *DB) EnqueueReplay(ctx context.Context, f synclayer.ReplayFilter, queue, destination string, now time.Time) (int, error) {
	where, args := replayWhere(f)
	at := micros(now)
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO jobs (skill, destination, record_key, state, run_at, first_seen_at, created_at, updated_at)
		SELECT CAST(? AS TEXT), CAST(? AS TEXT), k.contact_id, 'pending', CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
		FROM (SELECT DISTINCT contact_id FROM events WHERE contact_id <> '' AND `+where+`) k WHERE true
		ON CONFLICT (skill, record_key) WHERE state = 'pending' DO UPDATE SET updated_at = excluded.updated_at`),
		append([]any{queue, destination, at, at, at, at}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("enqueue replay: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// requeuePage is how many dead jobs RequeueDeadJobs reads at a time.
const requeuePage = 500

// RequeueDeadJobs puts every dead job of skill ("" for every skill) back
// to run now, as RequeueDeadJob does each, and returns how many it
// requeued. It pages through them by ID up to the newest dead when it
// started, so a job that fails again meanwhile is not retried twice and
// the loop ends however many there are.
func (s *DB) RequeueDeadJobs(ctx context.Context, skill string, now time.Time) (int, error) {
	where, args := "state = 'dead'", []any{}
	if skill != "" {
		where, args = where+" AND skill = ?", append(args, skill)
	}
	var last int64
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COALESCE(MAX(id), 0) FROM jobs WHERE "+where), args...).Scan(&last); err != nil {
		return 0, fmt.Errorf("requeue dead jobs: %w", err)
	}
	n := 0
	for cursor := int64(0); cursor < last; {
		ids, err := s.deadJobIDs(ctx, where, args, cursor, last)
		if err != nil {
			return n, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			switch err := s.RequeueDeadJob(ctx, id, now); {
			case err == nil:
				n++
			case synclayer.ErrorCode(err) != synclayer.ENOTFOUND: // a miss was retried or discarded meanwhile
				return n, err
			}
		}
		cursor = ids[len(ids)-1]
	}
	return n, nil
}

func (s *DB) deadJobIDs(ctx context.Context, where string, args []any, after, upTo int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id FROM jobs WHERE "+where+" AND id > ? AND id <= ? ORDER BY id LIMIT ?"),
		append(args, after, upTo, requeuePage)...)
	if err != nil {
		return nil, fmt.Errorf("requeue dead jobs: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
