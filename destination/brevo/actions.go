package brevo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
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

// CheckAction holds a contact action to Brevo's rules: event names of 1
// to 255 letters, digits, '_' or '-'; upper-case attribute names, not the
// identifiers EMAIL, SMS and EXT_ID; numeric list IDs.
func (d *Destination) CheckAction(a synclayer.ActionCheck) error {
	switch a.Kind {
	case "event", "brevo_event":
		if !eventNameRE.MatchString(a.EventName) {
			return synclayer.FieldErrorf("name", "must be 1 to 255 letters, digits, '_' or '-', as Brevo requires of event names")
		}
	case "set_attribute":
		for _, name := range a.Fields {
			if !attributeRE.MatchString(name) || reservedAttr[name] {
				return synclayer.FieldErrorf(name, "must be an upper-case Brevo attribute name such as CHURN_RISK, and not EMAIL, SMS or EXT_ID")
			}
		}
	case "add_to_list", "remove_from_list":
		if id, err := strconv.ParseInt(a.List, 10, 64); err != nil || id <= 0 {
			return synclayer.FieldErrorf("", "must be a Brevo list ID, a number above 0")
		}
	}
	return nil
}

var (
	eventNameRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	attributeRE  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,49}$`)
	reservedAttr = map[string]bool{"EMAIL": true, "SMS": true, "EXT_ID": true}
)

// SendContactEvent is POST /events, the contact named by email and
// ext_id. Brevo events take no idempotency key (decision 0010).
func (d *Destination) SendContactEvent(ctx context.Context, c synclayer.ContactRef, ev synclayer.ContactEvent) error {
	e := Event{Name: ev.Name, Identifiers: EventIdentifiers{EmailID: c.Email, ExtID: c.ID}, Properties: ev.Properties}
	if !ev.At.IsZero() && ev.At.Year() > 1 {
		e.Date = ev.At.UTC().Format(time.RFC3339)
	}
	return d.client.SendEvent(ctx, e)
}

// SetContactFields updates the contact's attributes by its ext_id, which
// customer-sync gives every contact it creates, so an email changed
// meanwhile does not lose the update.
func (d *Destination) SetContactFields(ctx context.Context, c synclayer.ContactRef, fields map[string]any) error {
	return notYetInBrevo(d.client.UpdateContact(ctx, c.ID, IdentifierExtID, UpdateContactRequest{Attributes: fields}))
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
func (d *Destination) AddContactToList(ctx context.Context, c synclayer.ContactRef, list string) error {
	id, err := strconv.ParseInt(list, 10, 64)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("brevo: list %q is not a Brevo list ID", list))
	}
	return notYetInBrevo(d.client.UpdateContact(ctx, c.ID, IdentifierExtID, UpdateContactRequest{ListIDs: []int64{id}}))
}

// RemoveContactFromList unlinks the contact from Brevo list list.
func (d *Destination) RemoveContactFromList(ctx context.Context, c synclayer.ContactRef, list string) error {
	id, err := strconv.ParseInt(list, 10, 64)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("brevo: list %q is not a Brevo list ID", list))
	}
	return notYetInBrevo(d.client.UpdateContact(ctx, c.ID, IdentifierExtID, UpdateContactRequest{UnlinkListIDs: []int64{id}}))
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
