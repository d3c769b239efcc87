// Package store is the canonical store and the durable delivery queue of
// synclayer, on SQLite (the embedded default) or PostgreSQL. Both run the same
// SQL; the few differences live in dialect.go, and one conformance suite
// (storetest) runs against both real databases.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"synclayer"
)

//go:embed migrations
var migrations embed.FS

// DB implements synclayer.Store on a SQL database.
type DB struct {
	db      *sql.DB
	dialect dialect
	driver  string
	// marked holds the skills whose delivery attempts are marked for the
	// notifier (MarkDeliveries); nil marks none.
	marked atomic.Pointer[map[string]bool]
	// markFailed marks events stored as failed (MarkFailedEvents).
	markFailed atomic.Bool
	// rolledUp is the day RollUpDeliveries last finished, in Unix microseconds.
	rolledUp atomic.Int64
	stmts    statements
	// dsn is the SQLite file's path (or the PostgreSQL URL), for the lock
	// migrations take beside the file.
	dsn string
	// lastPrune is when a claim last pruned done jobs, in Unix microseconds.
	lastPrune atomic.Int64
}

var _ synclayer.Store = (*DB)(nil)

// Open connects to the database, applies pending migrations and returns the
// store. driver is "sqlite" (dsn is a file path) or "postgres" (dsn is a
// postgres:// URL).
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	var (
		db  *sql.DB
		err error
		d   dialect
	)
	switch driver {
	case "sqlite", "":
		driver, d = "sqlite", sqliteDialect{}
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
		// WAL with synchronous=NORMAL keeps every commit across a process
		// crash; _txlock=immediate serializes writers up front instead of
		// failing them with SQLITE_BUSY halfway through a transaction.
		db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_txlock=immediate")
		if err == nil {
			db.SetMaxOpenConns(1) // one writer; reads share it, which SQLite serializes anyway
		}
	case "postgres":
		d = postgresDialect{}
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(16)
			db.SetMaxIdleConns(16)
		}
	default:
		return nil, synclayer.FieldErrorf("storage.driver", "unknown driver %q; use sqlite or postgres", driver)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", driver, err)
	}
	s := &DB{db: db, dialect: d, driver: driver, dsn: dsn}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error {
	s.stmts.close()
	return s.db.Close()
}

// Driver returns "sqlite" or "postgres".
func (s *DB) Driver() string { return s.driver }

// q rewrites ? placeholders for the dialect.
func (s *DB) q(query string) string { return s.dialect.rebind(query) }

type sqlTx = *sql.Tx

func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer s.stmts.prepareWanted(ctx, s)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Tx runs fn in one transaction. Nothing fn wrote is visible, or durable,
// before it returns nil and the commit succeeds.
func (s *DB) Tx(ctx context.Context, fn func(synclayer.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(&Tx{s: s, tx: tx}) })
}

// Tx is one ingest transaction.
type Tx struct {
	s  *DB
	tx *sql.Tx
}

var _ synclayer.Tx = (*Tx)(nil)

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.s.execTx(ctx, t.tx, query, args...)
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func notFound(what string) error {
	return synclayer.Errorf(synclayer.ENOTFOUND, "%s not found", what)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
