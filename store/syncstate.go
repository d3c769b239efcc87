package store

import (
	"context"
	"fmt"
	"time"

	"synclayer"
)

// SaveSyncState upserts what a destination holds for a record.
func (s *DB) SaveSyncState(ctx context.Context, st *synclayer.SyncState, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sync_state (record_key, destination, remote_id, state, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (record_key, destination) DO UPDATE SET remote_id = excluded.remote_id, state = excluded.state, updated_at = excluded.updated_at`),
		st.RecordKey, st.Destination, st.RemoteID, string(st.State), micros(now))
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
}

// ExpediteRetries makes every backed-off pending job of skill due now.
func (s *DB) ExpediteRetries(ctx context.Context, skill string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE jobs SET run_at = ? WHERE skill = ? AND state = 'pending' AND attempts > 0 AND run_at > ?"),
		micros(now), skill, micros(now))
	if err != nil {
		return fmt.Errorf("expedite retries: %w", err)
	}
	return nil
}
