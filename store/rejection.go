package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

var _ synclayer.RejectionStore = (*DB)(nil)

// RecordRejection stores r and prunes all but the newest keep rejections, so
// a flood of bad requests cannot fill the disk.
func (s *DB) RecordRejection(ctx context.Context, r *synclayer.Rejection, keep int) error {
	headers, _ := json.Marshal(r.Headers)
	return s.tx(ctx, func(tx sqlTx) error {
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO rejections (source, received_at, status, code, message, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			r.Source, micros(r.ReceivedAt), r.Status, r.Code, r.Message, string(headers), r.Body); err != nil {
			return fmt.Errorf("record rejection: %w", err)
		}
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM rejections WHERE id <= (SELECT MAX(id) FROM rejections) - ?"), keep)
		return err
	})
}

// FindRejections returns the newest rejections first.
func (s *DB) FindRejections(ctx context.Context, limit int) ([]*synclayer.Rejection, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, source, received_at, status, code, message, headers, body FROM rejections ORDER BY id DESC LIMIT ?"), limit)
	if err != nil {
		return nil, fmt.Errorf("find rejections: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Rejection
	for rows.Next() {
		var r synclayer.Rejection
		var at int64
		var headers string
		if err := rows.Scan(&r.ID, &r.Source, &at, &r.Status, &r.Code, &r.Message, &headers, &r.Body); err != nil {
			return nil, err
		}
		r.ReceivedAt = fromMicros(at)
		_ = json.Unmarshal([]byte(headers), &r.Headers)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// SummarizeRejections counts, per source, the rejections received since
// since, with the newest of each. The table keeps at most the newest
// 1,000, so this reads a bounded table.
func (s *DB) SummarizeRejections(ctx context.Context, since time.Time) ([]*synclayer.RejectionSummary, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT r.source, c.n, r.received_at, r.status, r.code, r.message FROM rejections r
		JOIN (SELECT source, COUNT(*) AS n, MAX(id) AS last FROM rejections WHERE received_at >= ? GROUP BY source) c ON r.id = c.last
		ORDER BY r.source`), micros(since))
	if err != nil {
		return nil, fmt.Errorf("summarize rejections: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.RejectionSummary
	for rows.Next() {
		sum := &synclayer.RejectionSummary{Last: &synclayer.Rejection{}}
		var at int64
		if err := rows.Scan(&sum.Source, &sum.Count, &at, &sum.Last.Status, &sum.Last.Code, &sum.Last.Message); err != nil {
			return nil, fmt.Errorf("summarize rejections: %w", err)
		}
		sum.Last.Source, sum.Last.ReceivedAt = sum.Source, fromMicros(at)
		out = append(out, sum)
	}
	return out, rows.Err()
}
