// Package storetest holds the conformance suite that every synclayer.Store
// must pass, and helpers that open real test databases: a SQLite file in a
// temp directory, and a fresh PostgreSQL database per test.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"synclayer/store"
)

// PostgresURL is the server the tests use: $SYNCLAYER_TEST_POSTGRES, or the
// local trust-auth server.
func PostgresURL() string {
	if u := os.Getenv("SYNCLAYER_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// OpenSQLite opens a store on a new SQLite file that is removed after the test.
func OpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), "sqlite", filepath.Join(tb.TempDir(), "synclayer.db"))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// NewPostgresDatabase creates an empty database on the test server and
// returns its URL; it is dropped after the test, so runs never collide.
func NewPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "synclayer_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database on %s (is PostgreSQL running? .ci/run starts it): %v", PostgresURL(), err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u := PostgresURL()
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + name + rest
}

// OpenPostgres opens a store on a new PostgreSQL database.
func OpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), "postgres", NewPostgresDatabase(tb))
	if err != nil {
		tb.Fatalf("open postgres store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
