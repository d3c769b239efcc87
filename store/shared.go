package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"synclayer"
)

var _ synclayer.SharedKeys = (*DB)(nil)

// sharedPruneEvery makes one put in this many (on average) also delete
// the keys whose claim or value ran out.
const sharedPruneEvery = 256

// ClaimShared inserts key as claimed until now+ttl, or takes over a key
// whose claim or value ran out, in one statement, so of several
// instances claiming at once exactly one is told true.
func (s *DB) ClaimShared(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO shared_keys (name, value, expires_at, updated_at) VALUES (?, '', ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = '', expires_at = excluded.expires_at, updated_at = excluded.updated_at
		WHERE shared_keys.expires_at <> 0 AND shared_keys.expires_at <= ?`),
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

// PutShared stores value under key for keep (0: for good) and ends its
// claim.
func (s *DB) PutShared(ctx context.Context, key, value string, keep time.Duration) error {
	now := time.Now()
	var until int64
	if keep > 0 {
		until = micros(now.Add(keep))
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO shared_keys (name, value, expires_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at`),
		key, value, until, micros(now))
	if err != nil {
		return fmt.Errorf("put shared key: %w", err)
	}
	if rand.IntN(sharedPruneEvery) == 0 {
		if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM shared_keys WHERE expires_at <> 0 AND expires_at <= ?"), micros(now)); err != nil {
			return fmt.Errorf("prune shared keys: %w", err)
		}
	}
	return nil
}

// FindShared returns key's value, if one was put and has not run out.
func (s *DB) FindShared(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q("SELECT value FROM shared_keys WHERE name = ? AND (expires_at = 0 OR expires_at > ?)"),
		key, micros(time.Now())).Scan(&v)
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
