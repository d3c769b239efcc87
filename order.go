package synclayer

import (
	"context"
	"encoding/json"
	"maps"
	"math/big"
	"slices"
	"time"
)

// Order events, whatever the platform called them.
const (
	EventOrderCreated   EventType = "order_created"
	EventOrderUpdated   EventType = "order_updated"
	EventOrderCancelled EventType = "order_cancelled"
	EventOrderRefunded  EventType = "order_refunded"
	EventOrderDeleted   EventType = "order_deleted"
)

// OrderStatus is where an order stands, whatever the platform called it.
type OrderStatus string

const (
	OrderPending   OrderStatus = "pending"   // placed, not paid yet
	OrderPaid      OrderStatus = "paid"      // paid, not fulfilled yet
	OrderCompleted OrderStatus = "completed" // paid and fulfilled
	OrderCancelled OrderStatus = "cancelled"
	OrderRefunded  OrderStatus = "refunded" // refunded in full
	OrderFailed    OrderStatus = "failed"   // the payment failed
)

// OrderStatuses lists the valid statuses, for messages.
const OrderStatuses = "pending, paid, completed, cancelled, refunded or failed"

// Valid reports whether s is one of the known statuses.
func (s OrderStatus) Valid() bool {
	switch s {
	case OrderPending, OrderPaid, OrderCompleted, OrderCancelled, OrderRefunded, OrderFailed:
		return true
	}
	return false
}

// CanonicalID returns the canonical ID of a record a source knows by id:
// "shopify:450789469". Orders, products and categories are keyed this way,
// so two platforms' order 1001 never meet, and an order line names the
// same product the product catalog sends.
func CanonicalID(source, id string) string { return source + ":" + id }

