package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/store/storetest"
)

func ticketEvent(id, status string, updated time.Time, text string, requester *synclayer.CustomerChange) *synclayer.Event {
	return &synclayer.Event{Source: "zendesk", DedupeKey: fmt.Sprint("t-", dedupe.Add(1)), Topic: "ticket", Type: synclayer.EventTicketUpdated,
		OccurredAt: updated, Ticket: &synclayer.TicketChange{SourceID: id, Requester: requester, Subject: "My order", Text: text,
			Status: status, Priority: "normal", Channel: "email", Tags: []string{"vip"}, Created: c0, Updated: updated}}
}

func byEmail(email string) *synclayer.CustomerChange {
	return &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: json.RawMessage(fmt.Sprintf("%q", email))}}
}

// TestTickets: a help desk's reports of one ticket fire ticket_created
// once, then ticket_updated and ticket_solved as the held ticket moves;
// a stale report fires nothing and changes nothing; the requester's
// contact counts the ticket as open until it is solved, and later
// reports naming only the help desk's user id still find the contact.
func TestTickets(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := triggerIngester(s, rec)
	ctx := context.Background()
	ann := mustIngest(t, in, event("c-1", "ann@example.com", "77", c0))
	rec.take()

	fields := func() (open, last string) {
		t.Helper()
		c, err := s.FindContactByID(ctx, ann.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Value(synclayer.FieldOpenTickets)), string(c.Value(synclayer.FieldLastTicketAt))
	}

	withID := byEmail("ann@example.com")
	withID.SourceID = "zd-user-9"
	r := mustIngest(t, in, ticketEvent("101", synclayer.TicketNew, c0.Add(minute), "I want to cancel", withID))
	got := rec.take()
	if r.ContactID != ann.ContactID || len(got) != 1 || got[0].Type != synclayer.EventTicketCreated || got[0].Key != "zendesk:101" {
		t.Fatalf("new ticket: contact %s, fired %q; want ann's contact and ticket_created zendesk:101", r.ContactID, types(got))
	}
	if got[0].Data["text"] != "I want to cancel" || got[0].Data["status"] != "new" || got[0].Data["requesterEmail"] != "ann@example.com" {
		t.Errorf("ticket view %v", got[0].Data)
	}
	if open, last := fields(); open != "1" || last != `"2026-11-20T10:00:00Z"` {
		t.Errorf("after a new ticket: openTickets %s, lastTicketAt %s; want 1 and the ticket's creation", open, last)
	}

	// The same creation reported again under another id.
	mustIngest(t, in, ticketEvent("101", synclayer.TicketNew, c0.Add(minute), "I want to cancel", withID))
	if got := rec.take(); len(got) != 0 {
		t.Errorf("the creation reported again fired %q", types(got))
	}

	// Later reports name only the help desk's user id.
	onlyID := &synclayer.CustomerChange{SourceID: "zd-user-9"}
	mustIngest(t, in, ticketEvent("101", synclayer.TicketPending, c0.Add(3*minute), "", onlyID))
	if got := rec.take(); len(got) != 1 || got[0].Type != synclayer.EventTicketUpdated || got[0].ContactID != ann.ContactID {
		t.Fatalf("pending: fired %q for %v; want ticket_updated for ann", types(got), got)
	}
	// A report older than the ticket held changes nothing.
	stale := mustIngest(t, in, ticketEvent("101", synclayer.TicketSolved, c0.Add(2*minute), "", onlyID))
	if got := rec.take(); len(got) != 0 || stale.Status != synclayer.EventUnchanged || !strings.Contains(stale.Reason, "stale") {
		t.Errorf("stale solve: fired %q, status %s (%s); want nothing, unchanged as stale", types(got), stale.Status, stale.Reason)
	}
	if open, _ := fields(); open != "1" {
		t.Errorf("after a stale solve: openTickets %s, want 1", open)
	}

	mustIngest(t, in, ticketEvent("101", synclayer.TicketSolved, c0.Add(4*minute), "", onlyID))
	if got := rec.take(); len(got) != 1 || got[0].Type != synclayer.EventTicketSolved || got[0].Data["solvedAt"] != "2026-11-20T10:04:00Z" {
		t.Fatalf("solve: fired %q (%v); want ticket_solved", types(got), got)
	}
	if open, _ := fields(); open != "0" {
		t.Errorf("after the solve: openTickets %s, want 0", open)
	}
	// Solved again later (a tag changed): an update, not a second solve.
	mustIngest(t, in, ticketEvent("101", synclayer.TicketClosed, c0.Add(5*minute), "", onlyID))
	if got := types(rec.take()); len(got) != 1 || !strings.HasPrefix(got[0], "ticket_updated zendesk:101@") {
		t.Errorf("closing a solved ticket fired %q, want one ticket_updated", got)
	}
}

// TestTickets_UnknownRequester: a ticket from nobody the store holds makes
// no contact; its rules still run, without one.
func TestTickets_UnknownRequester(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := triggerIngester(s, rec)
	r := mustIngest(t, in, ticketEvent("7", synclayer.TicketOpen, c0, "hello", byEmail("nobody@example.com")))
	got := rec.take()
	if r.ContactID != "" || r.Status != synclayer.EventApplied || len(got) != 1 || got[0].Type != synclayer.EventTicketCreated || got[0].ContactID != "" {
		t.Fatalf("unknown requester: %+v, fired %q", r, types(got))
	}
	if cs, err := s.FindContacts(context.Background(), synclayer.ContactFilter{}); err != nil || len(cs) != 0 {
		t.Errorf("contacts after a stranger's ticket: %d, %v; want none", len(cs), err)
	}
	bad := ticketEvent("8", "escalated", c0, "", nil)
	if r := mustIngest(t, in, bad); r.Status != synclayer.EventFailed || !strings.Contains(r.Reason, "status") {
		t.Errorf("unknown status: %+v, want failed naming the status", r)
	}
	if got := rec.take(); !slices.Equal(types(got), nil) {
		t.Errorf("failed ticket fired %q", types(got))
	}
}
