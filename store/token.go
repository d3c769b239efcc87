package store

import (
	"context"
	"fmt"
	"time"

	"synclayer"
)

var _ synclayer.TokenStore = (*DB)(nil)

// FindToken returns destination's stored value as it was put (sealed by
// the program), or ENOTFOUND.
func (s *DB) FindToken(ctx context.Context, destination string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, s.q("SELECT value FROM oauth_tokens WHERE destination = ?"), destination).Scan(&v)
	if isNoRows(err) {
		return nil, notFound("token of destination " + destination)
	}
	if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return v, nil
}

// PutToken stores value as destination's, replacing the one before.
func (s *DB) PutToken(ctx context.Context, destination string, value []byte) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO oauth_tokens (destination, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (destination) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		destination, value, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return nil
}
