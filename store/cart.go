package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

var (
	_ synclayer.CartStore = (*DB)(nil)
	_ synclayer.CartTx    = (*Tx)(nil)
)

func (s *DB) findCarts(ctx context.Context, q querier, where string, args ...any) ([]*synclayer.Cart, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT id, data FROM carts WHERE "+where), args...)
	if err != nil {
		return nil, fmt.Errorf("find carts: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Cart
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("find carts: %w", err)
		}
		c := &synclayer.Cart{}
		if err := json.Unmarshal([]byte(data), c); err != nil {
			return nil, fmt.Errorf("decode cart %s: %w", id, err)
		}
		c.ID = id
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find carts: %w", err)
	}
	return out, nil
}

func (s *DB) findCart(ctx context.Context, q querier, id string) (*synclayer.Cart, error) {
	carts, err := s.findCarts(ctx, q, "id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(carts) == 0 {
		return nil, notFound("cart")
	}
	return carts[0], nil
}

// FindCartByID returns the cart, or ENOTFOUND.
func (s *DB) FindCartByID(ctx context.Context, id string) (*synclayer.Cart, error) {
	return s.findCart(ctx, s.db, id)
}

// FindCartByID returns the cart, or ENOTFOUND, inside the transaction.
func (t *Tx) FindCartByID(ctx context.Context, id string) (*synclayer.Cart, error) {
	return t.s.findCart(ctx, t.tx, id)
}

// FindOpenCartsByContact returns the contact's carts that no order has
// converted, oldest update first.
func (t *Tx) FindOpenCartsByContact(ctx context.Context, contactID string) ([]*synclayer.Cart, error) {
	if contactID == "" {
		return nil, nil
	}
	return t.s.findCarts(ctx, t.tx, "contact_id = ? AND contact_id <> '' AND converted = 0 ORDER BY updated_at, id", contactID)
}

// SaveCart inserts or updates c and bumps its version.
func (t *Tx) SaveCart(ctx context.Context, c *synclayer.Cart) error {
	c.Version++
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode cart: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO carts (id, contact_id, converted, data, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, converted = excluded.converted, data = excluded.data,
			version = excluded.version, updated_at = excluded.updated_at`,
		c.ID, c.ContactID, boolInt(c.Converted()), string(data), c.Version, micros(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save cart: %w", err)
	}
	return nil
}

// EnqueueJobAt asks for a record to be looked at no sooner than runAt. A
// pending job for the same skill and record is moved to runAt, earlier or
// later, so a change restarts the wait rather than adding a job. The job
// counts as first seen at runAt: its delivery latency and its retry window
// (queue.max_age) start when it is due, not during the wait.
func (t *Tx) EnqueueJobAt(ctx context.Context, skill, destination, recordKey string, runAt, now time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO jobs (skill, destination, record_key, state, run_at, first_seen_at, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)
		ON CONFLICT (skill, record_key) WHERE state = 'pending' DO UPDATE SET run_at = excluded.run_at,
			first_seen_at = excluded.first_seen_at, updated_at = excluded.updated_at`,
		skill, destination, recordKey, micros(runAt), micros(runAt), micros(now), micros(now))
	if err != nil {
		return fmt.Errorf("enqueue job at %s: %w", runAt.Format(time.RFC3339), err)
	}
	return nil
}