// Order is the one canonical record of an order. Items name products by
// their canonical IDs.
type Order struct {
	ID        string      `json:"id,omitempty"` // CanonicalID(Source, SourceID)
	Source    string      `json:"source,omitempty"`
	SourceID  string      `json:"sourceId"`
	ContactID string      `json:"contactId,omitempty"` // who placed it, by identity resolution; "" when nothing identifies them
	Number    string      `json:"number,omitempty"`    // as the buyer sees it: "#1001"
	Status    OrderStatus `json:"status"`
	Currency  string      `json:"currency,omitempty"` // ISO 4217
	Total     Money       `json:"total"`              // with shipping and tax, before refunds
	Items     []OrderItem `json:"items"`
	Deleted   bool        `json:"deleted,omitempty"`
	CreatedAt time.Time   `json:"createdAt"`
	UpdatedAt time.Time   `json:"updatedAt"` // the source's own time; decides newer-wins
	Version   int64       `json:"version,omitempty"`
	// CartID is the source's ID of the cart or checkout the order was
	// placed from (Shopify's checkout_token), which converts that cart.
	CartID string `json:"cartId,omitempty"`

	// Refunds are kept apart, keyed by their own IDs, because a refund can
	// arrive on its own (refunds/create) and before its order. The store
	// fills them in, oldest first.
	Refunds []Refund `json:"refunds,omitempty"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID string `json:"productId"`
	VariantID string `json:"variantId,omitempty"`
	SKU       string `json:"sku,omitempty"`
	Name      string `json:"name,omitempty"`
	Price     Money  `json:"price"` // of one unit
	Quantity  int64  `json:"quantity"`
}

// Refund is money given back on an order.
type Refund struct {
	ID        string    `json:"id"`      // the source's refund ID
	OrderID   string    `json:"orderId"` // canonical
	Amount    Money     `json:"amount"`  // positive
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// Refunded returns the sum of the order's refunds.
func (o *Order) Refunded() Money {
	var sum Money
	for _, r := range o.Refunds {
		sum = sum.Add(r.Amount)
	}
	return sum
}

// Net returns what the buyer paid and kept: the total less the refunds,
// never below 0.
func (o *Order) Net() Money {
	n := o.Total.Sub(o.Refunded())
	if n.Sign() < 0 {
		return fromUnscaled(new(big.Int), n.scale())
	}
	return n
}

// Counts reports whether the order is a purchase: cancelled, failed and
// deleted orders count for nothing in a contact's totals.
func (o *Order) Counts() bool {
	return !o.Deleted && o.Status != OrderCancelled && o.Status != OrderFailed
}

// Spent returns what the order adds to its contact's total spent: its net
// amount, or 0 once it is cancelled or refunded in full.
func (o *Order) Spent() Money {
	if !o.Counts() || o.Status == OrderRefunded {
		return MustMoney("0")
	}
	return o.Net()
}

// LastChange returns the newest of the order's update and refund times,
// which is when the destination's copy last had to change.
func (o *Order) LastChange() time.Time {
	t := o.UpdatedAt
	for _, r := range o.Refunds {
		if r.CreatedAt.After(t) {
			t = r.CreatedAt
		}
	}
	return t
}

// SameContent reports whether o and p say the same thing about the order,
// leaving out the version, the source's update time and the refunds, which
// are kept apart.
func (o *Order) SameContent(p *Order) bool {
	a, b := *o, *p
	a.Version, b.Version, a.UpdatedAt, b.UpdatedAt = 0, 0, time.Time{}, time.Time{}
	a.Refunds, b.Refunds = nil, nil
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// OrderChange is what one event says about an order. IDs in it are the
// source's own; ingest makes them canonical.
type OrderChange struct {
	SourceID string          `json:"sourceId"`           // the source's order ID
	Order    *Order          `json:"order,omitempty"`    // the order as it now stands; nil for a refund or a delete alone
	Refunds  []Refund        `json:"refunds,omitempty"`  // refunds the event carries, by the source's refund IDs
	Customer *CustomerChange `json:"customer,omitempty"` // who placed it: the source's customer ID, email, phone, name
	Delete   bool            `json:"delete,omitempty"`
}

// Contact fields derived from a contact's orders. While order-events runs
// they are computed from the canonical orders, and no platform may set them.
const (
	FieldFirstOrderDate = "firstOrderDate"
	OrderEventsSource   = "order-events" // the source name aggregates are merged under
)

// AggregateFields are the contact fields OrderTotals sets.
var AggregateFields = []string{FieldTotalOrders, FieldTotalSpent, FieldLastOrderDate, FieldFirstOrderDate}

// OrderTotals are a contact's order aggregates.
type OrderTotals struct {
	Orders   int       // orders that count (not cancelled, failed or deleted)
	Spent    Money     // the net amounts of those orders in Currency
	Currency string    // the currency most of them are in
	First    time.Time // the oldest counted order's creation
	Last     time.Time // the newest counted order's creation
}

// SumOrders computes a contact's totals from all of its orders. A
// cancellation takes the order out of every total; a refund lowers the
// amount spent. Amounts in different currencies are not added together:
// Spent sums the currency most counted orders use (on a tie, the newest
// order's), and orders in other currencies count only in Orders and the
// dates.
func SumOrders(orders []*Order) OrderTotals {
	var t OrderTotals
	perCurrency := map[string]int{}
	var newest *Order
	for _, o := range orders {
		if !o.Counts() {
			continue
		}
		t.Orders++
		perCurrency[o.Currency]++
		if t.First.IsZero() || o.CreatedAt.Before(t.First) {
			t.First = o.CreatedAt
		}
		if o.CreatedAt.After(t.Last) || newest == nil {
			t.Last, newest = o.CreatedAt, o
		}
	}
	if newest == nil {
		return t
	}
	t.Currency = newest.Currency
	for _, c := range slices.Sorted(maps.Keys(perCurrency)) {
		if perCurrency[c] > perCurrency[t.Currency] {
			t.Currency = c
		}
	}
	t.Spent = MustMoney("0")
	for _, o := range orders {
		if o.Counts() && o.Currency == t.Currency {
			t.Spent = t.Spent.Add(o.Spent())
		}
	}
	return t
}

// Change returns the totals as a change to the contact's aggregate fields;
// with no counted order the dates are cleared.
func (t OrderTotals) Change() *CustomerChange {
	spent := t.Spent
	if spent.IsZero() {
		spent = MustMoney("0")
	}
	date := func(at time.Time) json.RawMessage {
		if at.IsZero() {
			return json.RawMessage("null")
		}
		return jsonString(at.UTC().Format(time.RFC3339Nano))
	}
	tn, _ := json.Marshal(t.Orders)
	sp, _ := spent.MarshalJSON()
	return &CustomerChange{Fields: map[string]json.RawMessage{
		FieldTotalOrders:    tn,
		FieldTotalSpent:     sp,
		FieldLastOrderDate:  date(t.Last),
		FieldFirstOrderDate: date(t.First),
	}}
}

// OrderFilter selects orders.
type OrderFilter struct {
	ContactID string
	Limit     int
}

// OrderStore reads canonical orders outside a transaction.
type OrderStore interface {
	// FindOrderByID returns the order with its refunds, or ENOTFOUND.
	FindOrderByID(ctx context.Context, id string) (*Order, error)
	// FindOrders returns orders matching f with their refunds, newest first.
	FindOrders(ctx context.Context, f OrderFilter) ([]*Order, error)
}

// OrderTx is the part of an ingest transaction that writes orders.
type OrderTx interface {
	// FindOrderByID returns the order with its refunds, or ENOTFOUND.
	FindOrderByID(ctx context.Context, id string) (*Order, error)
	// FindOrdersByContact returns all of a contact's orders with their refunds.
	FindOrdersByContact(ctx context.Context, contactID string) ([]*Order, error)
	// SaveOrder inserts or updates o (not its refunds) and bumps its version.
	SaveOrder(ctx context.Context, o *Order) error
	// SaveRefund records a refund of an order, known or not yet; it reports
	// whether the refund was new or different.
	SaveRefund(ctx context.Context, r *Refund) (changed bool, err error)
	// FindContactByID returns the contact an order belongs to, or ENOTFOUND.
	FindContactByID(ctx context.Context, id string) (*Contact, error)
}
