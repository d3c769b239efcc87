package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Migrations are SQL files under migrations/<driver>/, applied in the
// order of the number their names start with (0001_init.sql, ...) by
// goose, which records each in goose_db_version. Each file is one
// transaction: a crash halfway leaves the previous version.
//
// Releases before goose recorded versions in schema_migrations (one row
// per file, numbered in the same order). A database created by one is
// adopted the first time: its versions are copied into goose's table,
// and only the files after them run.

// versionTable is goose's record of the applied migrations.
const versionTable = "goose_db_version"

// migrationLock is the PostgreSQL advisory lock held while migrating, so
// instances starting together migrate once. Releases before goose took
// the same key per migration, so an old and a new binary never migrate at
// once either.
const migrationLock = 7201

func (s *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.driver)
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.driver == "postgres" {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.db, sub, append(opts, goose.WithDisableGlobalRegistry(true))...)
}

func (s *DB) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if s.driver == "sqlite" && !strings.Contains(s.dsn, ":memory:") {
		// Two processes opening a new file at once (a server and a CLI
		// command) would both find it at version 0 and both apply 0001:
		// goose locks only on PostgreSQL, so hold a file lock beside it.
		l := flock.New(s.dsn + ".migrate-lock")
		if _, err := l.TryLockContext(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("migrate: lock %s: %w", s.dsn+".migrate-lock", err)
		}
		defer l.Unlock()
	}
	if err := s.adoptLegacyVersions(ctx); err != nil {
		return fmt.Errorf("migrate: adopt the versions of an earlier release: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// adoptLegacyVersions copies schema_migrations into goose's table when a
// database has the first and not the second. On PostgreSQL it runs under
// the migration lock, so two instances upgrading together adopt once.
func (s *DB) adoptLegacyVersions(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.driver == "postgres" {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
				return err
			}
		}
		legacy, err := s.tableExists(ctx, tx, "schema_migrations")
		if err != nil || !legacy {
			return err
		}
		adopted, err := s.tableExists(ctx, tx, versionTable)
		if err != nil || adopted {
			return err
		}
		d := database.DialectSQLite3
		if s.driver == "postgres" {
			d = database.DialectPostgres
		}
		st, err := database.NewStore(d, versionTable)
		if err != nil {
			return err
		}
		if err := st.CreateVersionTable(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			return err
		}
		var versions []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			versions = append(versions, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// goose's table starts with version 0, as CreateVersionTable
		// leaves it when goose creates it itself.
		for _, v := range append([]int64{0}, versions...) {
			if err := st.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *DB) tableExists(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if s.driver == "postgres" {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// Ping checks that the database answers and that its schema is current.
func (s *DB) Ping(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("ping storage: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("ping storage: %w", err)
	}
	if current < target {
		return fmt.Errorf("storage schema at version %d, want %d: restart synclayer to migrate it", current, target)
	}
	return nil
}
