package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"synclayer"
)

// applyTicket keeps the ticket a help desk reported, newer-wins by the
// platform's own update time, links it to the contact its requester
// names (looked up, never created: writing to support makes nobody a
// contact), recomputes that contact's ticket fields, and fires what the
// change was against the ticket held: ticket_created for one nobody
// had seen, ticket_solved when it moved to solved or closed, and
// ticket_updated for any other change. A report older than the held
// ticket, or one that changes nothing, fires nothing.
func (in *Ingester) applyTicket(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	ch := ev.Ticket
	if ch.SourceID == "" {
		return fail(ev, "the ticket has no id")
	}
	if !slices.Contains(synclayer.TicketStatuses, ch.Status) {
		return fail(ev, "the ticket's status %q is not one of %v", ch.Status, synclayer.TicketStatuses)
	}
	if ch.Updated.IsZero() {
		ch.Updated = ev.OccurredAt
	}
	id := synclayer.CanonicalID(ev.Source, ch.SourceID)
	if err := tx.Lock(ctx, "ticket:"+id); err != nil {
		return nil, err
	}
	held, err := tx.FindTicketByID(ctx, id)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		held = nil
	case err != nil:
		return nil, err
	}
	if held != nil && ch.Updated.Before(held.UpdatedAt) {
		ev.Status, ev.Reason = synclayer.EventUnchanged, fmt.Sprintf("stale: the ticket held was updated at %s, after this report (%s)",
			stamp(held.UpdatedAt), stamp(ch.Updated))
		ev.ContactID = held.ContactID
		return nil, nil
	}

	var c *synclayer.Contact
	if ch.Requester != nil && ch.Requester.Identifies() {
		if c, err = in.lookUp(ctx, tx, ev, ch.Requester); err != nil || ev.Status == synclayer.EventFailed {
			return nil, err
		}
	}
	tk := &synclayer.Ticket{ID: id, Source: ev.Source, SourceID: ch.SourceID}
	if held != nil {
		*tk = *held
	}
	if c != nil {
		tk.ContactID = c.ID
		// Found by email: remember the help desk's user id too, since its
		// later reports (Zendesk's ticket events) name only that.
		if r := ch.Requester; r.SourceID != "" && c.SourceIDs[ev.Source] == "" {
			if c.SourceIDs == nil {
				c.SourceIDs = map[string]string{}
			}
			c.SourceIDs[ev.Source] = r.SourceID
			if err := tx.SaveContact(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	if r := ch.Requester; r != nil {
		if e := r.Email(); e != "" {
			tk.RequesterEmail = e
		}
		if r.SourceID != "" {
			tk.RequesterID = r.SourceID
		}
	}
	tk.Subject, tk.Status, tk.Priority, tk.Channel, tk.Tags = ch.Subject, ch.Status, ch.Priority, ch.Channel, slices.Clone(ch.Tags)
	if held == nil || tk.CreatedAt.IsZero() {
		tk.CreatedAt = ch.Created
		if tk.CreatedAt.IsZero() {
			tk.CreatedAt = ch.Updated
		}
	}
	tk.UpdatedAt = ch.Updated
	if ch.Text != "" {
		sum := sha256.Sum256([]byte(ch.Text))
		tk.MessageDigest = hex.EncodeToString(sum[:12])
	}
	solved := synclayer.TicketDone(tk.Status) && (held == nil || !synclayer.TicketDone(held.Status))
	if solved {
		tk.SolvedAt = ch.Updated
	}

	typ := synclayer.EventTicketUpdated
	switch {
	case held == nil:
		typ = synclayer.EventTicketCreated
	case solved:
		typ = synclayer.EventTicketSolved
	case sameTicket(held, tk) && (ch.Text == "" || tk.MessageDigest == held.MessageDigest):
		// The same state again, with no new message: a redelivery under
		// another id, or a change of a field nothing keeps.
		ev.Status, ev.Reason, ev.ContactID = synclayer.EventUnchanged, "the ticket held is the same", tk.ContactID
		return nil, nil
	}
	if err := tx.SaveTicket(ctx, tk); err != nil {
		return nil, err
	}
	ev.Status, ev.ContactID = synclayer.EventApplied, tk.ContactID
	if tk.ContactID == "" {
		ev.Reason = "no contact has the ticket's requester; workflows see the ticket without a contact"
	}

	var skills []string
	for _, contactID := range slices.Compact([]string{heldContact(held), tk.ContactID}) {
		s, err := in.updateTicketFields(ctx, tx, ev, contactID)
		if err != nil {
			return nil, err
		}
		skills = append(skills, s...)
	}
	if tk.ContactID != "" {
		if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: tk.ContactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
			Summary: fmt.Sprintf("%s from %s (%s): ticket %s, %s", typ, ev.Source, ev.Topic, ch.SourceID, tk.Status)}); err != nil {
			return nil, err
		}
	}
	// ticket_created keys its trigger by the ticket, so however many
	// reports call it new, its rules run once; the others by the ticket
	// as changed, so a report sent again under another id runs nothing.
	view := ticketView(tk, ch)
	key := id
	if typ != synclayer.EventTicketCreated {
		key = changeKey(id, view)
	}
	s, err := in.fire(ctx, tx, trigger(ev, typ, key, tk.ContactID, view))
	return append(skills, s...), err
}

func heldContact(t *synclayer.Ticket) string {
	if t == nil {
		return ""
	}
	return t.ContactID
}

// sameTicket reports whether two states of a ticket hold the same values.
func sameTicket(a, b *synclayer.Ticket) bool {
	return a.ContactID == b.ContactID && a.Subject == b.Subject && a.Status == b.Status && a.Priority == b.Priority &&
		a.Channel == b.Channel && slices.Equal(a.Tags, b.Tags) && a.RequesterEmail == b.RequesterEmail && a.RequesterID == b.RequesterID
}

// ticketView is the ticket as rules see it (ticket.subject, ticket.text,
// ticket.status), with the platform's other fields beside it.
func ticketView(t *synclayer.Ticket, ch *synclayer.TicketChange) map[string]any {
	view := map[string]any{}
	for k, raw := range ch.Fields {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			view[k] = v
		}
	}
	tags := make([]any, len(t.Tags))
	for i, tag := range t.Tags {
		tags[i] = tag
	}
	for k, v := range map[string]any{
		"id": t.SourceID, "subject": t.Subject, "text": ch.Text, "status": t.Status, "priority": t.Priority,
		"channel": t.Channel, "tags": tags, "requesterEmail": t.RequesterEmail, "requesterId": t.RequesterID,
		"createdAt": stamp(t.CreatedAt), "updatedAt": stamp(t.UpdatedAt), "solvedAt": stamp(t.SolvedAt),
	} {
		view[k] = v
	}
	return view
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// updateTicketFields recomputes a contact's ticket fields from all its
// tickets and merges them as source "tickets", like the order totals.
func (in *Ingester) updateTicketFields(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, contactID string) ([]string, error) {
	return in.recompute(ctx, tx, ev, contactID, synclayer.TicketsSource, synclayer.TicketFields, "ticket fields recomputed",
		func(c *synclayer.Contact) (*synclayer.CustomerChange, error) {
			tickets, err := tx.FindTicketsByContact(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			return synclayer.SumTickets(tickets).Change(), nil
		})
}
