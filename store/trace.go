package store

import (
	"context"
	"database/sql"
	"fmt"

	"synclayer"
)

// AppendTrace adds one line to a contact's history.
func (t *Tx) AppendTrace(ctx context.Context, e *synclayer.TraceEntry) error {
	return appendTrace(ctx, t.s, t.tx, e)
}

func appendTrace(ctx context.Context, s *DB, tx *sql.Tx, e *synclayer.TraceEntry) error {
	if e == nil {
		return nil
	}
	_, err := s.execTx(ctx, tx, "INSERT INTO trace (contact_id, at, kind, event_id, summary, detail) VALUES (?, ?, ?, ?, ?, ?)",
		e.ContactID, micros(e.At), e.Kind, e.EventID, e.Summary, string(e.Detail))
	if err != nil {
		return fmt.Errorf("append trace: %w", err)
	}
	return nil
}

// Trace returns a contact's history, oldest first.
func (s *DB) Trace(ctx context.Context, contactID string) ([]*synclayer.TraceEntry, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, contact_id, at, kind, event_id, summary, detail FROM trace WHERE contact_id = ? ORDER BY id"), contactID)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.TraceEntry
	for rows.Next() {
		var e synclayer.TraceEntry
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &e.ContactID, &at, &e.Kind, &e.EventID, &e.Summary, &detail); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		if detail != "" {
			e.Detail = []byte(detail)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}
