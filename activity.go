package synclayer

import "encoding/json"

// Activity events: things a person did that are neither a profile change
// nor an order, product or cart.
const (
	EventTicketCreated      EventType = "ticket_created"
	EventLoyaltyTierChanged EventType = "loyalty_tier_changed"
	EventFormSubmitted      EventType = "form_submitted"

	// What a marketing platform reports of a person's email, by webhook
	// (InboundDestination). Each carries an opt-out in Customer, and the
	// campaign and reason in Fields.
	EventEmailUnsubscribed EventType = "email_unsubscribed" // clicked unsubscribe
	EventEmailBounced      EventType = "email_bounced"      // a hard bounce: the address does not exist
	EventEmailComplained   EventType = "email_complained"   // marked a mail as spam
	// EventContactRemoved is a contact deleted inside a destination. It is
	// recorded in the contact's trace and changes nothing: deleting a
	// marketing contact is no reason to delete the shop's customer.
	EventContactRemoved EventType = "contact_removed"
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
