package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between SQLite and PostgreSQL.
type dialect interface {
	rebind(query string) string
	isUniqueViolation(err error) bool
	// lockKeys serializes transactions that resolve the same identities, so
	// two concurrent events for one new email create one contact.
	lockKeys(ctx context.Context, tx *sql.Tx, keys []string) error
	lockMigrations(ctx context.Context, tx *sql.Tx) error
	// skipLocked is appended to the claim query's inner SELECT.
	skipLocked() string
	// containsCI is a condition that expr holds the one argument, a LIKE
	// pattern in lower case with \ as its escape, ignoring case.
	containsCI(expr string) string
	// contactField is the text of a canonical field of contacts.data, or ''.
	contactField(name string) string
}

type sqliteDialect struct{}

func (sqliteDialect) rebind(q string) string { return q }

func (sqliteDialect) isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// SQLite transactions begin IMMEDIATE, so there is one writer at a time.
func (sqliteDialect) lockKeys(context.Context, *sql.Tx, []string) error { return nil }
func (sqliteDialect) lockMigrations(context.Context, *sql.Tx) error     { return nil }
func (sqliteDialect) skipLocked() string                                { return "" }

// SQLite's lower() folds ASCII letters only.
func (sqliteDialect) containsCI(expr string) string { return "lower(" + expr + `) LIKE ? ESCAPE '\'` }
func (sqliteDialect) contactField(name string) string {
	return "COALESCE(json_extract(data, '$.fields." + name + ".v'), '')"
}

type postgresDialect struct{}

func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (postgresDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// lockKeys takes every lock in one statement, one round trip rather than
// one per key (an ingest takes three: source id, email, phone). The locks
// are taken in the order of keys: PostgreSQL evaluates a volatile function
// in the select list after the sort, so ORDER BY the array position holds.
func (postgresDialect) lockKeys(ctx context.Context, tx *sql.Tx, keys []string) error {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", keys[0])
		return err
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i`, keys)
	return err
}

func (postgresDialect) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7201)")
	return err
}

func (postgresDialect) skipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (postgresDialect) containsCI(expr string) string {
	return "(" + expr + ")" + ` ILIKE ? ESCAPE '\'`
}
func (postgresDialect) contactField(name string) string {
	return "COALESCE(data::jsonb #>> '{fields," + name + ",v}', '')"
}
