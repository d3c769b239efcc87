package store

import (
	"context"
	"encoding/json"
	"fmt"

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
