package store

import (
	"context"
	"fmt"
	"time"

	"synclayer"
)

var _ synclayer.SharedKeys = (*DB)(nil)

// ClaimShared inserts key as claimed until now+ttl, or takes over a
// claim whose time ran out with no value put, in one statement, so of
// several instances claiming at once exactly one is told true.
func (s *DB) ClaimShared(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO shared_keys (name, value, claimed_until, updated_at) VALUES (?, '', ?, ?)
		ON CONFLICT (name) DO UPDATE SET claimed_until = excluded.claimed_until, updated_at = excluded.updated_at
		WHERE shared_keys.value = '' AND shared_keys.claimed_until <= ?`),
		key, micros(now.Add(ttl)), micros(now), micros(now))
	if err != nil {
		return false, fmt.Errorf("claim shared key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim shared key: %w", err)
	}
	return n == 1, nil
}

// PutShared stores value under key and ends its claim.
func (s *DB) PutShared(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO shared_keys (name, value, claimed_until, updated_at) VALUES (?, ?, 0, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, claimed_until = 0, updated_at = excluded.updated_at`),
		key, value, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("put shared key: %w", err)
	}
	return nil
}

// FindShared returns key's value, if one was put.
func (s *DB) FindShared(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q("SELECT value FROM shared_keys WHERE name = ?"), key).Scan(&v)
	if isNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("find shared key: %w", err)
	}
	return v, v != "", nil
}

// ForgetShared deletes key if it holds value.
func (s *DB) ForgetShared(ctx context.Context, key, value string) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM shared_keys WHERE name = ? AND value = ?"), key, value); err != nil {
		return fmt.Errorf("forget shared key: %w", err)
	}
	return nil
}
