package synclayer

import (
	"context"
	"encoding/json"
	"time"
)

// Cart events, whatever the platform called them.
const (
	EventCartUpdated       EventType = "cart_updated"
	EventCartAbandoned     EventType = "cart_abandoned"
	EventCheckoutCompleted EventType = "checkout_completed"
)

// ConvertedByCheckout is a cart's ConvertedBy when the platform said the
// checkout completed without naming the order.
const ConvertedByCheckout = "checkout_completed"

// Cart is the one canonical record of a shopping cart (a Shopify
// checkout, a plugin's cart). It is kept so that an abandoned cart can be
// told apart from one that became an order once the wait is over.
type Cart struct {
	ID          string      `json:"id,omitempty"` // CanonicalID(Source, SourceID)
	Source      string      `json:"source,omitempty"`
	SourceID    string      `json:"sourceId"`            // the cart or checkout token
	ContactID   string      `json:"contactId,omitempty"` // by identity resolution; "" when nothing identifies the buyer
	Items       []OrderItem `json:"items"`
	Total       Money       `json:"total"`
	Currency    string      `json:"currency,omitempty"`    // ISO 4217
	RecoveryURL string      `json:"recoveryUrl,omitempty"` // where the buyer picks the cart up again
	UpdatedAt   time.Time   `json:"updatedAt"`             // the source's own time; decides newer-wins
	// ChangedAt is when synclayer received the last change to what the
	// cart holds: the wait before it counts as abandoned starts there,
	// on synclayer's clock, so a platform's skewed clock cannot cut it.
	ChangedAt time.Time `json:"changedAt,omitzero"`
	// AbandonedAt is when the platform itself said the cart was abandoned
	// (cart_abandoned), which ends the wait at once; zero otherwise.
	AbandonedAt time.Time `json:"abandonedAt,omitzero"`
	// ConvertedAt is when an order (ConvertedBy, its canonical ID, or
	// ConvertedByCheckout) was seen for the cart. A converted cart is
	// never abandoned, and stays converted.
	ConvertedAt time.Time `json:"convertedAt,omitzero"`
	ConvertedBy string    `json:"convertedBy,omitempty"`
	Version     int64     `json:"version,omitempty"`
}

// ConversionSkew is how long before a cart's last update an order of its
// contact may have been placed and still count as placed from the cart.
// The two times come from different clocks, often of different precision
// (a cart plugin's updated_at in milliseconds, a shop's created_at in
// whole seconds), and a cart's last update is commonly sent as checkout
// starts, moments before the order: comparing them exactly calls the
// buyer's cart abandoned.
const ConversionSkew = 2 * time.Minute

// PlacedFrom reports whether order o counts as placed from cart c, by
// contact: o belongs to c's contact and was placed at or after c's last
// update, give or take ConversionSkew. (An order naming the cart's token
// converts it whatever its time.)
func (c *Cart) PlacedFrom(o *Order) bool {
	return c.ContactID != "" && o.ContactID == c.ContactID && !o.CreatedAt.Before(c.UpdatedAt.Add(-ConversionSkew))
}

// Converted reports whether an order was seen for the cart.
func (c *Cart) Converted() bool { return !c.ConvertedAt.IsZero() }

// SameContent reports whether c and d hold the same things for the same
// buyer: items, total, currency, recovery URL and contact. Times, the
// version and the conversion are left out.
func (c *Cart) SameContent(d *Cart) bool {
	type content struct {
		ContactID   string
		Items       []OrderItem
		Total       Money
		Currency    string
		RecoveryURL string
	}
	x, _ := json.Marshal(content{c.ContactID, c.Items, c.Total, c.Currency, c.RecoveryURL})
	y, _ := json.Marshal(content{d.ContactID, d.Items, d.Total, d.Currency, d.RecoveryURL})
	return string(x) == string(y)
}

// CartChange is what one event says about a cart. IDs in it are the
// source's own; ingest makes them canonical.
type CartChange struct {
	SourceID string          `json:"sourceId"`           // the source's cart or checkout token
	Cart     *Cart           `json:"cart,omitempty"`     // the cart as it now stands; nil for a completion alone
	Customer *CustomerChange `json:"customer,omitempty"` // who the cart belongs to: email, the source's customer ID
	// Completed marks the checkout completed (Shopify's completed_at,
	// checkout_completed): the cart became an order.
	Completed   bool      `json:"completed,omitempty"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
	OrderID     string    `json:"orderId,omitempty"` // the source's ID of the order it became, when known
	// Abandoned says the platform judged the cart abandoned now
	// (cart_abandoned), so no wait is needed.
	Abandoned bool `json:"abandoned,omitempty"`
}

// CartStore reads canonical carts outside a transaction.
type CartStore interface {
	// FindCartByID returns the cart, or ENOTFOUND.
	FindCartByID(ctx context.Context, id string) (*Cart, error)
}

// CartTx is the part of an ingest transaction that writes carts.
type CartTx interface {
	// FindCartByID returns the cart, or ENOTFOUND.
	FindCartByID(ctx context.Context, id string) (*Cart, error)
	// FindOpenCartsByContact returns the contact's carts no order has
	// converted yet, oldest change first.
	FindOpenCartsByContact(ctx context.Context, contactID string) ([]*Cart, error)
	// SaveCart inserts or updates c and bumps its version.
	SaveCart(ctx context.Context, c *Cart) error
	// EnqueueJobAt asks for a record to be looked at no sooner than runAt:
	// a durable timer. A pending job for the same skill and record is
	// moved to runAt, so a later change restarts the wait instead of
	// adding a second job.
	EnqueueJobAt(ctx context.Context, skill, destination, recordKey string, runAt, now time.Time) error
}
