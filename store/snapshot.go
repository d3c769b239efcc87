package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ContactKeys names the contacts a snapshot of PostgreSQL copies: those
// known by one of these (source, source ID) pairs, emails or phones, in
// the normalized forms the store keeps.
type ContactKeys struct {
	SourceIDs [][2]string
	Emails    []string
	Phones    []string
}

// Snapshot copies the current state of the store at driver and dsn into a
// new SQLite file at dst and opens the copy, for dry runs that must touch
// nothing live. It never writes to the source and never migrates it.
//
// SQLite is copied whole with VACUUM INTO over a read-only connection,
// which is consistent under concurrent writers. PostgreSQL may be large,
// so only the contacts named by keys are copied, with their source IDs
// and sync state, in one read-only repeatable-read transaction; that is
// everything identity resolution and a delivery plan read.
//
// missing is true when a SQLite source file does not exist: the copy is
// then an empty store.
func Snapshot(ctx context.Context, driver, dsn, dst string, keys ContactKeys) (snap *DB, missing bool, err error) {
	switch driver {
	case "sqlite", "":
		if _, err := os.Stat(dsn); errors.Is(err, os.ErrNotExist) {
			missing = true
		} else if err := vacuumInto(ctx, dsn, dst); err != nil {
			return nil, false, err
		}
		snap, err = Open(ctx, "sqlite", dst)
		return snap, missing, err
	case "postgres":
		snap, err = Open(ctx, "sqlite", dst)
		if err != nil {
			return nil, false, err
		}
		if err := copyPostgres(ctx, dsn, snap, keys); err != nil {
			snap.Close()
			return nil, false, err
		}
		return snap, false, nil
	}
	return nil, false, fmt.Errorf("snapshot: unknown driver %q", driver)
}

func vacuumInto(ctx context.Context, path, dst string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open %s read-only: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return nil
}

func copyPostgres(ctx context.Context, dsn string, snap *DB, keys ContactKeys) error {
	src, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	defer src.Close()
	tx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return fmt.Errorf("read postgres: %w", err)
	}
	defer tx.Rollback()

	ids := map[string]bool{}
	collect := func(query string, args ...any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("read postgres: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids[id] = true
		}
		return rows.Err()
	}
	for _, p := range keys.SourceIDs {
		if err := collect("SELECT contact_id FROM contact_source_ids WHERE source = $1 AND source_id = $2", p[0], p[1]); err != nil {
			return err
		}
	}
	for _, e := range keys.Emails {
		if err := collect("SELECT id FROM contacts WHERE email = $1", e); err != nil {
			return err
		}
	}
	for _, p := range keys.Phones {
		if err := collect("SELECT id FROM contacts WHERE phone = $1", p); err != nil {
			return err
		}
	}
	for id := range ids {
		for _, t := range []struct{ table, columns, key string }{
			{"contacts", "id, email, phone, deleted, data, version, created_at, updated_at", "id"},
			{"contact_source_ids", "source, source_id, contact_id", "contact_id"},
			{"sync_state", "record_key, destination, remote_id, state, updated_at", "record_key"},
		} {
			if err := copyRows(ctx, tx, snap, t.table, t.columns, t.key, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyRows copies the rows of table whose key column is id, column by
// column as they are: both schemas store the same values.
func copyRows(ctx context.Context, tx *sql.Tx, snap *DB, table, columns, key, id string) error {
	rows, err := tx.QueryContext(ctx, "SELECT "+columns+" FROM "+table+" WHERE "+key+" = $1", id)
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	n := strings.Count(columns, ",") + 1
	insert := "INSERT INTO " + table + " (" + columns + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	for rows.Next() {
		vals := make([]any, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		if _, err := snap.db.ExecContext(ctx, insert, vals...); err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
	}
	return rows.Err()
}
