package store

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

var _ synclayer.TicketTx = (*Tx)(nil)

func (t *Tx) findTickets(ctx context.Context, where string, args ...any) ([]*synclayer.Ticket, error) {
	rows, err := t.tx.QueryContext(ctx, t.s.q("SELECT id, data FROM tickets WHERE "+where), args...)
	if err != nil {
		return nil, fmt.Errorf("find tickets: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Ticket
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("find tickets: %w", err)
		}
		tk := &synclayer.Ticket{}
		if err := json.Unmarshal([]byte(data), tk); err != nil {
			return nil, fmt.Errorf("decode ticket %s: %w", id, err)
		}
		tk.ID = id
		out = append(out, tk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find tickets: %w", err)
	}
	return out, nil
}

// FindTicketByID returns the ticket, or ENOTFOUND.
func (t *Tx) FindTicketByID(ctx context.Context, id string) (*synclayer.Ticket, error) {
	tickets, err := t.findTickets(ctx, "id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(tickets) == 0 {
		return nil, notFound("ticket")
	}
	return tickets[0], nil
}

// FindTicketsByContact returns the contact's tickets in the order they
// were first stored.
func (t *Tx) FindTicketsByContact(ctx context.Context, contactID string) ([]*synclayer.Ticket, error) {
	if contactID == "" {
		return nil, nil
	}
	return t.findTickets(ctx, "contact_id = ? AND contact_id <> '' ORDER BY id", contactID)
}

// SaveTicket inserts or updates tk and bumps its version.
func (t *Tx) SaveTicket(ctx context.Context, tk *synclayer.Ticket) error {
	tk.Version++
	data, err := json.Marshal(tk)
	if err != nil {
		return fmt.Errorf("encode ticket: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO tickets (id, contact_id, data, version, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, data = excluded.data,
			version = excluded.version, updated_at = excluded.updated_at`,
		tk.ID, tk.ContactID, string(data), tk.Version, micros(tk.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save ticket: %w", err)
	}
	return nil
}
