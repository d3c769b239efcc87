package synclayer

import (
	"context"
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
}

// TriggerSink takes triggers inside the transaction that caused them, so
// a rule's actions are recorded exactly when the change commits.
type TriggerSink interface {
	Fire(ctx context.Context, tx Tx, triggers ...Trigger) error
}

// WorkflowStore reads workflow action runs outside a transaction. (Filled
// in by the workflows work.)
type WorkflowStore interface{}

// WorkflowTx records workflow action runs inside an ingest transaction.
type WorkflowTx interface{}
