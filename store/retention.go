package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
)

// PruneHistory deletes the events received and the trace entries written
// before before, batch rows per transaction, so SQLite's single writer is
// never held for long and ingest goes on between batches. It returns how
// many of each it deleted; on an error, those deleted until then.
//
// An event goes only once its work is done: its status is final
// (applied, unchanged or failed: an event is stored without one only
// inside its ingest transaction) and, failed, the notifier has read it
// (notify = 0). Each source's newest event (one, however many share its
// received_at) stays whatever its age, since source silence
// (SourceActivity, LastEventsReceived) reads it. Events
// are taken oldest first from events_received (received_at, id), batch
// at a time, and the final ones among them deleted.
//
// Trace entries are taken by their integer primary key, the oldest batch
// ids at a time, and those of a batch written before before are deleted;
// a batch that deletes fewer than batch is the last. Nothing else is
// pruned: contacts, their fields and consent (with its times and
// sources), sync state and orders are kept. A trace entry names its event
// by ID only (event_id; nothing joins on it), so an entry whose event was
// pruned still reads the same. A pruned event's dedupe key goes with it:
// a redelivery after the cutoff is ingested again.
func (s *DB) PruneHistory(ctx context.Context, before time.Time, batch int) (events, trace int, err error) {
	if batch <= 0 {
		batch = 1000
	}
	cut := micros(before)
	del := func(query string, args ...any) (int, error) {
		var n int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.q(query), args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		return int(n), err
	}
	keep, err := s.newestEvents(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("prune events: %w", err)
	}
	notNewest := ""
	var keepArgs []any
	if len(keep) > 0 {
		notNewest = " AND id NOT IN (?" + strings.Repeat(", ?", len(keep)-1) + ")"
		for _, id := range keep {
			keepArgs = append(keepArgs, id)
		}
	}
	// The events of each batch are the oldest batch of those received
	// before the cutoff, after the previous batch's last (received_at, id):
	// an event that must stay is passed over, not taken again.
	loAt, loID := int64(math.MinInt64), ""
	for {
		var taken, n int
		err := s.tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, s.q(`SELECT received_at, id FROM events
				WHERE received_at < ? AND (received_at, id) > (?, ?) ORDER BY received_at, id LIMIT ?`), cut, loAt, loID, batch)
			if err != nil {
				return err
			}
			hiAt, hiID := loAt, loID
			for rows.Next() {
				if err := rows.Scan(&hiAt, &hiID); err != nil {
					rows.Close()
					return err
				}
				taken++
			}
			rows.Close()
			if err := rows.Err(); err != nil || taken == 0 {
				return err
			}
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM events
				WHERE (received_at, id) > (?, ?) AND (received_at, id) <= (?, ?)
				  AND status IN ('applied', 'unchanged', 'failed') AND notify = 0`+notNewest),
				append([]any{loAt, loID, hiAt, hiID}, keepArgs...)...)
			if err != nil {
				return err
			}
			d, err := res.RowsAffected()
			n = int(d)
			loAt, loID = hiAt, hiID
			return err
		})
		if err != nil {
			return events, trace, fmt.Errorf("prune events: %w", err)
		}
		events += n
		if taken < batch {
			break
		}
		if err := ctx.Err(); err != nil {
			return events, trace, err
		}
	}
	for {
		n, err := del(`DELETE FROM trace WHERE id IN (SELECT id FROM trace ORDER BY id LIMIT ?) AND at < ?`, batch, cut)
		trace += n
		if err != nil {
			return events, trace, fmt.Errorf("prune trace: %w", err)
		}
		if n < batch {
			break
		}
		if err := ctx.Err(); err != nil {
			return events, trace, err
		}
	}
	return events, trace, nil
}

// newestEvents returns each source's newest event (by received_at, then
// id: a backfill's events share one received_at), which PruneHistory
// keeps. The sources are read by a skip scan of events_source_received,
// one seek per source.
func (s *DB) newestEvents(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `WITH RECURSIVE src(source) AS (
		SELECT MIN(source) FROM events
		UNION ALL
		SELECT (SELECT MIN(source) FROM events WHERE source > src.source) FROM src WHERE src.source IS NOT NULL)
		SELECT source FROM src WHERE source IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	var sources []string
	for rows.Next() {
		var src string
		if err := rows.Scan(&src); err != nil {
			rows.Close()
			return nil, err
		}
		sources = append(sources, src)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []string
	for _, src := range sources {
		var id string
		if err := s.db.QueryRowContext(ctx, s.q("SELECT id FROM events WHERE source = ? ORDER BY received_at DESC, id DESC LIMIT 1"), src).Scan(&id); err != nil {
			if isNoRows(err) {
				continue
			}
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}
