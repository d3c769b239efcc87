package shopify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// kindCheckout is the checkout resource checkouts/create and
// checkouts/update send: a cart with a buyer, which becomes an order when
// completed_at is set.
const kindCheckout kind = 200

// The token, currency and recovery URL are sent in the cart's cart_abandoned event,
// whose properties Brevo caps at 50 KB: longer ones are refused here,
// naming the field, rather than by Brevo when the cart is judged.
// Shopify's tokens are 32 characters.
const (
	maxTokenBytes       = 255
	maxRecoveryURLBytes = 2048
)

// parseCheckout reads a checkout: token (the cart's ID, which the order's
// checkout_token repeats), email and customer, line_items, total_price,
// currency, abandoned_checkout_url, updated_at and completed_at. It
// returns the change and the checkout's updated_at (or created_at).
func parseCheckout(obj map[string]json.RawMessage) (*synclayer.CartChange, time.Time, error) {
	token, err := requiredID(obj, "token", "a checkout payload names the checkout's token")
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(token) > maxTokenBytes {
		return nil, time.Time{}, synclayer.FieldErrorf("token", "is %d bytes; a checkout token has at most %d", len(token), maxTokenBytes)
	}
	if _, err := normalize.ID("cart_token", obj["cart_token"]); err != nil {
		return nil, time.Time{}, err
	}
	c := &synclayer.Cart{SourceID: token}
	if c.Currency, err = normalize.String("currency", obj["currency"]); err != nil {
		return nil, time.Time{}, err
	}
	c.Currency = strings.ToUpper(c.Currency)
	if len(c.Currency) > 3 {
		return nil, time.Time{}, synclayer.FieldErrorf("currency", "must be an ISO 4217 code such as USD, not %.40q", c.Currency)
	}
	if c.Total, err = normalize.Money("total_price", obj["total_price"]); err != nil {
		return nil, time.Time{}, err
	}
	if c.Total.IsZero() {
		c.Total = synclayer.MustMoney("0")
	}
	if c.Total.Sign() < 0 {
		return nil, time.Time{}, synclayer.FieldErrorf("total_price", "must not be negative")
	}
	if c.RecoveryURL, err = normalize.String("abandoned_checkout_url", obj["abandoned_checkout_url"]); err != nil {
		return nil, time.Time{}, err
	}
	if len(c.RecoveryURL) > maxRecoveryURLBytes {
		return nil, time.Time{}, synclayer.FieldErrorf("abandoned_checkout_url", "is %d bytes; at most %d are allowed", len(c.RecoveryURL), maxRecoveryURLBytes)
	}
	_, created, err := normalize.Date("created_at", obj["created_at"])
	if err != nil {
		return nil, time.Time{}, err
	}
	if _, c.UpdatedAt, err = normalize.Date("updated_at", obj["updated_at"]); err != nil {
		return nil, time.Time{}, err
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = created
	}
	if c.Items, err = lineItems(obj["line_items"]); err != nil {
		return nil, time.Time{}, err
	}
	lines, _ := normalize.Array("line_items", obj["line_items"]) // read above
	for i := range c.Items {
		path := fmt.Sprintf("line_items[%d]", i)
		if c.Items[i].Quantity < 0 {
			return nil, time.Time{}, synclayer.FieldErrorf(path+".quantity", "must not be negative")
		}
		if c.Items[i].Price.Sign() < 0 {
			return nil, time.Time{}, synclayer.FieldErrorf(path+".price", "must not be negative")
		}
		// A checkout line names its product in title, where an order line has name.
		li, _ := normalize.Object(path, lines[i])
		if c.Items[i].Name == "" {
			if c.Items[i].Name, err = normalize.String(path+".title", li["title"]); err != nil {
				return nil, time.Time{}, err
			}
		}
	}
	ch := &synclayer.CartChange{SourceID: token, Cart: c}
	_, ch.CompletedAt, err = normalize.Date("completed_at", obj["completed_at"])
	if err != nil {
		return nil, time.Time{}, err
	}
	ch.Completed = !ch.CompletedAt.IsZero()
	// The same buyer fields an order carries: email, phone, customer{id,
	// email, first_name, last_name}, billing_address.
	if ch.Customer, err = orderCustomer(obj); err != nil {
		return nil, time.Time{}, err
	}
	return ch, c.UpdatedAt, nil
}
