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
	Activity   *Activity       `json:"activity,omitempty"` // activity.go: tickets, loyalty tiers, forms
	Payload    json.RawMessage `json:"-"`

	Status    EventStatus `json:"status,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	ContactID string      `json:"contactId,omitempty"`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
