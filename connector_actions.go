package synclayer

import (
	"context"
	"time"
)

// ActionDestination is a destination workflow rules' contact actions act
// on: an event on the contact (event, or its older name brevo_event),
// fields to set (set_attribute), list membership (add_to_list,
// remove_from_list). The workflow package renders the action's
// templates, checks consent before an add, and runs each action once per
// trigger and destination; the destination checks the action's settings
// at load and makes the call.
type ActionDestination interface {
	Destination
	// CheckAction says whether the destination can carry out an action
	// as configured: its event name, field names and list in the
	// platform's terms. The error names what is wrong and how to fix it.
	CheckAction(a ActionCheck) error
	// SendContactEvent records a custom event on the contact.
	SendContactEvent(ctx context.Context, c ContactRef, ev ContactEvent) error
	// SetContactFields sets fields on the contact the destination holds.
	// A contact it does not hold yet is a RetryAfter error: customer-sync
	// creates it, and the action runs once it has.
	SetContactFields(ctx context.Context, c ContactRef, fields map[string]any) error
	// EnsureContactFields creates the fields (name → text, float, boolean
	// or date) the destination lacks, since some drop unknown ones
	// silently.
	EnsureContactFields(ctx context.Context, fields map[string]string) error
	// AddContactToList and RemoveContactFromList change the contact's
	// membership of list (a Brevo list ID, a Klaviyo list ID, a Mailchimp
	// tag), as RetryAfter when the contact is not there yet.
	AddContactToList(ctx context.Context, c ContactRef, list string) error
	RemoveContactFromList(ctx context.Context, c ContactRef, list string) error
}

// ContactRef names the contact an action acts on: our ID (the
// destination's external ID) and the email it is known by.
type ContactRef struct {
	ID    string
	Email string
}

// ActionCheck is an action's settings, for CheckAction.
type ActionCheck struct {
	Kind      string   // event (the workflow package passes brevo_event as event), set_attribute, add_to_list, remove_from_list
	EventName string   // an event's name
	Fields    []string // set_attribute's field names
	List      string   // a list action's list
}

// ContactEvent is one custom event on a contact.
type ContactEvent struct {
	Name       string
	At         time.Time // zero: now
	Properties map[string]any
	// Key is unique to this action's run for this trigger, for platforms
	// that deduplicate events by an ID, so a retry counts once.
	Key string
}
