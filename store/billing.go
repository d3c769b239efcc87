package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

var _ synclayer.BillingTx = (*Tx)(nil)

// The billing tables (subscriptions, payments) share one shape: id,
// contact_id, the record as JSON, version, updated_at.

func findRecords[T any](ctx context.Context, t *Tx, table, where string, args ...any) ([]*T, error) {
	rows, err := t.tx.QueryContext(ctx, t.s.q("SELECT data FROM "+table+" WHERE "+where), args...)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", table, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("find %s: %w", table, err)
		}
		v := new(T)
		if err := json.Unmarshal([]byte(data), v); err != nil {
			return nil, fmt.Errorf("decode %s row: %w", table, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find %s: %w", table, err)
	}
	return out, nil
}

func findRecord[T any](ctx context.Context, t *Tx, table, what, id string) (*T, error) {
	out, err := findRecords[T](ctx, t, table, "id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(what)
	}
	return out[0], nil
}

func (t *Tx) saveRecord(ctx context.Context, table, id, contactID string, v any, version int64, updated time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s row: %w", table, err)
	}
	_, err = t.exec(ctx, `INSERT INTO `+table+` (id, contact_id, data, version, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, data = excluded.data,
			version = excluded.version, updated_at = excluded.updated_at`,
		id, contactID, string(data), version, micros(updated))
	if err != nil {
		return fmt.Errorf("save %s row: %w", table, err)
	}
	return nil
}

// FindSubscriptionByID returns the subscription, or ENOTFOUND.
func (t *Tx) FindSubscriptionByID(ctx context.Context, id string) (*synclayer.Subscription, error) {
	return findRecord[synclayer.Subscription](ctx, t, "subscriptions", "subscription", id)
}

// FindSubscriptionsByContact returns the contact's subscriptions.
func (t *Tx) FindSubscriptionsByContact(ctx context.Context, contactID string) ([]*synclayer.Subscription, error) {
	if contactID == "" {
		return nil, nil
	}
	return findRecords[synclayer.Subscription](ctx, t, "subscriptions", "contact_id = ? AND contact_id <> '' ORDER BY id", contactID)
}

// SaveSubscription inserts or updates s and bumps its version.
func (t *Tx) SaveSubscription(ctx context.Context, s *synclayer.Subscription) error {
	s.Version++
	return t.saveRecord(ctx, "subscriptions", s.ID, s.ContactID, s, s.Version, s.UpdatedAt)
}

// FindPaymentByID returns the payment, or ENOTFOUND.
func (t *Tx) FindPaymentByID(ctx context.Context, id string) (*synclayer.Payment, error) {
	return findRecord[synclayer.Payment](ctx, t, "payments", "payment", id)
}

// FindPaymentsByContact returns the contact's payments.
func (t *Tx) FindPaymentsByContact(ctx context.Context, contactID string) ([]*synclayer.Payment, error) {
	if contactID == "" {
		return nil, nil
	}
	return findRecords[synclayer.Payment](ctx, t, "payments", "contact_id = ? AND contact_id <> '' ORDER BY id", contactID)
}

// SavePayment inserts or updates p and bumps its version.
func (t *Tx) SavePayment(ctx context.Context, p *synclayer.Payment) error {
	p.Version++
	return t.saveRecord(ctx, "payments", p.ID, p.ContactID, p, p.Version, p.UpdatedAt)
}
