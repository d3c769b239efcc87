package synclayer

// Cart events, whatever the platform called them.
const (
	EventCartUpdated       EventType = "cart_updated"
	EventCartAbandoned     EventType = "cart_abandoned"
	EventCheckoutCompleted EventType = "checkout_completed"
)

// CartChange is what one event says about a cart. (Filled in by the
// cart-events work.)
type CartChange struct{}

// CartStore reads canonical carts outside a transaction.
type CartStore interface{}

// CartTx is the part of an ingest transaction that writes carts.
type CartTx interface{}
