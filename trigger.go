package synclayer

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Trigger is one occurrence of a canonical event that workflows may start
// on: an order created, a cart abandoned, a ticket opened.
type Trigger struct {
	Type EventType // order_created, cart_abandoned, ticket_created, ...
	// Key is unique per occurrence, whatever delivered it: the order ID for
	// order_created, the cart ID and abandonment for cart_abandoned. A
	// rule's action fires once per rule, action and Key, so a webhook
	// delivered three times, or replayed, fires it once.
	Key       string
	EventID   string // the event that caused it, for the trace; "" for one found by a skill
	ContactID string // "" when nobody is identified
	At        time.Time
	// Data is the object filters and templates see under the trigger's
	// noun ("order", "cart", "ticket", ...), in JSON types.
	Data map[string]any
	// Source is the source of the event that caused it ("shopify", ...);
	// filters see it as event.source.
	Source string
}

// TriggerSink takes triggers inside the transaction that caused them, so
// a rule's actions are recorded exactly when the change commits.
type TriggerSink interface {
	Fire(ctx context.Context, tx Tx, triggers ...Trigger) error
}

// Triggers that are not events of their own: ingest finds them in the
// change an event makes to a contact.
const (
	EventContactCreated EventType = "contact_created" // a contact was created, by any event
	EventContactUpdated EventType = "contact_updated" // an event changed a contact
	EventConsentChanged EventType = "consent_changed" // an event changed a contact's consent state
	// EventFieldConflict is a change to a field another system owns
	// (fields.<name>.owner), refused: for alerting on a system that keeps
	// editing what it does not own.
	EventFieldConflict EventType = "field_conflict"
)

// WorkflowSkill is the queue's skill name for workflow actions: each job
// runs one WorkflowAction, named by its ID in the job's record key.
const WorkflowSkill = "workflows"

// FieldWorkflowTags holds the tags workflows gave a contact (add_tag). It
// is kept apart from the sources' own tags, which a source replaces
// whole, and customer-sync sends the union of both (Contact.AllTags).
const FieldWorkflowTags = "workflowTags"

// AllTags returns the contact's tags: the sources' and the workflows',
// each once, in the order first seen.
func (c *Contact) AllTags() []string {
	var out []string
	for _, f := range []string{FieldTags, FieldWorkflowTags} {
		var tags []string
		_ = json.Unmarshal(c.Value(f), &tags)
		for _, t := range tags {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// WorkflowAction is one action of one rule for one trigger: a row made in
// the transaction that fired the trigger, unique on (Rule, Action,
// TriggerType, TriggerKey), and run by a WorkflowSkill job. View is what the rule's
// filter saw, kept so that a retry days later sends what the trigger
// said then.
type WorkflowAction struct {
	ID     int64  `json:"id"`
	Rule   string `json:"rule"`
	Action int    `json:"action"` // index in the rule's actions
	Kind   string `json:"kind"`   // slack, webhook, brevo_event, set_attribute, ...
	// Fingerprint identifies the action's config (its secrets left out)
	// when the row was made, so the row still finds its action after the
	// rule's actions are reordered; "" for rows made before it existed.
	Fingerprint string          `json:"fingerprint,omitempty"`
	TriggerType EventType       `json:"triggerType"`
	TriggerKey  string          `json:"triggerKey"`
	EventID     string          `json:"eventId,omitempty"`
	ContactID   string          `json:"contactId,omitempty"`
	View        json.RawMessage `json:"view"`
	CreatedAt   time.Time       `json:"createdAt"`
}

// WorkflowActionFilter selects workflow actions for listing.
type WorkflowActionFilter struct {
	Rule       string
	TriggerKey string
	ContactID  string
	Limit      int
}

// WorkflowStore reads workflow action runs outside a transaction.
type WorkflowStore interface {
	// FindWorkflowAction returns an action row, or ENOTFOUND.
	FindWorkflowAction(ctx context.Context, id int64) (*WorkflowAction, error)
	// FindWorkflowActions returns action rows matching f, newest first.
	FindWorkflowActions(ctx context.Context, f WorkflowActionFilter) ([]*WorkflowAction, error)
	// CountWorkflowActions counts the rows of rule's action whose config
	// has fingerprint, recorded before row beforeID: an assign_owner's
	// round-robin turn.
	CountWorkflowActions(ctx context.Context, rule, fingerprint string, beforeID int64) (int, error)
}

// WorkflowTx records workflow action runs inside an ingest transaction.
type WorkflowTx interface {
	// AddWorkflowAction inserts a, assigning its ID. It reports false, and
	// writes nothing, when the row for the same rule, action, trigger type
	// and key exists: the trigger fired before.
	AddWorkflowAction(ctx context.Context, a *WorkflowAction) (added bool, err error)
}
