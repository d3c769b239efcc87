package synclayer

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// Ticket events beyond ticket_created (activity.go). Which of the three a
// help desk's report fires is decided by ingest against the ticket it
// holds, not by what the platform called its webhook: a report of a
// ticket nobody has seen is its creation, one that moves it to solved or
// closed is its solving, any other change an update, and a report older
// than the ticket held fires nothing.
const (
	EventTicketUpdated EventType = "ticket_updated"
	EventTicketSolved  EventType = "ticket_solved"
)

// Canonical ticket statuses. Help desks name theirs differently (Zendesk's
// "hold", Freshdesk's numbered statuses); each source maps its own.
const (
	TicketNew     = "new"
	TicketOpen    = "open"
	TicketPending = "pending"
	TicketOnHold  = "on_hold"
	TicketSolved  = "solved"
	TicketClosed  = "closed"
)

// TicketStatuses are the canonical statuses, in their usual order.
var TicketStatuses = []string{TicketNew, TicketOpen, TicketPending, TicketOnHold, TicketSolved, TicketClosed}

// TicketDone reports whether a status ends the requester's wait: solved or
// closed. An open-tickets count leaves these out.
func TicketDone(status string) bool { return status == TicketSolved || status == TicketClosed }

// Contact fields kept from a contact's tickets, recomputed on every ticket
// change like the order totals, and merged as source TicketsSource: the
// tickets still waiting on the shop, and when the latest was opened.
const (
	FieldOpenTickets  = "openTickets"
	FieldLastTicketAt = "lastTicketAt"
)

// TicketsSource is the source of the contact fields computed from tickets.
const TicketsSource = "tickets"

// TicketFields are the contact fields computed from tickets.
var TicketFields = []string{FieldOpenTickets, FieldLastTicketAt}

// Ticket is the canonical record of one help desk ticket: the state its
// help desk last reported, newer-wins by the platform's own update time.
// It keeps what rules and mappings use, not the conversation: a
// message's text reaches the workflow that fires on it and nothing
// stores it.
type Ticket struct {
	ID        string `json:"id"`        // CanonicalID(Source, SourceID)
	Source    string `json:"source"`    // the source block it came from
	SourceID  string `json:"sourceId"`  // the help desk's ticket id
	ContactID string `json:"contactId"` // "" while nobody matches the requester
	// RequesterEmail and RequesterID name who opened it: the email where
	// the platform sends one, and the platform's own user id.
	RequesterEmail string    `json:"requesterEmail,omitempty"`
	RequesterID    string    `json:"requesterId,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	Status         string    `json:"status"` // one of TicketStatuses
	Priority       string    `json:"priority,omitempty"`
	Channel        string    `json:"channel,omitempty"` // email, web, chat, api, ...
	Tags           []string  `json:"tags,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	SolvedAt       time.Time `json:"solvedAt,omitzero"` // when it last became solved or closed
	// MessageDigest is a digest of the last message a report carried, so
	// the same message reported again is told from a new one without the
	// text being kept.
	MessageDigest string `json:"messageDigest,omitempty"`
	Version       int64  `json:"version"`
}

// TicketChange is what one help desk report says of a ticket: its whole
// state as of UpdatedAt (every help desk this reads sends the ticket
// whole), and the message that came with it, if any.
type TicketChange struct {
	SourceID  string          `json:"sourceId"`
	Requester *CustomerChange `json:"requester,omitempty"` // email, and the platform's user id as SourceID
	Subject   string          `json:"subject,omitempty"`
	// Text is the message the report carries (the first message of a
	// new ticket, or a comment): for workflow filters, never stored.
	Text     string    `json:"text,omitempty"`
	Status   string    `json:"status"`
	Priority string    `json:"priority,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Created  time.Time `json:"createdAt,omitzero"`
	Updated  time.Time `json:"updatedAt"`
	// Fields are the rest of what the platform sent that a rule may
	// read (ticket.type, ticket.group), in JSON types.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
}

// TicketTx is the part of an ingest transaction that writes tickets.
type TicketTx interface {
	// FindTicketByID returns the ticket, or ENOTFOUND.
	FindTicketByID(ctx context.Context, id string) (*Ticket, error)
	// FindTicketsByContact returns the contact's tickets, oldest first.
	FindTicketsByContact(ctx context.Context, contactID string) ([]*Ticket, error)
	// SaveTicket inserts or updates t and bumps its version.
	SaveTicket(ctx context.Context, t *Ticket) error
}

// TicketTotals are the contact fields its tickets give.
type TicketTotals struct {
	Open   int
	LastAt time.Time // the latest ticket's creation; zero without tickets
}

// SumTickets computes a contact's ticket fields from all its tickets.
func SumTickets(tickets []*Ticket) TicketTotals {
	var t TicketTotals
	for _, tk := range tickets {
		if !TicketDone(tk.Status) {
			t.Open++
		}
		if tk.CreatedAt.After(t.LastAt) {
			t.LastAt = tk.CreatedAt
		}
	}
	return t
}

// Change returns the totals as a change to the contact's ticket fields.
func (t TicketTotals) Change() *CustomerChange {
	f := map[string]json.RawMessage{FieldOpenTickets: json.RawMessage(strconv.Itoa(t.Open))}
	if !t.LastAt.IsZero() {
		f[FieldLastTicketAt], _ = json.Marshal(t.LastAt.UTC().Format(time.RFC3339))
	}
	return &CustomerChange{Fields: f}
}
