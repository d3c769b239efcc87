package store

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"synclayer"
)

var _ synclayer.KeyStore = (*DB)(nil)

const keyColumns = "id, name, role, prefix, hash, created_at, last_used_at, revoked_at"

func scanKey(row interface{ Scan(...any) error }) (*synclayer.APIKey, error) {
	var k synclayer.APIKey
	var role string
	var created, used, revoked int64
	if err := row.Scan(&k.ID, &k.Name, &role, &k.Prefix, &k.Hash, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.Role = synclayer.Role(role)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMicros(created), fromMicros(used), fromMicros(revoked)
	return &k, nil
}

// CreateKey stores k with a new "key_" ID. CreatedAt defaults to now.
func (s *DB) CreateKey(ctx context.Context, k *synclayer.APIKey) error {
	if !k.Role.Valid() {
		return synclayer.FieldErrorf("role", "must be admin, operator or viewer, not %q", k.Role)
	}
	if k.Hash == "" {
		return fmt.Errorf("create key: no hash")
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now().UTC()
	}
	k.ID = "key_" + ulid.Make().String()
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO api_keys (id, name, role, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
		k.ID, k.Name, string(k.Role), k.Prefix, k.Hash, micros(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// FindKeyByHash returns the key whose secret hashes to hash, revoked or not,
// so the caller can tell a revoked key from an unknown one in its logs.
func (s *DB) FindKeyByHash(ctx context.Context, hash string) (*synclayer.APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, s.q("SELECT "+keyColumns+" FROM api_keys WHERE hash = ?"), hash))
	if isNoRows(err) {
		return nil, notFound("API key")
	}
	if err != nil {
		return nil, fmt.Errorf("find key: %w", err)
	}
	return k, nil
}

// FindKeys lists every key, revoked ones included, oldest first.
func (s *DB) FindKeys(ctx context.Context) ([]*synclayer.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+keyColumns+" FROM api_keys ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("find keys: %w", err)
	}
	defer rows.Close()
	out := []*synclayer.APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey revokes a live key. Revoking twice is ENOTFOUND, so a typo in
// an ID is never reported as success.
func (s *DB) RevokeKey(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0"), micros(now), id)
	if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return synclayer.Errorf(synclayer.ENOTFOUND, "no live API key %q; see synclayer keys list", id)
	}
	return nil
}

// TouchKey records the key's last use. Callers limit how often they call
// it, since on SQLite every call is a write.
func (s *DB) TouchKey(ctx context.Context, id string, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?"), micros(now), id, micros(now)); err != nil {
		return fmt.Errorf("touch key: %w", err)
	}
	return nil
}
