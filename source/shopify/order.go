package shopify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Kinds of order and product payloads.
const (
	kindOrder         kind = iota + 100 // the full order resource
	kindRefund                          // a refund resource, with order_id
	kindProduct                         // the full product resource, variants included
	kindProductDelete                   // {"id": ...}
)

// parseOrder reads an order resource, as every orders/* topic sends it. It
// returns the change and the order's updated_at (or created_at). Money is
// read from the decimal strings, never through float64.
func parseOrder(obj map[string]json.RawMessage) (*synclayer.OrderChange, time.Time, error) {
	id, err := requiredID(obj, "id", "an order payload names the order's id")
	if err != nil {
		return nil, time.Time{}, err
	}
	o := &synclayer.Order{SourceID: id}
	if o.Number, err = normalize.String("name", obj["name"]); err != nil {
		return nil, time.Time{}, err
	}
	if o.Currency, err = normalize.String("currency", obj["currency"]); err != nil {
		return nil, time.Time{}, err
	}
	o.Currency = strings.ToUpper(o.Currency)
	if o.Total, err = normalize.Money("total_price", obj["total_price"]); err != nil {
		return nil, time.Time{}, err
	}
	if o.Total.IsZero() {
		return nil, time.Time{}, synclayer.FieldErrorf("total_price", "missing; an order payload carries its total")
	}
	if o.Status, err = orderStatus(obj); err != nil {
		return nil, time.Time{}, err
	}
	if _, o.CreatedAt, err = normalize.Date("created_at", obj["created_at"]); err != nil {
		return nil, time.Time{}, err
	}
	if _, o.UpdatedAt, err = normalize.Date("updated_at", obj["updated_at"]); err != nil {
		return nil, time.Time{}, err
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	if o.Items, err = lineItems(obj["line_items"]); err != nil {
		return nil, time.Time{}, err
	}
	// The checkout the order came from is the cart it converts (checkout.go).
	if o.CartID, err = normalize.ID("checkout_token", obj["checkout_token"]); err != nil {
		return nil, time.Time{}, err
	}
	if _, err = normalize.ID("cart_token", obj["cart_token"]); err != nil {
		return nil, time.Time{}, err
	}
	ch := &synclayer.OrderChange{SourceID: id, Order: o}
	if ch.Customer, err = orderCustomer(obj); err != nil {
		return nil, time.Time{}, err
	}
	refunds, err := normalize.Array("refunds", obj["refunds"])
	if err != nil {
		return nil, time.Time{}, err
	}
	for i, raw := range refunds {
		r, err := normalize.Object(fmt.Sprintf("refunds[%d]", i), raw)
		if err != nil {
			return nil, time.Time{}, err
		}
		refund, err := readRefund(fmt.Sprintf("refunds[%d].", i), r, id)
		if err != nil {
			return nil, time.Time{}, err
		}
		ch.Refunds = append(ch.Refunds, refund)
	}
	return ch, o.UpdatedAt, nil
}

// orderStatus maps cancelled_at, financial_status and fulfillment_status
// to one status: a cancellation wins, then a full refund, then fulfilment,
// then payment.
func orderStatus(obj map[string]json.RawMessage) (synclayer.OrderStatus, error) {
	cancelled, err := normalize.String("cancelled_at", obj["cancelled_at"])
	if err != nil {
		return "", err
	}
	financial, err := normalize.String("financial_status", obj["financial_status"])
	if err != nil {
		return "", err
	}
	fulfillment, err := normalize.String("fulfillment_status", obj["fulfillment_status"])
	if err != nil {
		return "", err
	}
	switch {
	case cancelled != "" || financial == "voided":
		return synclayer.OrderCancelled, nil
	case financial == "refunded":
		return synclayer.OrderRefunded, nil
	case fulfillment == "fulfilled":
		return synclayer.OrderCompleted, nil
	case financial == "paid" || financial == "partially_refunded":
		return synclayer.OrderPaid, nil
	}
	return synclayer.OrderPending, nil // pending, authorized, partially_paid, unpaid
}

// lineItems reads line_items. An order line names its product and variant;
// a custom line (no product_id) is named by its own line ID.
func lineItems(raw json.RawMessage) ([]synclayer.OrderItem, error) {
	items, err := normalize.Array("line_items", raw)
	if err != nil {
		return nil, err
	}
	out := make([]synclayer.OrderItem, 0, len(items))
	for i, raw := range items {
		path := fmt.Sprintf("line_items[%d]", i)
		li, err := normalize.Object(path, raw)
		if err != nil {
			return nil, err
		}
		var it synclayer.OrderItem
		lineID, err := normalize.ID(path+".id", li["id"])
		if err != nil {
			return nil, err
		}
		product, err := normalize.ID(path+".product_id", li["product_id"])
		if err != nil {
			return nil, err
		}
		variant, err := normalize.ID(path+".variant_id", li["variant_id"])
		if err != nil {
			return nil, err
		}
		switch {
		case product != "":
			it.ProductID = product
			if variant != "" {
				it.VariantID = variantID(product, variant)
			}
		case lineID != "":
			it.ProductID = "line-" + lineID
		default:
			return nil, synclayer.FieldErrorf(path+".product_id", "missing, and so is the line's id; a line names what was bought")
		}
		if err := normalize.LineItem(path, li, &it); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// variantID is a variant's ID in the source's namespace. Shopify numbers
// variants apart from products, so the variant is named under its product.
func variantID(product, variant string) string { return product + "-" + variant }

// orderCustomer reads who placed the order, for identity resolution: the
// embedded customer's id, the order's email and phone (or the customer's),
// and a name from the customer or the billing address.
func orderCustomer(obj map[string]json.RawMessage) (*synclayer.CustomerChange, error) {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	var cust map[string]json.RawMessage
	if raw, ok := obj["customer"]; ok && !normalize.IsNull(raw) {
		var err error
		if cust, err = normalize.Object("customer", raw); err != nil {
			return nil, err
		}
		if ch.SourceID, err = normalize.ID("customer.id", cust["id"]); err != nil {
			return nil, err
		}
	}
	var billing map[string]json.RawMessage
	if raw, ok := obj["billing_address"]; ok && !normalize.IsNull(raw) {
		var err error
		if billing, err = normalize.Object("billing_address", raw); err != nil {
			return nil, err
		}
	}
	type place struct {
		path string
		obj  map[string]json.RawMessage
	}
	// first sets field to the first non-blank value among places, each
	// read at the last element of its path.
	first := func(field string, places ...place) error {
		for _, p := range places {
			if p.obj == nil {
				continue
			}
			v, err := normalize.Text(p.path, p.obj[p.path[strings.LastIndex(p.path, ".")+1:]])
			if err != nil {
				return err
			}
			if !normalize.IsNull(v) {
				ch.Fields[field] = v
				return nil
			}
		}
		return nil
	}
	for _, err := range []error{
		first(synclayer.FieldEmail, place{"email", obj}, place{"customer.email", cust}),
		first(synclayer.FieldPhone, place{"phone", obj}, place{"customer.phone", cust}, place{"billing_address.phone", billing}),
		first(synclayer.FieldFirstName, place{"customer.first_name", cust}, place{"billing_address.first_name", billing}),
		first(synclayer.FieldLastName, place{"customer.last_name", cust}, place{"billing_address.last_name", billing}),
	} {
		if err != nil {
			return nil, err
		}
	}
	if !ch.Identifies() {
		return nil, nil
	}
	return ch, nil
}

// parseRefund reads refunds/create: a refund with its order_id.
func parseRefund(obj map[string]json.RawMessage) (*synclayer.OrderChange, time.Time, error) {
	orderID, err := requiredID(obj, "order_id", "a refund payload names its order")
	if err != nil {
		return nil, time.Time{}, err
	}
	r, err := readRefund("", obj, orderID)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &synclayer.OrderChange{SourceID: orderID, Refunds: []synclayer.Refund{r}}, r.CreatedAt, nil
}

// readRefund reads one refund resource. Its amount is the sum of its
// successful refund transactions; a refund without one (a restock) is 0.
func readRefund(prefix string, obj map[string]json.RawMessage, orderID string) (synclayer.Refund, error) {
	id, err := requiredID(obj, prefix+"id", "a refund has an id")
	if err != nil {
		return synclayer.Refund{}, err
	}
	r := synclayer.Refund{ID: id, OrderID: orderID, Amount: synclayer.MustMoney("0")}
	if _, r.CreatedAt, err = normalize.Date(prefix+"created_at", obj["created_at"]); err != nil {
		return synclayer.Refund{}, err
	}
	txs, err := normalize.Array(prefix+"transactions", obj["transactions"])
	if err != nil {
		return synclayer.Refund{}, err
	}
	for i, raw := range txs {
		path := fmt.Sprintf("%stransactions[%d]", prefix, i)
		tx, err := normalize.Object(path, raw)
		if err != nil {
			return synclayer.Refund{}, err
		}
		kind, err := normalize.String(path+".kind", tx["kind"])
		if err != nil {
			return synclayer.Refund{}, err
		}
		status, err := normalize.String(path+".status", tx["status"])
		if err != nil {
			return synclayer.Refund{}, err
		}
		amount, err := normalize.Money(path+".amount", tx["amount"])
		if err != nil {
			return synclayer.Refund{}, err
		}
		if kind == "refund" && (status == "success" || status == "") {
			r.Amount = r.Amount.Add(amount.Abs())
		}
	}
	return r, nil
}

// requiredID reads a required ID, with why in the message when it is missing.
func requiredID(obj map[string]json.RawMessage, field, why string) (string, error) {
	raw := obj[field]
	if i := strings.LastIndex(field, "."); i >= 0 {
		raw = obj[field[i+1:]]
	}
	id, err := normalize.ID(field, raw)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", synclayer.FieldErrorf(field, "missing; %s", why)
	}
	return id, nil
}
