// Package conformance names what every destination's simulator shows the
// destination conformance suite (cmd/synclayer's conformance_test.go):
// the sample records every integration must be tried with run against
// each registered destination through the real program, and each case
// asserts the simulator's final state and the requests it received.
//
// A destination takes part by having its Destination, when it runs its
// built-in simulator, implement Subject. It is imported by destination
// packages and tests only; it holds no behaviour.
package conformance

import "net/http"

// Subject is a destination running its built-in simulator, as the suite
// sees it.
type Subject interface {
	Conformance() Target
}

// Target is one destination simulator, in the suite's terms.
type Target interface {
	// Options are customer-sync options naming what exists in the
	// simulator's account (a list, an audience).
	Options() map[string]any
	// Mapping is customer-sync's field mapping for email, firstName and
	// lastName on this platform.
	Mapping() map[string]string
	// Contact is what the destination holds for email; nil when it holds
	// nothing. A soft-deleted (archived, unlisted) contact is returned
	// with Deleted set.
	Contact(email string) *Contact
	// Writes counts the requests received that change contacts (creates,
	// updates, deletes, subscriptions), whatever their answer.
	Writes() int
	// Throttled counts the 429 answers given.
	Throttled() int
	// SetOutage answers every request with a 5xx while on.
	SetOutage(on bool)
	// SetRateLimit makes the simulator accept at most about n requests a
	// second (or n at once, where the platform limits connections), and
	// answer 429 beyond; 0 restores the default.
	SetRateLimit(n int)
	// UnsubscribeInside unsubscribes email as the platform's own
	// unsubscribe link would, without synclayer.
	UnsubscribeInside(email string)
	// Validate checks every later request with v (the platform's OpenAPI
	// spec, in tests); a request it refuses is answered 400 and kept in
	// Violations.
	Validate(v func(r *http.Request, body []byte) error)
	Violations() []string
}

// Marketing is a contact's email marketing status at the destination.
type Marketing string

const (
	Subscribed    Marketing = "subscribed"     // may be sent campaigns
	NotSubscribed Marketing = "not_subscribed" // known, never opted in (transactional only)
	Unsubscribed  Marketing = "unsubscribed"   // opted out, blocklisted or suppressed
	Pending       Marketing = "pending"        // asked to confirm (double opt-in)
)

// Contact is what a destination holds for one person.
type Contact struct {
	Email     string
	FirstName string
	LastName  string
	Marketing Marketing
	Deleted   bool
}

// CommerceTarget is a simulator of a destination that takes orders,
// products and carts, in the suite's terms. A Target whose destination
// runs order-events, product-catalog and cart-events implements it too.
type CommerceTarget interface {
	// CommerceOptions are the commerce skills' options naming what exists
	// in the simulator's account (a Mailchimp store and audience).
	CommerceOptions() map[string]any
	// Order is what the destination holds of order id (the canonical ID,
	// "shopify:1001"); nil when it holds nothing of it.
	Order(id string) *Order
	// Product is the name the destination holds for product id (the
	// canonical ID); "" when it holds none.
	Product(id string) string
	// Abandonments counts the abandonment signals the destination got for
	// cart id: events, or carts pushed for its own automation.
	Abandonments(cartID string) int
	// CommerceWrites counts the requests that wrote orders, products or
	// carts, whatever their answer.
	CommerceWrites() int
}

// Order is what a destination holds of one order.
type Order struct {
	Amount    string // what the buyer paid and kept, as the destination holds it
	Cancelled bool
}

// BatchTarget is a simulator whose destination takes contacts in batch
// calls (imports, bulk jobs, batch operations).
type BatchTarget interface {
	// BatchCalls counts the batch calls received and the contacts in them.
	BatchCalls() (calls, contacts int)
}
