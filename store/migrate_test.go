package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"synclayer"
	"synclayer/store"
	"synclayer/store/storetest"
)

// legacyRelease is the last release that recorded its migrations in
// schema_migrations: its files were 0001 to 0011.
const legacyRelease = 11

// createLegacy builds a database as that release left it: the first
// legacyRelease files applied the way its migrator did (statements split
// at ";\n", one schema_migrations row per file), plus a config version, as
// every database of that release has.
func createLegacy(t *testing.T, driver, dsn string) {
	t.Helper()
	sqlDriver, open := driver, dsn
	if driver == "postgres" {
		sqlDriver = "pgx"
	} else {
		open = "file:" + dsn
	}
	db, err := sql.Open(sqlDriver, open)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
	files, _ := filepath.Glob(filepath.Join("migrations", driver, "*.sql"))
	sort.Strings(files)
	for i, f := range files[:legacyRelease] {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(strings.ReplaceAll(string(body), "-- +goose Up\n", ""), ";\n") {
			if strings.TrimSpace(stmt) != "" {
				exec(stmt)
			}
		}
		q := "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"
		if driver == "postgres" {
			q = "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)"
		}
		exec(q, i+1, time.Now().UnixMicro())
	}
	q := "INSERT INTO config_versions (version, created_at, actor, origin, note, yaml) VALUES (1, ?, 'cli', 'file', 'loaded at start', 'skills: {}\n')"
	if driver == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	exec(q, time.Now().UnixMicro())
}

// TestMigrate_UpgradesTheLegacyReleaseInPlace: a database created by the
// release before goose opens with the current one: its data is kept, only
// the newer files run, and a second start changes nothing.
func TestMigrate_UpgradesTheLegacyReleaseInPlace(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			dsn := filepath.Join(t.TempDir(), "synclayer.db")
			if driver == "postgres" {
				dsn = storetest.NewPostgresDatabase(t)
			}
			createLegacy(t, driver, dsn)
			ctx := context.Background()
			for start := range 2 {
				db, err := store.Open(ctx, driver, dsn)
				if err != nil {
					t.Fatalf("start %d on the legacy database: %v", start+1, err)
				}
				if err := db.Ping(ctx); err != nil {
					t.Errorf("start %d: ping: %v", start+1, err)
				}
				if v, err := db.FindConfigVersion(ctx, 1); err != nil || v.Note != "loaded at start" {
					t.Errorf("start %d: the legacy config version: %+v, %v", start+1, v, err)
				}
				// instances came after the legacy release: its table exists now.
				if err := db.RecordInstance(ctx, &synclayer.Instance{ID: "i", Host: "h", StartedAt: time.Now()}); err != nil {
					t.Errorf("start %d: a table of a newer migration: %v", start+1, err)
				}
				db.Close()
			}
		})
	}
}

// TestMigrate_TwoOpensOfANewSQLiteFile: a server and a CLI command opening
// a new file at the same moment both find it at version 0; only one may
// apply the migrations, and both must open it.
func TestMigrate_TwoOpensOfANewSQLiteFile(t *testing.T) {
	t.Parallel()
	for round := range 5 {
		dsn := filepath.Join(t.TempDir(), "synclayer.db")
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				db, err := store.Open(context.Background(), "sqlite", dsn)
				if err == nil {
					db.Close()
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round+1, err)
			}
		}
	}
}
