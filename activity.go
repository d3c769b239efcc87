package synclayer

import "encoding/json"

// Activity events: things a person did that are neither a profile change
// nor an order, product or cart.
const (
	EventTicketCreated      EventType = "ticket_created"
	EventLoyaltyTierChanged EventType = "loyalty_tier_changed"
	EventFormSubmitted      EventType = "form_submitted"
)

// Activity is what a ticket, loyalty or form event says. Fields holds
// everything the event carried, in JSON types, as workflows see it under
// the trigger's noun (ticket.subject, loyalty.tier, form.form). Customer
// is what it says about the person: the email for a ticket, the tier for
// a loyalty change, the lead's name, phone and consent for a form.
type Activity struct {
	Kind     EventType                  `json:"kind"`
	ID       string                     `json:"id,omitempty"` // the ticket's ID; "" for the others
	Fields   map[string]json.RawMessage `json:"fields"`
	Customer *CustomerChange            `json:"customer,omitempty"`
}
