package store

import (
	"context"
	"database/sql"
	"fmt"

	"synclayer"
)

var _ synclayer.ConfigStore = (*DB)(nil)

// AddConfigVersion stores v as the newest version. The version number is
// taken under a lock (an advisory lock on PostgreSQL, the one writer on
// SQLite), so concurrent writers get consecutive numbers.
func (s *DB) AddConfigVersion(ctx context.Context, v *synclayer.ConfigVersion, ifLatest int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.dialect.lockKeys(ctx, tx, []string{"config_versions"}); err != nil {
			return fmt.Errorf("lock config versions: %w", err)
		}
		var latest int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM config_versions").Scan(&latest); err != nil {
			return fmt.Errorf("add config version: %w", err)
		}
		if ifLatest >= 0 && latest != ifLatest {
			return synclayer.Errorf(synclayer.ECONFLICT, "config version %d was recorded meanwhile", latest)
		}
		v.Version = latest + 1
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO config_versions (version, created_at, actor, origin, note, yaml) VALUES (?, ?, ?, ?, ?, ?)"),
			v.Version, micros(v.CreatedAt), v.Actor, string(v.Origin), v.Note, v.YAML); err != nil {
			return fmt.Errorf("add config version: %w", err)
		}
		return nil
	})
}

func scanConfigVersion(row interface{ Scan(...any) error }, withYAML bool) (*synclayer.ConfigVersion, error) {
	var v synclayer.ConfigVersion
	var origin string
	var created int64
	dest := []any{&v.Version, &created, &v.Actor, &origin, &v.Note}
	if withYAML {
		dest = append(dest, &v.YAML)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	v.CreatedAt, v.Origin = fromMicros(created), synclayer.ConfigOrigin(origin)
	return &v, nil
}

// FindConfigVersion returns version n with its YAML, or ENOTFOUND.
func (s *DB) FindConfigVersion(ctx context.Context, n int) (*synclayer.ConfigVersion, error) {
	v, err := scanConfigVersion(s.db.QueryRowContext(ctx, s.q("SELECT version, created_at, actor, origin, note, yaml FROM config_versions WHERE version = ?"), n), true)
	if isNoRows(err) {
		return nil, synclayer.Errorf(synclayer.ENOTFOUND, "no config version %d; see synclayer config history", n)
	}
	if err != nil {
		return nil, fmt.Errorf("find config version: %w", err)
	}
	return v, nil
}

// FindLatestConfigVersion returns the newest version of origin ("" for
// any), or ENOTFOUND.
func (s *DB) FindLatestConfigVersion(ctx context.Context, origin synclayer.ConfigOrigin) (*synclayer.ConfigVersion, error) {
	where, args := "", []any{}
	if origin != "" {
		where, args = "WHERE origin = ?", append(args, string(origin))
	}
	v, err := scanConfigVersion(s.db.QueryRowContext(ctx, s.q("SELECT version, created_at, actor, origin, note, yaml FROM config_versions "+where+" ORDER BY version DESC LIMIT 1"), args...), true)
	if isNoRows(err) {
		return nil, notFound("config version")
	}
	if err != nil {
		return nil, fmt.Errorf("find config version: %w", err)
	}
	return v, nil
}

// FindConfigVersions lists versions newest first, without their YAML.
func (s *DB) FindConfigVersions(ctx context.Context, limit int) ([]*synclayer.ConfigVersion, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT version, created_at, actor, origin, note FROM config_versions ORDER BY version DESC LIMIT ?"), limit)
	if err != nil {
		return nil, fmt.Errorf("find config versions: %w", err)
	}
	defer rows.Close()
	out := []*synclayer.ConfigVersion{}
	for rows.Next() {
		v, err := scanConfigVersion(rows, false)
		if err != nil {
			return nil, fmt.Errorf("find config versions: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
