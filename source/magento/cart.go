package magento

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Carts are Magento's quotes, listed by GET /V1/carts/search
// (CartRepositoryInterface::getList, ACL resource Magento_Cart::manage)
// for cart-events: Magento sends no cart webhook, and Open Source sends
// no webhook at all, so carts are polled like every other kind. Facts and
// sources: docs/platforms/magento.md, Carts.
//
// A quote has no recovery URL: Magento makes none (a shopper's quote is
// tied to their session or account), so the cart_abandoned event carries
// none and the email links to the store's cart page instead.

// maxCartIDBytes bounds a quote's id, which the cart_abandoned event
// carries (Brevo caps an event's properties). Magento's are integers.
const maxCartIDBytes = 255

// parseCart reads a quote as the REST CartInterface has it: id,
// created_at, updated_at, is_active, converted_at, customer{id, email,
// firstname, lastname}, customer_is_guest, billing_address.email,
// items[]{item_id, sku, name, qty, price, product_type}, currency
// {quote_currency_code}. It returns nil, nil for a cart that cannot
// identify a buyer (no email yet): there is nobody to remind.
//
//   - A quote that is no longer active (is_active false) became an order
//     or was ended: the change is a completion alone (Completed, Cart
//     nil), since Magento's getList loads no items of an inactive quote
//     and an empty cart would say it was emptied. It is never abandoned.
//     reserved_order_id is the order's increment_id, not its entity_id
//     (the order's id here), so it does not name the order; the order's
//     own quote_id converts the cart by id (parseOrder).
//   - The total: CartInterface has none (GET /V1/carts/{id}/totals has
//     them, a call per cart); grand_total or subtotal are read when an
//     extension adds them, and otherwise the total is the sum of price ×
//     qty over the items, before tax, shipping and discounts.
//   - A guest's customer is empty (Quote::getCustomer finds no customer),
//     so the email is customer.email, else billing_address.email, which
//     checkout sets from the email the shopper entered.
//   - Items name no product id (CartItemInterface has none): the line's
//     product_id is read when an extension adds it, and the SKU stands in
//     for it otherwise.
func parseCart(r record) (*synclayer.CartChange, time.Time, error) {
	id, err := r.id()
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(id) > maxCartIDBytes {
		return nil, time.Time{}, synclayer.FieldErrorf(r.field("id"), "is %d bytes; a quote id has at most %d", len(id), maxCartIDBytes)
	}
	_, updated, err := r.updatedAt()
	if err != nil {
		return nil, time.Time{}, err
	}
	active, known, err := flag(r.field("is_active"), r.m["is_active"])
	if err != nil {
		return nil, time.Time{}, err
	}
	if !known {
		active = true // a quote is active until an order or a merge ends it
	}
	ch := &synclayer.CartChange{SourceID: id}
	cust, err := cartCustomer(r)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !active {
		ch.Completed = true
		if ch.CompletedAt, err = r.date("converted_at"); err != nil {
			return nil, time.Time{}, err
		}
		if ch.CompletedAt.IsZero() {
			ch.CompletedAt = updated
		}
		if cust != nil {
			ch.Customer = cust
		}
		return ch, updated, nil
	}
	if cust == nil || cust.Email() == "" {
		return nil, updated, nil
	}
	ch.Customer = cust
	c := &synclayer.Cart{SourceID: id, UpdatedAt: updated, Items: []synclayer.OrderItem{}}
	if cur, ok, err := r.object("currency"); err != nil {
		return nil, time.Time{}, err
	} else if ok {
		if c.Currency, err = cur.text("quote_currency_code"); err != nil {
			return nil, time.Time{}, err
		}
	}
	c.Currency = strings.ToUpper(c.Currency)
	if len(c.Currency) > 3 {
		return nil, time.Time{}, synclayer.FieldErrorf(r.field("currency.quote_currency_code"), "must be an ISO 4217 code such as EUR, not %q", normalize.Clip(c.Currency))
	}
	if c.Items, err = cartItems(r); err != nil {
		return nil, time.Time{}, err
	}
	for _, name := range []string{"grand_total", "subtotal"} {
		if c.Total, err = normalize.Money(r.field(name), r.m[name]); err != nil {
			return nil, time.Time{}, err
		}
		if c.Total.Sign() < 0 {
			return nil, time.Time{}, synclayer.FieldErrorf(r.field(name), "must not be negative")
		}
		if !c.Total.IsZero() {
			break
		}
	}
	if c.Total.IsZero() {
		c.Total = synclayer.MustMoney("0")
		for _, it := range c.Items {
			c.Total = c.Total.Add(times(it.Price, it.Quantity))
		}
	}
	ch.Cart = c
	return ch, updated, nil
}

