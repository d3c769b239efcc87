package synclayer

import (
	"encoding/json"
	"slices"
	"time"
)

// EventType is a canonical event, whatever the platform called it.
type EventType string

const (
	EventCustomerCreated EventType = "customer_created"
	EventCustomerUpdated EventType = "customer_updated"
	EventCustomerDeleted EventType = "customer_deleted"
)

// EventStatus is where an event stands after ingest.
type EventStatus string

const (
	EventApplied   EventStatus = "applied"   // merged into the store, delivery enqueued
	EventUnchanged EventStatus = "unchanged" // merged, but nothing changed
	EventFailed    EventStatus = "failed"    // genuine, but cannot be synced; Reason says why
)

// Event is one verified, normalized event from a source. The raw payload is
// kept so a failed event can be inspected and replayed.
type Event struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DedupeKey  string          `json:"dedupeKey"` // the platform's delivery or event id
	Topic      string          `json:"topic"`     // as the platform named it
	Type       EventType       `json:"type"`
	OccurredAt time.Time       `json:"occurredAt"` // the source's own time of the change
	ReceivedAt time.Time       `json:"receivedAt"`
	Customer   *CustomerChange `json:"customer,omitempty"`
	Order      *OrderChange    `json:"order,omitempty"`
	Product    *ProductChange  `json:"product,omitempty"`
	Cart       *CartChange     `json:"cart,omitempty"`     // cart.go
	Activity   *Activity       `json:"activity,omitempty"` // activity.go: loyalty tiers, forms, the custom source's tickets
	Ticket     *TicketChange   `json:"ticket,omitempty"`   // ticket.go: a help desk's ticket
	Billing    *BillingChange  `json:"billing,omitempty"`  // billing.go: a payment provider's subscription or payment
	Fetch      *FetchRef       `json:"fetch,omitempty"`    // fetch.go: a notification that a record is to be read from its platform
	Payload    json.RawMessage `json:"-"`

	Status    EventStatus `json:"status,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	ContactID string      `json:"contactId,omitempty"`
	// Ignored are the parts of the event the rules did not apply though
	// the sender meant them (an opt-in from a source that is not a
	// consent source), for the webhook's answer: a sender who sees only
	// "applied" would think the person is on the list.
	Ignored []Ignored `json:"ignored,omitempty"`
}

// Ignored is one part of an event that was not applied, and why.
type Ignored struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ManualSource is the source of the events the trigger command and API
// send. Its opt-ins count only where a skill lists it in consent_sources.
const ManualSource = "manual"
