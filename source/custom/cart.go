package custom

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

func init() {
	commerceEvents[string(synclayer.EventCartUpdated)] = parseCart
	commerceEvents[string(synclayer.EventCartAbandoned)] = parseCart
	commerceEvents[string(synclayer.EventCheckoutCompleted)] = parseCheckoutCompleted
}

// A cart's ID, currency and recovery URL are sent in its cart_abandoned event,
// whose properties Brevo caps at 50 KB: longer ones are refused here,
// naming the field, rather than by Brevo when the cart is judged.
const (
	maxCartIDBytes  = 255
	maxCartURLBytes = 2048
)

// tooLong refuses a value of more than max bytes.
func tooLong(field, value string, max int) error {
	if len(value) > max {
		return synclayer.FieldErrorf(field, "is %d bytes; at most %d are allowed", len(value), max)
	}
	return nil
}

var cartKeys = []string{"cart_id", "currency", "customer_id", "email", "items", "recovery_url", "total", "updated_at"}

// parseCart reads cart_updated and cart_abandoned: {cart_id, email or
// customer_id, items[], total, currency, recovery_url, updated_at}.
// cart_abandoned says the platform judged the cart abandoned now, so
// cart-events need not wait. A cart without email or customer_id is kept
// but can never count as abandoned.
func parseCart(typ synclayer.EventType, data map[string]json.RawMessage, at time.Time) (*synclayer.Event, error) {
	if err := known("data", data, cartKeys...); err != nil {
		return nil, err
	}
	id, err := requiredID(data, "data", "cart_id", "name the cart in data.cart_id; checkout_completed and orders name it the same way")
	if err != nil {
		return nil, err
	}
	if err := tooLong("data.cart_id", id, maxCartIDBytes); err != nil {
		return nil, err
	}
	c := &synclayer.Cart{SourceID: id}
	if c.Currency, err = normalize.String("data.currency", data["currency"]); err != nil {
		return nil, err
	}
	c.Currency = strings.ToUpper(c.Currency)
	if len(c.Currency) > 3 {
		return nil, synclayer.FieldErrorf("data.currency", "must be an ISO 4217 code such as EUR, not %q", clip(c.Currency))
	}
	if c.Total, err = normalize.Money("data.total", data["total"]); err != nil {
		return nil, err
	}
	if c.Total.IsZero() {
		c.Total = synclayer.MustMoney("0")
	}
	if c.Total.Sign() < 0 {
		return nil, synclayer.FieldErrorf("data.total", "must not be negative")
	}
	if c.RecoveryURL, err = normalize.String("data.recovery_url", data["recovery_url"]); err != nil {
		return nil, err
	}
	if err := tooLong("data.recovery_url", c.RecoveryURL, maxCartURLBytes); err != nil {
		return nil, err
	}
	if c.UpdatedAt, err = optionalTime("data.updated_at", data["updated_at"]); err != nil {
		return nil, err
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = at
	}
	raw, ok := data["items"]
	if !ok || normalize.IsNull(raw) {
		return nil, synclayer.FieldErrorf("data.items", "missing; list the cart's lines (an empty list is allowed)")
	}
	if c.Items, err = orderItems(raw); err != nil {
		return nil, err
	}
	for i, it := range c.Items {
		if it.Price.Sign() < 0 { // as the total: a cart_abandoned event must not offer a negative price
			return nil, synclayer.FieldErrorf(fmt.Sprintf("data.items[%d].price", i), "must not be negative")
		}
	}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	if ch.SourceID, err = normalize.ID("data.customer_id", data["customer_id"]); err != nil {
		return nil, err
	}
	if raw, ok := data["email"]; ok {
		if ch.Fields[synclayer.FieldEmail], err = normalize.Text("data.email", raw); err != nil {
			return nil, err
		}
	}
	cc := &synclayer.CartChange{SourceID: id, Cart: c, Abandoned: typ == synclayer.EventCartAbandoned}
	if ch.Identifies() {
		cc.Customer = ch
	}
	return &synclayer.Event{OccurredAt: c.UpdatedAt, Cart: cc}, nil
}

// parseCheckoutCompleted reads checkout_completed: {cart_id, order_id,
// completed_at}. The cart became an order and is never abandoned.
func parseCheckoutCompleted(_ synclayer.EventType, data map[string]json.RawMessage, at time.Time) (*synclayer.Event, error) {
	if err := known("data", data, "cart_id", "completed_at", "order_id"); err != nil {
		return nil, err
	}
	id, err := requiredID(data, "data", "cart_id", "name the cart that was checked out in data.cart_id")
	if err != nil {
		return nil, err
	}
	if err := tooLong("data.cart_id", id, maxCartIDBytes); err != nil {
		return nil, err
	}
	cc := &synclayer.CartChange{SourceID: id, Completed: true}
	if cc.OrderID, err = normalize.ID("data.order_id", data["order_id"]); err != nil {
		return nil, err
	}
	if cc.CompletedAt, err = optionalTime("data.completed_at", data["completed_at"]); err != nil {
		return nil, err
	}
	if cc.CompletedAt.IsZero() {
		cc.CompletedAt = at
	}
	return &synclayer.Event{OccurredAt: cc.CompletedAt, Cart: cc}, nil
}