// cartCustomer is who a quote belongs to: the customer's id (not a
// guest's), email and name; a guest's email is on the billing address.
// nil when nothing identifies them.
func cartCustomer(r record) (*synclayer.CustomerChange, error) {
	cust := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	guest, _, err := flag(r.field("customer_is_guest"), r.m["customer_is_guest"])
	if err != nil {
		return nil, err
	}
	c, ok, err := r.object("customer")
	if err != nil {
		return nil, err
	}
	email := ""
	if ok {
		if cid, err := normalize.ID(c.field("id"), c.m["id"]); err != nil {
			return nil, err
		} else if cid != "" && cid != "0" && !guest {
			cust.SourceID = cid
		}
		if email, err = c.text("email"); err != nil {
			return nil, err
		}
		for _, f := range [][2]string{{"firstname", synclayer.FieldFirstName}, {"lastname", synclayer.FieldLastName}} {
			v, err := c.text(f[0])
			if err != nil {
				return nil, err
			}
			if v != "" {
				cust.Fields[f[1]] = jsonString(v)
			}
		}
	}
	if email == "" {
		bill, ok, err := r.object("billing_address")
		if err != nil {
			return nil, err
		}
		if ok {
			if email, err = bill.text("email"); err != nil {
				return nil, err
			}
		}
	}
	if email != "" {
		e, err := normalize.Email(email)
		if err != nil {
			return nil, synclayer.FieldErrorf(r.field("customer.email"), "%s", synclayer.ErrorMessage(err))
		}
		cust.Fields[synclayer.FieldEmail] = jsonString(e)
	}
	if !cust.Identifies() {
		return nil, nil
	}
	return cust, nil
}

// cartItems reads a quote's items: the visible ones, which is what
// getList returns (a configurable product's child is not among them).
func cartItems(r record) ([]synclayer.OrderItem, error) {
	raws, err := normalize.Array(r.field("items"), r.m["items"])
	if err != nil {
		return nil, err
	}
	out := []synclayer.OrderItem{}
	for i, raw := range raws {
		path := fmt.Sprintf("%s[%d]", r.field("items"), i)
		m, err := normalize.Object(path, raw)
		if err != nil {
			return nil, err
		}
		it := record{path: path, m: m}
		var line synclayer.OrderItem
		if line.SKU, err = it.text("sku"); err != nil {
			return nil, err
		}
		if line.Name, err = it.text("name"); err != nil {
			return nil, err
		}
		if line.ProductID, err = normalize.ID(it.field("product_id"), m["product_id"]); err != nil {
			return nil, err
		}
		if line.ProductID == "" {
			line.ProductID = line.SKU
		}
		if line.ProductID == "" {
			return nil, synclayer.FieldErrorf(it.field("sku"), "missing; a cart item names its product by SKU")
		}
		if line.Price, err = normalize.Money(it.field("price"), m["price"]); err != nil {
			return nil, err
		}
		if line.Price.IsZero() {
			line.Price = synclayer.MustMoney("0")
		}
		if line.Price.Sign() < 0 {
			return nil, synclayer.FieldErrorf(it.field("price"), "must not be negative")
		}
		if line.Quantity, err = wholeQty(it, "qty"); err != nil {
			return nil, err
		}
		if line.Quantity < 0 {
			return nil, synclayer.FieldErrorf(it.field("qty"), "must not be negative")
		}
		out = append(out, line)
	}
	return out, nil
}

// times is price × qty, exactly.
func times(price synclayer.Money, qty int64) synclayer.Money {
	whole, frac, _ := strings.Cut(price.String(), ".")
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return synclayer.MustMoney("0")
	}
	s := n.Mul(n, big.NewInt(qty)).String()
	if len(frac) > 0 {
		if len(s) <= len(frac) {
			s = strings.Repeat("0", len(frac)-len(s)+1) + s
		}
		s = s[:len(s)-len(frac)] + "." + s[len(s)-len(frac):]
	}
	m, err := synclayer.ParseMoney(s)
	if err != nil {
		return synclayer.MustMoney("0")
	}
	return m
}

// cartEvent makes the event of a listed quote; nil, nil for one nobody
// can be reminded of (see parseCart). Its dedupe key is
// magento:cart:<id>:<updated_at>.
func (s *Source) cartEvent(r record, topic string, body []byte, now time.Time) (*synclayer.Event, error) {
	ch, updated, err := parseCart(r)
	if err != nil || ch == nil {
		return nil, err
	}
	typ := synclayer.EventCartUpdated
	if ch.Completed {
		typ = synclayer.EventCheckoutCompleted
	}
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey("cart", ch.SourceID, updated), Topic: topic, Type: typ,
		OccurredAt: updated, ReceivedAt: now.UTC(), Payload: body, Cart: ch}, nil
}
