package bigcommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Carts (docs/platforms/bigcommerce.md, Carts). store/cart/created and
// store/cart/updated are read back with GET /v3/carts/{id} (kind
// "cart"), store/cart/abandoned the same way with the platform's word
// that the cart is abandoned (kind "cart-abandoned"). Two scopes are not
// read back, because the cart cannot be: store/cart/converted ("the cart
// is automatically deleted and no longer accessible") is the checkout
// completed, with the order's id; store/cart/deleted is the cart ended,
// an emptied cart, which cart-events never calls abandoned. A cart read
// back that answers 404 was converted, deleted or expired before it was
// read; its own callback says which, so the read is skipped with a note
// (synclayer.FetchSkipped), never dead-lettered.

// Fetch kinds of cart notifications.
const (
	kindCart          = "cart"
	kindCartAbandoned = "cart-abandoned"
)

// The cart's id, currency and recovery URL are sent in its
// cart_abandoned event, whose properties Brevo caps: longer ones are
// refused here, naming the field. BigCommerce's cart ids are UUIDs.
const (
	maxCartIDBytes  = 255
	maxCartURLBytes = 2048
)

// cartPath is the Get a Cart request. The read for store/cart/abandoned
// adds include=redirect_urls, whose cart_url is the recovery URL: a
// redirect URL "may only be used once" and is created by the request, so
// asking for one on every read would change the cart's content at each
// read (and restart its wait); the abandoned cart's is the one an email
// sends.
func cartPath(id string, urls bool) string {
	p := "/v3/carts/" + url.PathEscape(id)
	if urls {
		p += "?include=redirect_urls"
	}
	return p
}

func (s *Source) fetchCart(ctx context.Context, id string, abandoned bool) ([]*synclayer.Event, error) {
	var page struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	err := s.get(ctx, "cart "+id, cartPath(id, abandoned), &page)
	if st := synclayer.HTTPStatus(err); abandoned && st >= 400 && st < 500 && st != 401 && st != 403 && st != 404 && st != 429 {
		// Redirect URLs "can be generated only from carts that were
		// created using the REST Management API": a storefront cart that
		// refuses them is read without.
		page.Data = nil
		err = s.get(ctx, "cart "+id, cartPath(id, false), &page)
	}
	if err != nil {
		if synclayer.HTTPStatus(err) == 404 {
			return nil, &synclayer.FetchSkipped{SourceID: id, Note: "cart " + id + " was not read: GET /v3/carts answered 404, " +
				"so it was converted, deleted or expired before it was read; its store/cart/converted or store/cart/deleted callback ends it"}
		}
		return nil, err
	}
	ev, err := s.cartEvent(page.Data, abandoned, s.now().UTC())
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: cart %s: %w", id, err))
	}
	return []*synclayer.Event{ev}, nil
}

// cartEvent is a v3 cart's event: id, email and customer_id, the
// physical and digital line items (product_id, variant_id, sku, name,
// quantity, sale_price or else list_price), cart_amount, currency.code,
// redirect_urls.cart_url, created_time and updated_time. abandoned says
// the cart was read for store/cart/abandoned: the platform judged it
// abandoned. Its DedupeKey has the cart's updated_time (and, read for
// store/cart/abandoned, that word), so a cart read twice unchanged is
// one event and its abandonment another.
func (s *Source) cartEvent(c map[string]json.RawMessage, abandoned bool, now time.Time) (*synclayer.Event, error) {
	id, err := recordID(c)
	if err != nil {
		return nil, err
	}
	if len(id) > maxCartIDBytes {
		return nil, synclayer.FieldErrorf("id", "is %d bytes; a cart id has at most %d", len(id), maxCartIDBytes)
	}
	cart := &synclayer.Cart{SourceID: id, Items: []synclayer.OrderItem{}}
	if cur, err := normalize.Object("currency", c["currency"]); err == nil {
		if cart.Currency, err = normalize.String("currency.code", cur["code"]); err != nil {
			return nil, err
		}
	} else if !normalize.IsNull(c["currency"]) {
		return nil, err
	}
	cart.Currency = strings.ToUpper(cart.Currency)
	if len(cart.Currency) > 3 {
		return nil, synclayer.FieldErrorf("currency.code", "must be an ISO 4217 code such as USD, not %q", normalize.Clip(cart.Currency))
	}
	if cart.Total, err = normalize.Money("cart_amount", c["cart_amount"]); err != nil {
		return nil, err
	}
	if cart.Total.IsZero() {
		cart.Total = synclayer.MustMoney("0")
	}
	if cart.Total.Sign() < 0 {
		return nil, synclayer.FieldErrorf("cart_amount", "must not be negative")
	}
	if ru, err := normalize.Object("redirect_urls", c["redirect_urls"]); err == nil {
		if cart.RecoveryURL, err = normalize.String("redirect_urls.cart_url", ru["cart_url"]); err != nil {
			return nil, err
		}
	} else if !normalize.IsNull(c["redirect_urls"]) {
		return nil, err
	}
	if len(cart.RecoveryURL) > maxCartURLBytes {
		return nil, synclayer.FieldErrorf("redirect_urls.cart_url", "is %d bytes; at most %d are allowed", len(cart.RecoveryURL), maxCartURLBytes)
	}
	_, created, err := normalize.Date("created_time", c["created_time"])
	if err != nil {
		return nil, err
	}
	if _, cart.UpdatedAt, err = normalize.Date("updated_time", c["updated_time"]); err != nil {
		return nil, err
	}
	if cart.UpdatedAt.IsZero() {
		cart.UpdatedAt = created
	}
	if cart.UpdatedAt.IsZero() {
		return nil, synclayer.FieldErrorf("updated_time", "missing; a cart carries its created_time and updated_time")
	}
	cart.UpdatedAt = cart.UpdatedAt.UTC()
	if li, err := normalize.Object("line_items", c["line_items"]); err == nil {
		for _, group := range []string{"physical_items", "digital_items"} {
			items, err := cartItems("line_items."+group, li[group])
			if err != nil {
				return nil, err
			}
			cart.Items = append(cart.Items, items...)
		}
	} else if !normalize.IsNull(c["line_items"]) {
		return nil, err
	}
	cc := &synclayer.CartChange{SourceID: id, Cart: cart, Abandoned: abandoned}
	cust := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	if e := text(c["email"]); e != "" {
		email, err := normalize.Email(e)
		if err != nil {
			return nil, synclayer.FieldErrorf("email", "%s", synclayer.ErrorMessage(err))
		}
		cust.Fields[synclayer.FieldEmail] = jsonString(email)
	}
	if cid, err := normalize.ID("customer_id", c["customer_id"]); err != nil {
		return nil, err
	} else if cid != "0" { // a guest's cart has customer_id 0
		cust.SourceID = cid
	}
	if cust.Identifies() {
		cc.Customer = cust
	}
	key := dedupeKey(kindCart, id, cart.UpdatedAt)
	typ := synclayer.EventCartUpdated
	if abandoned {
		key += ":abandoned"
		typ = synclayer.EventCartAbandoned
	}
	body, _ := json.Marshal(c)
	return &synclayer.Event{Source: s.name, DedupeKey: key, Topic: "cart", Type: typ,
		OccurredAt: cart.UpdatedAt, ReceivedAt: now.UTC(), Payload: body, Cart: cc}, nil
}

