package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"synclayer"
)

// InsertEvent stores e with a new "ev_" ID. A second event with the same
// source and dedupe key is ECONFLICT: the platform redelivered it.
func (t *Tx) InsertEvent(ctx context.Context, e *synclayer.Event) error {
	if e.ID == "" {
		e.ID = "ev_" + ulid.Make().String()
	}
	var customer []byte
	if e.Customer != nil {
		var err error
		if customer, err = json.Marshal(e.Customer); err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
	}
	// DO NOTHING, not a caught unique violation: PostgreSQL would abort the
	// transaction, and the event's batch with it.
	res, err := t.exec(ctx, `INSERT INTO events (id, source, dedupe_key, topic, type, occurred_at, received_at, status, reason, contact_id, customer, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, dedupe_key) DO NOTHING`,
		e.ID, e.Source, e.DedupeKey, e.Topic, string(e.Type), micros(e.OccurredAt), micros(e.ReceivedAt),
		string(e.Status), e.Reason, e.ContactID, string(customer), []byte(e.Payload))
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return synclayer.Errorf(synclayer.ECONFLICT, "event %s from %s was already received", e.DedupeKey, e.Source)
	}
	return nil
}

// UpdateEvent records the outcome of ingesting e. A failed event is
// marked for the notifier once MarkFailedEvents was called.
func (t *Tx) UpdateEvent(ctx context.Context, e *synclayer.Event) error {
	mark := e.Status == synclayer.EventFailed && t.s.markFailed.Load()
	_, err := t.exec(ctx, "UPDATE events SET status = ?, reason = ?, contact_id = ?, notify = ? WHERE id = ?", string(e.Status), e.Reason, e.ContactID, boolInt(mark), e.ID)
	if err != nil {
		return fmt.Errorf("update event: %w", err)
	}
	return nil
}

const eventColumns = "id, source, dedupe_key, topic, type, occurred_at, received_at, status, reason, contact_id, customer, payload"

func scanEvent(row interface{ Scan(...any) error }) (*synclayer.Event, error) {
	var (
		e                  synclayer.Event
		typ, status        string
		occurred, received int64
		customer           string
		payload            []byte
	)
	if err := row.Scan(&e.ID, &e.Source, &e.DedupeKey, &e.Topic, &typ, &occurred, &received, &status, &e.Reason, &e.ContactID, &customer, &payload); err != nil {
		return nil, err
	}
	e.Type, e.Status = synclayer.EventType(typ), synclayer.EventStatus(status)
	e.OccurredAt, e.ReceivedAt = fromMicros(occurred), fromMicros(received)
	e.Payload = payload
	if customer != "" {
		e.Customer = &synclayer.CustomerChange{}
		if err := json.Unmarshal([]byte(customer), e.Customer); err != nil {
			return nil, fmt.Errorf("decode event %s: %w", e.ID, err)
		}
	}
	return &e, nil
}

// FindEventByID returns the event, or ENOTFOUND.
func (s *DB) FindEventByID(ctx context.Context, id string) (*synclayer.Event, error) {
	e, err := scanEvent(s.db.QueryRowContext(ctx, s.q("SELECT "+eventColumns+" FROM events WHERE id = ?"), id))
	if isNoRows(err) {
		return nil, notFound("event")
	}
	return e, err
}

// eventWhere is f's WHERE clause and its arguments.
func eventWhere(f synclayer.EventFilter) (string, []any) {
	where, args := "1 = 1", []any{}
	if f.Status != "" {
		where, args = where+" AND status = ?", append(args, string(f.Status))
	}
	if !f.Since.IsZero() {
		where, args = where+" AND received_at >= ?", append(args, micros(f.Since))
	}
	return where, args
}

// CountEvents counts the events matching f, whatever its Limit.
func (s *DB) CountEvents(ctx context.Context, f synclayer.EventFilter) (int, error) {
	where, args := eventWhere(f)
	var n int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM events WHERE "+where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// LastEventsReceived returns when each source last had an event
// received, one MAX per source over events_source_received.
func (s *DB) LastEventsReceived(ctx context.Context, sources ...string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, src := range sources {
		var at sql.NullInt64
		if err := s.db.QueryRowContext(ctx, s.q("SELECT MAX(received_at) FROM events WHERE source = ?"), src).Scan(&at); err != nil {
			return nil, fmt.Errorf("last event of %s: %w", src, err)
		}
		if at.Valid && at.Int64 != 0 {
			out[src] = fromMicros(at.Int64)
		}
	}
	return out, nil
}

// FindEvents returns events matching f, newest first.
func (s *DB) FindEvents(ctx context.Context, f synclayer.EventFilter) ([]*synclayer.Event, error) {
	where, args := eventWhere(f)
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+eventColumns+" FROM events WHERE "+where+" ORDER BY received_at DESC, id DESC LIMIT ?"), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
