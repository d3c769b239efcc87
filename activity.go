package synclayer

// Activity events: things a person did that are neither a profile change
// nor an order, product or cart.
const (
	EventTicketCreated      EventType = "ticket_created"
	EventLoyaltyTierChanged EventType = "loyalty_tier_changed"
	EventFormSubmitted      EventType = "form_submitted"
)

// Activity is what a ticket, loyalty or form event says. (Filled in by the
// workflows work.)
type Activity struct{}
