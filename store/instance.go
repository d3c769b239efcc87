package store

import (
	"context"
	"fmt"
	"time"

	"synclayer"
)

var _ synclayer.InstanceStore = (*DB)(nil)

// RecordInstance inserts or refreshes in, with SeenAt now.
func (s *DB) RecordInstance(ctx context.Context, in *synclayer.Instance) error {
	in.SeenAt = time.Now().UTC()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO instances (id, host, pid, addr, config_version, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET addr = excluded.addr, config_version = excluded.config_version, seen_at = excluded.seen_at`),
		in.ID, in.Host, in.PID, in.Addr, in.ConfigVersion, micros(in.StartedAt), micros(in.SeenAt))
	if err != nil {
		return fmt.Errorf("record instance: %w", err)
	}
	return nil
}

// RemoveInstance forgets an instance, and any not seen for a day, so the
// table holds no more than the fleet.
func (s *DB) RemoveInstance(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM instances WHERE id = ? OR seen_at < ?"), id, micros(time.Now().Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("remove instance: %w", err)
	}
	return nil
}

// FindInstances lists the instances seen at or after since, oldest first.
func (s *DB) FindInstances(ctx context.Context, since time.Time) ([]*synclayer.Instance, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, host, pid, addr, config_version, started_at, seen_at FROM instances WHERE seen_at >= ? ORDER BY started_at, id"), micros(since))
	if err != nil {
		return nil, fmt.Errorf("find instances: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Instance
	for rows.Next() {
		var in synclayer.Instance
		var started, seen int64
		if err := rows.Scan(&in.ID, &in.Host, &in.PID, &in.Addr, &in.ConfigVersion, &started, &seen); err != nil {
			return nil, fmt.Errorf("find instances: %w", err)
		}
		in.StartedAt, in.SeenAt = fromMicros(started), fromMicros(seen)
		out = append(out, &in)
	}
	return out, rows.Err()
}
