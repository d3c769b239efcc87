package store

import (
	"context"
	"database/sql"
	"sync"
)

// statements caches prepared statements for SQLite, where compiling a
// short statement costs more than running it: profiles of the ingest path
// showed the SQL parser taking 45% of the time. A statement is prepared the
// first time it runs, but outside the transaction that first ran it, since
// SQLite has one connection and that transaction holds it. PostgreSQL needs
// none of this: pgx caches statements per connection itself.
type statements struct {
	prepared sync.Map // rebound query → *sql.Stmt
	wanted   sync.Map // rebound query → struct{}
}

func (st *statements) get(q string) *sql.Stmt {
	if v, ok := st.prepared.Load(q); ok {
		return v.(*sql.Stmt)
	}
	st.wanted.Store(q, struct{}{})
	return nil
}

// prepareWanted prepares the statements used since the last call. It runs
// after a transaction ends, when the connection is free again.
func (st *statements) prepareWanted(ctx context.Context, s *DB) {
	st.wanted.Range(func(k, _ any) bool {
		st.wanted.Delete(k)
		q := k.(string)
		if _, ok := st.prepared.Load(q); ok {
			return true
		}
		stmt, err := s.db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			return true // it runs unprepared; the error shows when it executes
		}
		if _, loaded := st.prepared.LoadOrStore(q, stmt); loaded {
			stmt.Close()
		}
		return true
	})
}

func (st *statements) close() {
	st.prepared.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// execTx runs query in tx, prepared when SQLite has seen it before.
func (s *DB) execTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	q := s.q(query)
	if s.driver == "sqlite" {
		if stmt := s.stmts.get(q); stmt != nil {
			return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		}
	}
	return tx.ExecContext(ctx, q, args...)
}

// queryRowTx is execTx for a query that returns one row; tx may be nil to
// read outside a transaction.
func (s *DB) queryRowTx(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	q := s.q(query)
	if s.driver == "sqlite" {
		if stmt := s.stmts.get(q); stmt != nil {
			if tx == nil {
				return stmt.QueryRowContext(ctx, args...)
			}
			return tx.StmtContext(ctx, stmt).QueryRowContext(ctx, args...)
		}
	}
	if tx == nil {
		return s.db.QueryRowContext(ctx, q, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// queryTx is execTx for a query that returns rows.
func (s *DB) queryTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	q := s.q(query)
	if s.driver == "sqlite" {
		if stmt := s.stmts.get(q); stmt != nil {
			return tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		}
	}
	return tx.QueryContext(ctx, q, args...)
}
