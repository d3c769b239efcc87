package store

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

var (
	_ synclayer.OrderStore = (*DB)(nil)
	_ synclayer.OrderTx    = (*Tx)(nil)
)

func scanOrder(row interface{ Scan(...any) error }) (*synclayer.Order, error) {
	var id, data string
	if err := row.Scan(&id, &data); err != nil {
		return nil, err
	}
	o := &synclayer.Order{}
	if err := json.Unmarshal([]byte(data), o); err != nil {
		return nil, fmt.Errorf("decode order %s: %w", id, err)
	}
	o.ID = id
	return o, nil
}

func (s *DB) findOrders(ctx context.Context, q querier, where string, args ...any) ([]*synclayer.Order, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT id, data FROM orders WHERE "+where), args...)
	if err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	var out []*synclayer.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	for _, o := range out {
		if o.Refunds, err = s.findRefunds(ctx, q, o.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *DB) findRefunds(ctx context.Context, q querier, orderID string) ([]synclayer.Refund, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT data FROM order_refunds WHERE order_id = ? ORDER BY created_at, id"), orderID)
	if err != nil {
		return nil, fmt.Errorf("find refunds: %w", err)
	}
	defer rows.Close()
	var out []synclayer.Refund
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var r synclayer.Refund
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return nil, fmt.Errorf("decode refund of %s: %w", orderID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *DB) findOrder(ctx context.Context, q querier, id string) (*synclayer.Order, error) {
	orders, err := s.findOrders(ctx, q, "id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(orders) == 0 {
		return nil, notFound("order")
	}
	return orders[0], nil
}

// FindOrderByID returns the order with its refunds, or ENOTFOUND.
func (s *DB) FindOrderByID(ctx context.Context, id string) (*synclayer.Order, error) {
	return s.findOrder(ctx, s.db, id)
}

// FindOrders returns the orders matching f with their refunds, most
// recently updated first.
func (s *DB) FindOrders(ctx context.Context, f synclayer.OrderFilter) ([]*synclayer.Order, error) {
	where, args := "1 = 1", []any{}
	if f.ContactID != "" {
		where, args = where+" AND contact_id = ? AND contact_id <> ''", append(args, f.ContactID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.findOrders(ctx, s.db, where+" ORDER BY updated_at DESC, id DESC LIMIT ?", append(args, limit)...)
}

// FindOrderByID returns the order with its refunds, or ENOTFOUND.
func (t *Tx) FindOrderByID(ctx context.Context, id string) (*synclayer.Order, error) {
	return t.s.findOrder(ctx, t.tx, id)
}

// FindOrdersByContact returns every order of the contact with its refunds.
func (t *Tx) FindOrdersByContact(ctx context.Context, contactID string) ([]*synclayer.Order, error) {
	if contactID == "" {
		return nil, nil
	}
	return t.s.findOrders(ctx, t.tx, "contact_id = ? AND contact_id <> '' ORDER BY updated_at, id", contactID)
}

// SaveOrder inserts or updates o and bumps its version. Its refunds are
// saved apart, with SaveRefund.
func (t *Tx) SaveOrder(ctx context.Context, o *synclayer.Order) error {
	o.Version++
	row := *o
	row.Refunds = nil
	data, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("encode order: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO orders (id, contact_id, data, version, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, data = excluded.data, version = excluded.version, updated_at = excluded.updated_at`,
		o.ID, o.ContactID, string(data), o.Version, micros(o.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save order: %w", err)
	}
	return nil
}

// SaveRefund records r under its order's ID, whether or not the order is
// known yet, and reports whether it was new or different.
func (t *Tx) SaveRefund(ctx context.Context, r *synclayer.Refund) (bool, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("encode refund: %w", err)
	}
	var held string
	err = t.tx.QueryRowContext(ctx, t.s.q("SELECT data FROM order_refunds WHERE order_id = ? AND id = ?"), r.OrderID, r.ID).Scan(&held)
	switch {
	case err == nil && held == string(data):
		return false, nil
	case err == nil:
		_, err = t.exec(ctx, "UPDATE order_refunds SET data = ?, created_at = ? WHERE order_id = ? AND id = ?", string(data), micros(r.CreatedAt), r.OrderID, r.ID)
	case isNoRows(err):
		_, err = t.exec(ctx, "INSERT INTO order_refunds (order_id, id, data, created_at) VALUES (?, ?, ?, ?)", r.OrderID, r.ID, string(data), micros(r.CreatedAt))
	}
	if err != nil {
		return false, fmt.Errorf("save refund: %w", err)
	}
	return true, nil
}

// FindContactByID returns the contact, or ENOTFOUND, inside the transaction.
func (t *Tx) FindContactByID(ctx context.Context, id string) (*synclayer.Contact, error) {
	return t.s.findContact(ctx, t.tx, "id = ?", id)
}
