package magento

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// orderStates maps an order's state (not its status, which a store may
// rename or add to) to the canonical status (docs/platforms/magento.md).
var orderStates = map[string]synclayer.OrderStatus{
	"new":             synclayer.OrderPending,
	"pending_payment": synclayer.OrderPending,
	"payment_review":  synclayer.OrderPending,
	"holded":          synclayer.OrderPending,
	"processing":      synclayer.OrderPaid,
	"complete":        synclayer.OrderCompleted,
	"closed":          synclayer.OrderRefunded,
	"canceled":        synclayer.OrderCancelled,
}

// parseOrder reads an order: the REST OrderInterface, or the order model
// a webhook carries; quote_id is the cart it converts. Money is read from
// the decimals as written. Lines are the items without parent_item_id; a
// configurable line's child names the variant bought.
func parseOrder(r record) (*synclayer.OrderChange, error) {
	id, err := r.id()
	if err != nil {
		return nil, err
	}
	o := &synclayer.Order{SourceID: id}
	if o.CreatedAt, o.UpdatedAt, err = r.updatedAt(); err != nil {
		return nil, err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	if o.Number, err = r.text("increment_id"); err != nil {
		return nil, err
	}
	if o.Number != "" {
		o.Number = "#" + o.Number
	}
	cur, err := r.text("order_currency_code")
	if err != nil {
		return nil, err
	}
	o.Currency = strings.ToUpper(cur)
	if o.Total, err = normalize.Money(r.field("grand_total"), r.m["grand_total"]); err != nil {
		return nil, err
	}
	state, err := r.text("state")
	if err != nil {
		return nil, err
	}
	var known bool
	if o.Status, known = orderStates[state]; !known {
		o.Status = synclayer.OrderPending
	}
	if o.Items, err = orderItems(r); err != nil {
		return nil, err
	}
	// quote_id is the quote (cart) the order was placed from
	// (OrderInterface::QUOTE_ID; QuoteManagement sets it at submit), so
	// the order converts that cart by its id.
	if o.CartID, err = normalize.ID(r.field("quote_id"), r.m["quote_id"]); err != nil {
		return nil, err
	}
	if o.CartID == "0" {
		o.CartID = ""
	}
	ch := &synclayer.OrderChange{SourceID: id, Order: o}
	cust := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	guest, _, err := flag(r.field("customer_is_guest"), r.m["customer_is_guest"])
	if err != nil {
		return nil, err
	}
	if cid, err := normalize.ID(r.field("customer_id"), r.m["customer_id"]); err != nil {
		return nil, err
	} else if cid != "" && cid != "0" && !guest {
		cust.SourceID = cid
	}
	email, err := r.text("customer_email")
	if err != nil {
		return nil, err
	}
	if email != "" {
		e, err := normalize.Email(email)
		if err != nil {
			return nil, synclayer.FieldErrorf(r.field("customer_email"), "%s", synclayer.ErrorMessage(err))
		}
		cust.Fields[synclayer.FieldEmail] = jsonString(e)
	}
	for _, f := range [][2]string{{"customer_firstname", synclayer.FieldFirstName}, {"customer_lastname", synclayer.FieldLastName}} {
		v, err := r.text(f[0])
		if err != nil {
			return nil, err
		}
		if v != "" {
			cust.Fields[f[1]] = jsonString(v)
		}
	}
	if bill, ok, err := r.object("billing_address"); err != nil {
		return nil, err
	} else if ok {
		if p, _ := bill.text("telephone"); p != "" {
			if phone, err := normalize.Phone(p, ""); err == nil {
				cust.Fields[synclayer.FieldPhone] = jsonString(phone)
			}
		}
	}
	if cust.Identifies() {
		ch.Customer = cust
	}
	return ch, nil
}

func orderItems(r record) ([]synclayer.OrderItem, error) {
	raws, err := normalize.Array(r.field("items"), r.m["items"])
	if err != nil {
		return nil, err
	}
	items := make([]record, len(raws))
	for i, raw := range raws {
		path := fmt.Sprintf("%s[%d]", r.field("items"), i)
		m, err := normalize.Object(path, raw)
		if err != nil {
			return nil, err
		}
		items[i] = record{path: path, m: m}
	}
	child := map[string]string{} // parent item_id → the child's product_id
	for _, it := range items {
		parent, err := normalize.ID(it.field("parent_item_id"), it.m["parent_item_id"])
		if err != nil {
			return nil, err
		}
		if parent != "" {
			pid, err := normalize.ID(it.field("product_id"), it.m["product_id"])
			if err != nil {
				return nil, err
			}
			child[parent] = pid
		}
	}
	var out []synclayer.OrderItem
	for _, it := range items {
		if parent, _ := normalize.ID("", it.m["parent_item_id"]); parent != "" {
			continue
		}
		var line synclayer.OrderItem
		if line.ProductID, err = normalize.ID(it.field("product_id"), it.m["product_id"]); err != nil {
			return nil, err
		}
		itemID, err := normalize.ID(it.field("item_id"), it.m["item_id"])
		if err != nil {
			return nil, err
		}
		line.VariantID = child[itemID]
		if line.SKU, err = it.text("sku"); err != nil {
			return nil, err
		}
		if line.Name, err = it.text("name"); err != nil {
			return nil, err
		}
		price := "price_incl_tax"
		if normalize.IsNull(it.m[price]) {
			price = "price"
		}
		if line.Price, err = normalize.Money(it.field(price), it.m[price]); err != nil {
			return nil, err
		}
		if line.Quantity, err = wholeQty(it, "qty_ordered"); err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	return out, nil
}

// wholeQty reads a quantity as Magento writes it, a decimal (2.0000, or
// 2 in a cart's REST answer); a line holds whole units. Missing is 0.
func wholeQty(it record, name string) (int64, error) {
	qty, err := normalize.Decimal(it.field(name), it.m[name])
	if err != nil || normalize.IsNull(qty) {
		return 0, err
	}
	whole, frac, _ := strings.Cut(strings.Trim(string(qty), `"`), ".")
	if strings.Trim(frac, "0") != "" {
		return 0, synclayer.FieldErrorf(it.field(name), "%s is not a whole quantity", normalize.Clip(string(qty)))
	}
	var n int64
	if _, err := fmt.Sscan(whole, &n); err != nil {
		return 0, synclayer.FieldErrorf(it.field(name), "%s is not a quantity", normalize.Clip(string(qty)))
	}
	return n, nil
}

// orderEvent makes the event of an order read by webhook or API.
func (s *Source) orderEvent(r record, topic string, body []byte, now time.Time) (*synclayer.Event, error) {
	ch, err := parseOrder(r)
	if err != nil {
		return nil, err
	}
	o := ch.Order
	typ := synclayer.EventOrderUpdated
	switch {
	case o.Status == synclayer.OrderCancelled:
		typ = synclayer.EventOrderCancelled
	case o.Status == synclayer.OrderRefunded:
		typ = synclayer.EventOrderRefunded
	case o.CreatedAt.Equal(o.UpdatedAt):
		typ = synclayer.EventOrderCreated
	}
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey("order", ch.SourceID, o.UpdatedAt), Topic: topic, Type: typ,
		OccurredAt: o.UpdatedAt, ReceivedAt: now.UTC(), Payload: body, Order: ch}, nil
}
