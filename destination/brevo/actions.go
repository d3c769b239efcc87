package brevo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

var _ synclayer.ActionDestination = (*Destination)(nil)

// WithClient is a Brevo destination named name on client, for callers
// that built the client themselves (tests, CLI commands).
func WithClient(name string, client *Client) *Destination {
	return &Destination{name: name, client: client}
}

// SendContactEvent is POST /events, the contact named by email and ext_id.
func (d *Destination) SendContactEvent(ctx context.Context, ev synclayer.ContactEvent) error {
	e := Event{Name: ev.Name, Identifiers: EventIdentifiers{EmailID: ev.Email, ExtID: ev.ContactID}, Properties: ev.Properties}
	if !ev.At.IsZero() && ev.At.Year() > 1 {
		e.Date = ev.At.UTC().Format(time.RFC3339)
	}
	return d.client.SendEvent(ctx, e)
}

// SetContactFields updates the contact's attributes by its ext_id, which
// customer-sync gives every contact it creates, so an email changed
// meanwhile does not lose the update.
func (d *Destination) SetContactFields(ctx context.Context, contactID string, fields map[string]any) error {
	return notYetInBrevo(d.client.UpdateContact(ctx, contactID, IdentifierExtID, UpdateContactRequest{Attributes: fields}))
}

// EnsureContactFields creates the attributes the account lacks, since
// Brevo drops unknown attributes without an error.
func (d *Destination) EnsureContactFields(ctx context.Context, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	have, err := d.client.ListAttributes(ctx)
	if err != nil {
		return fmt.Errorf("list Brevo contact attributes: %w", err)
	}
	exists := map[string]bool{}
	for _, a := range have {
		exists[strings.ToUpper(a.Name)] = true
	}
	for name, typ := range fields {
		if exists[name] {
			continue
		}
		if err := d.client.CreateAttribute(ctx, "normal", name, typ); err != nil && !attributeExists(err) {
			return fmt.Errorf("create Brevo attribute %s: %w", name, err)
		}
	}
	return nil
}

// AddContactToList links the contact to Brevo list list (a number).
func (d *Destination) AddContactToList(ctx context.Context, contactID, list string) error {
	id, err := strconv.ParseInt(list, 10, 64)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("brevo: list %q is not a Brevo list ID", list))
	}
	return notYetInBrevo(d.client.UpdateContact(ctx, contactID, IdentifierExtID, UpdateContactRequest{ListIDs: []int64{id}}))
}

// RemoveContactFromList unlinks the contact from Brevo list list.
func (d *Destination) RemoveContactFromList(ctx context.Context, contactID, list string) error {
	id, err := strconv.ParseInt(list, 10, 64)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("brevo: list %q is not a Brevo list ID", list))
	}
	return notYetInBrevo(d.client.UpdateContact(ctx, contactID, IdentifierExtID, UpdateContactRequest{UnlinkListIDs: []int64{id}}))
}

// attributeExists reports whether Brevo refused to create an attribute
// because it exists: another instance, or another skill, created it after
// the list was read. That is the state wanted, not a (permanent) failure.
func attributeExists(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && e.Code == "duplicate_parameter"
}

// notYetInBrevo turns Brevo's 404 for a contact into a retry: the
// contact is created by customer-sync, whose job may not have run yet.
func notYetInBrevo(err error) error {
	if IsNotFound(err) {
		return synclayer.RetryAfter(errors.New("the contact is not in Brevo yet; retrying once customer-sync has created it"), 30*time.Second)
	}
	return err
}
