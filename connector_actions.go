package synclayer

import (
	"context"
	"time"
)

// ActionDestination is a destination workflow rules' contact actions act
// on: brevo_event sends a ContactEvent, set_attribute sets fields,
// add_to_list and remove_from_list change list membership. The workflow
// package renders the action's templates, checks consent before an add,
// and runs each action once per trigger; the destination makes the call.
type ActionDestination interface {
	Destination
	// SendContactEvent records a custom event on the contact.
	SendContactEvent(ctx context.Context, ev ContactEvent) error
	// SetContactFields sets fields on the contact the destination holds
	// for contactID. A contact it does not hold yet is a RetryAfter error:
	// customer-sync creates it, and the action runs once it has.
	SetContactFields(ctx context.Context, contactID string, fields map[string]any) error
	// EnsureContactFields creates the fields (name → text, float, boolean
	// or date) the destination lacks, since some drop unknown ones
	// silently.
	EnsureContactFields(ctx context.Context, fields map[string]string) error
	// AddContactToList and RemoveContactFromList change the contact's
	// membership of list, as RetryAfter when the contact is not there yet.
	AddContactToList(ctx context.Context, contactID, list string) error
	RemoveContactFromList(ctx context.Context, contactID, list string) error
}

// ContactEvent is one custom event on a contact.
type ContactEvent struct {
	Name       string
	ContactID  string // our ID, the destination's external ID
	Email      string
	At         time.Time // zero: now
	Properties map[string]any
}