// cartItems reads one group of a cart's line items.
func cartItems(field string, raw json.RawMessage) ([]synclayer.OrderItem, error) {
	lines, err := normalize.Array(field, raw)
	if err != nil {
		return nil, err
	}
	var out []synclayer.OrderItem
	for i, l := range lines {
		path := fmt.Sprintf("%s[%d]", field, i)
		m, err := normalize.Object(path, l)
		if err != nil {
			return nil, err
		}
		it := synclayer.OrderItem{Name: text(m["name"]), SKU: text(m["sku"])}
		if it.ProductID, err = normalize.ID(path+".product_id", m["product_id"]); err != nil {
			return nil, err
		}
		if it.ProductID == "" {
			return nil, synclayer.FieldErrorf(path+".product_id", "missing; a cart's line item names the catalog product")
		}
		if it.VariantID, err = normalize.ID(path+".variant_id", m["variant_id"]); err != nil {
			return nil, err
		}
		if it.Quantity, _, err = normalize.Int64(path+".quantity", m["quantity"]); err != nil {
			return nil, err
		}
		if it.Quantity < 0 {
			return nil, synclayer.FieldErrorf(path+".quantity", "must not be negative")
		}
		price := "sale_price"
		if normalize.IsNull(m[price]) {
			price = "list_price"
		}
		if it.Price, err = normalize.Money(path+"."+price, m[price]); err != nil {
			return nil, err
		}
		if it.Price.IsZero() {
			it.Price = synclayer.MustMoney("0")
		}
		if it.Price.Sign() < 0 {
			return nil, synclayer.FieldErrorf(path+"."+price, "must not be negative")
		}
		out = append(out, it)
	}
	return out, nil
}

// cartCallback is the event of a cart callback that is not read back:
// store/cart/converted, the checkout completed (data.orderId the order),
// or store/cart/deleted, the cart ended (emptied: what it holds is
// nothing, as of the callback's created_at).
func cartCallback(event, id string, data map[string]json.RawMessage, at time.Time) (*synclayer.CartChange, synclayer.EventType, error) {
	if len(id) > maxCartIDBytes {
		return nil, "", synclayer.FieldErrorf("data.id", "is %d bytes; a cart id has at most %d", len(id), maxCartIDBytes)
	}
	if event == "converted" {
		cc := &synclayer.CartChange{SourceID: id, Completed: true, CompletedAt: at}
		var err error
		if cc.OrderID, err = normalize.ID("data.orderId", data["orderId"]); err != nil {
			return nil, "", err
		}
		return cc, synclayer.EventCheckoutCompleted, nil
	}
	return &synclayer.CartChange{SourceID: id, Cart: &synclayer.Cart{SourceID: id, Items: []synclayer.OrderItem{},
		Total: synclayer.MustMoney("0"), UpdatedAt: at}}, synclayer.EventCartUpdated, nil
}
