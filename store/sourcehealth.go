package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"synclayer"
)

// SourceActivity reads each source's newest event (events_source_received
// answers it from the index) and the deliveries refused with 401 since
// since (rejections_source).
func (s *DB) SourceActivity(ctx context.Context, sources []string, since time.Time) (map[string]synclayer.SourceActivity, error) {
	out := map[string]synclayer.SourceActivity{}
	for _, src := range sources {
		var a synclayer.SourceActivity
		var last sql.NullInt64
		if err := s.db.QueryRowContext(ctx, s.q("SELECT MAX(received_at) FROM events WHERE source = ?"), src).Scan(&last); err != nil {
			return nil, fmt.Errorf("source activity of %s: %w", src, err)
		}
		if last.Valid {
			a.LastEvent = fromMicros(last.Int64)
		}
		var lastRefused sql.NullInt64
		if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*), MAX(received_at) FROM rejections WHERE source = ? AND status = 401 AND received_at >= ?"),
			src, micros(since)).Scan(&a.Unauthorized, &lastRefused); err != nil {
			return nil, fmt.Errorf("source refusals of %s: %w", src, err)
		}
		if lastRefused.Valid {
			a.LastRefused = fromMicros(lastRefused.Int64)
		}
		out[src] = a
	}
	return out, nil
}
