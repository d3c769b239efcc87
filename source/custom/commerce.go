package custom

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// eventList names every event ParseEvent reads, for messages. Cart,
// ticket, loyalty and form events register their parsers in
// commerceEvents from their own files, and appear here with them.
func eventList() string {
	names := slices.Collect(maps.Keys(eventTypes))
	names = append(names, slices.Collect(maps.Keys(commerceEvents))...)
	slices.Sort(names)
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// commerceParser reads the data of one order or product event, dated at
// (the event's timestamp) unless data says otherwise.
type commerceParser func(typ synclayer.EventType, data map[string]json.RawMessage, at time.Time) (*synclayer.Event, error)

var commerceEvents = map[string]commerceParser{
	string(synclayer.EventOrderCreated):   parseOrder,
	string(synclayer.EventOrderUpdated):   parseOrder,
	string(synclayer.EventOrderCancelled): parseOrder,
	string(synclayer.EventOrderRefunded):  parseRefund,
	string(synclayer.EventProductCreated): parseProduct,
	string(synclayer.EventProductUpdated): parseProduct,
	string(synclayer.EventProductDeleted): parseProduct,
}

// parseCommerceEvent reads the timestamp and data of an order or product
// event, then its data.
func parseCommerceEvent(top map[string]json.RawMessage, name string, parse commerceParser, body []byte, now time.Time) (*synclayer.Event, error) {
	at, err := eventTime(top["timestamp"])
	if err != nil {
		return nil, err
	}
	raw, ok := top["data"]
	if !ok || normalize.IsNull(raw) {
		return nil, synclayer.FieldErrorf("data", "missing; the event carries the %s in data", strings.Split(name, "_")[0])
	}
	data, err := normalize.Object("data", raw)
	if err != nil {
		return nil, err
	}
	ev, err := parse(synclayer.EventType(name), data, at)
	if err != nil {
		return nil, err
	}
	ev.Source, ev.Topic, ev.Type, ev.ReceivedAt, ev.Payload = sourceName, name, synclayer.EventType(name), now.UTC(), body
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = at
	}
	return ev, nil
}

// known refuses keys outside allowed, so a misspelt amount is reported
// rather than dropped. Keys are checked in sorted order; a long key is
// clipped in the error, which must not echo a huge input.
func known(path string, obj map[string]json.RawMessage, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(allowed, k) {
			return synclayer.FieldErrorf(join(path, clip(k)), "unknown key; known keys here are %s", strings.Join(allowed, ", "))
		}
	}
	return nil
}

func join(path, key string) string {
	if key == "" {
		key = `""`
	}
	return path + "." + key
}

// requiredID reads data.<key>, which must be there.
func requiredID(data map[string]json.RawMessage, path, key, why string) (string, error) {
	id, err := normalize.ID(path+"."+key, data[key])
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", synclayer.FieldErrorf(path+"."+key, "missing; %s", why)
	}
	return id, nil
}

// optionalTime reads an optional timestamp; absent is the zero time.
func optionalTime(field string, raw json.RawMessage) (time.Time, error) {
	_, t, err := normalize.Date(field, raw)
	return t, err
}

var orderKeys = []string{"cart_id", "created_at", "currency", "customer_id", "email", "id", "items", "status", "total", "updated_at"}

// parseOrder reads order_created, order_updated and order_cancelled:
// {id, email or customer_id, status, currency, total, items[], created_at,
// updated_at}. order_cancelled may leave status out.
func parseOrder(typ synclayer.EventType, data map[string]json.RawMessage, at time.Time) (*synclayer.Event, error) {
	if err := known("data", data, orderKeys...); err != nil {
		return nil, err
	}
	id, err := requiredID(data, "data", "id", "name the order in data.id")
	if err != nil {
		return nil, err
	}
	o := &synclayer.Order{SourceID: id}
	status, err := normalize.String("data.status", data["status"])
	if err != nil {
		return nil, err
	}
	o.Status = synclayer.OrderStatus(status)
	switch {
	case typ == synclayer.EventOrderCancelled:
		o.Status = synclayer.OrderCancelled
	case status == "":
		return nil, synclayer.FieldErrorf("data.status", "missing; set it to %s", synclayer.OrderStatuses)
	case !o.Status.Valid():
		return nil, synclayer.FieldErrorf("data.status", "unknown status %q; use %s", status, synclayer.OrderStatuses)
	}
	if o.Currency, err = normalize.String("data.currency", data["currency"]); err != nil {
		return nil, err
	}
	o.Currency = strings.ToUpper(o.Currency)
	if o.Total, err = normalize.Money("data.total", data["total"]); err != nil {
		return nil, err
	}
	if o.Total.IsZero() {
		return nil, synclayer.FieldErrorf("data.total", "missing; set it to the order's total with shipping and tax, such as 409.94")
	}
	if o.Total.Sign() < 0 {
		return nil, synclayer.FieldErrorf("data.total", "must not be negative; send a refund as order_refunded")
	}
	if o.CreatedAt, err = optionalTime("data.created_at", data["created_at"]); err != nil {
		return nil, err
	}
	if o.UpdatedAt, err = optionalTime("data.updated_at", data["updated_at"]); err != nil {
		return nil, err
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = at
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	raw, ok := data["items"]
	if !ok || normalize.IsNull(raw) {
		return nil, synclayer.FieldErrorf("data.items", "missing; list the order's lines (an empty list is allowed)")
	}
	if o.Items, err = orderItems(raw); err != nil {
		return nil, err
	}
	if o.CartID, err = normalize.ID("data.cart_id", data["cart_id"]); err != nil { // the cart it converts (cart.go)
		return nil, err
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
	if !ch.Identifies() {
		return nil, synclayer.FieldErrorf("data.email", "the order must name its customer: data.email or data.customer_id")
	}
	return &synclayer.Event{OccurredAt: o.UpdatedAt, Order: &synclayer.OrderChange{SourceID: id, Order: o, Customer: ch}}, nil
}

func orderItems(raw json.RawMessage) ([]synclayer.OrderItem, error) {
	items, err := normalize.Array("data.items", raw)
	if err != nil {
		return nil, err
	}
	out := make([]synclayer.OrderItem, 0, len(items))
	for i, raw := range items {
		path := fmt.Sprintf("data.items[%d]", i)
		li, err := normalize.Object(path, raw)
		if err != nil {
			return nil, err
		}
		if err := known(path, li, "price", "product_id", "quantity", "sku", "variant_id"); err != nil {
			return nil, err
		}
		var it synclayer.OrderItem
		if it.ProductID, err = requiredID(li, path, "product_id", "each line names its product"); err != nil {
			return nil, err
		}
		if it.VariantID, err = normalize.ID(path+".variant_id", li["variant_id"]); err != nil {
			return nil, err
		}
		if it.SKU, err = normalize.String(path+".sku", li["sku"]); err != nil {
			return nil, err
		}
		if it.Price, err = normalize.Money(path+".price", li["price"]); err != nil {
			return nil, err
		}
		if it.Price.IsZero() {
			return nil, synclayer.FieldErrorf(path+".price", "missing; set the price of one unit, such as 19.99")
		}
		n, ok, err := normalize.Int64(path+".quantity", li["quantity"])
		if err != nil {
			return nil, err
		}
		if !ok || n < 0 {
			return nil, synclayer.FieldErrorf(path+".quantity", "must be a whole number of units, 0 or more")
		}
		it.Quantity = n
		out = append(out, it)
	}
	return out, nil
}

// parseRefund reads order_refunded: {id (of the refund), order_id, amount,
// created_at}.
func parseRefund(_ synclayer.EventType, data map[string]json.RawMessage, at time.Time) (*synclayer.Event, error) {
	if err := known("data", data, "amount", "created_at", "id", "order_id"); err != nil {
		return nil, err
	}
	id, err := requiredID(data, "data", "id", "name the refund in data.id; a redelivered refund with the same id counts once")
	if err != nil {
		return nil, err
	}
	orderID, err := requiredID(data, "data", "order_id", "name the refunded order in data.order_id")
	if err != nil {
		return nil, err
	}
	r := synclayer.Refund{ID: id, OrderID: orderID}
	if r.Amount, err = normalize.Money("data.amount", data["amount"]); err != nil {
		return nil, err
	}
	if r.Amount.IsZero() || r.Amount.Sign() < 0 {
		return nil, synclayer.FieldErrorf("data.amount", "must be the amount given back, above 0, such as 10.00")
	}
	if r.CreatedAt, err = optionalTime("data.created_at", data["created_at"]); err != nil {
		return nil, err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = at
	}
	return &synclayer.Event{OccurredAt: r.CreatedAt, Order: &synclayer.OrderChange{SourceID: orderID, Refunds: []synclayer.Refund{r}}}, nil
}

var productKeys = []string{"categories", "id", "image_url", "name", "parent_id", "price", "sku", "stock", "updated_at", "url"}

// parseProduct reads product_created, product_updated and product_deleted:
// {id, sku, name, price, stock, url, image_url, categories, parent_id,
// updated_at}. A category is a name (which is also its ID) or {id, name,
// url}. A delete needs only the id.
func parseProduct(typ synclayer.EventType, data map[string]json.RawMessage, at time.Time) (*synclayer.Event, error) {
	if err := known("data", data, productKeys...); err != nil {
		return nil, err
	}
	id, err := requiredID(data, "data", "id", "name the product in data.id")
	if err != nil {
		return nil, err
	}
	updated, err := optionalTime("data.updated_at", data["updated_at"])
	if err != nil {
		return nil, err
	}
	if updated.IsZero() {
		updated = at
	}
	if typ == synclayer.EventProductDeleted {
		return &synclayer.Event{OccurredAt: updated, Product: &synclayer.ProductChange{SourceID: id, Delete: true}}, nil
	}
	p := &synclayer.Product{SourceID: id, UpdatedAt: updated}
	for _, f := range []struct {
		key string
		dst *string
	}{{"sku", &p.SKU}, {"name", &p.Name}, {"url", &p.URL}, {"image_url", &p.ImageURL}, {"parent_id", &p.ParentID}} {
		if f.key == "parent_id" {
			*f.dst, err = normalize.ID("data.parent_id", data[f.key])
		} else {
			*f.dst, err = normalize.String("data."+f.key, data[f.key])
		}
		if err != nil {
			return nil, err
		}
	}
	if p.Name == "" {
		return nil, synclayer.FieldErrorf("data.name", "missing; Brevo needs a product's name")
	}
	if p.Price, err = normalize.Money("data.price", data["price"]); err != nil {
		return nil, err
	}
	if n, ok, err := normalize.Int64("data.stock", data["stock"]); err != nil {
		return nil, err
	} else if ok {
		p.Stock = &n
	}
	ch := &synclayer.ProductChange{SourceID: id, Product: p}
	cats, err := normalize.Array("data.categories", data["categories"])
	if err != nil {
		return nil, err
	}
	for i, raw := range cats {
		c, err := category(fmt.Sprintf("data.categories[%d]", i), raw, updated)
		if err != nil {
			return nil, err
		}
		ch.Categories = append(ch.Categories, c)
		p.Categories = append(p.Categories, c.ID)
	}
	return &synclayer.Event{OccurredAt: updated, Product: ch}, nil
}

func category(path string, raw json.RawMessage, at time.Time) (synclayer.Category, error) {
	if s, err := normalize.String(path, raw); err == nil {
		if s == "" {
			return synclayer.Category{}, synclayer.FieldErrorf(path, "is empty; name the category")
		}
		return synclayer.Category{ID: s, Name: s, UpdatedAt: at}, nil
	}
	obj, err := normalize.Object(path, raw)
	if err != nil {
		return synclayer.Category{}, synclayer.FieldErrorf(path, "must be a category name or an object {\"id\", \"name\", \"url\"}")
	}
	if err := known(path, obj, "id", "name", "url"); err != nil {
		return synclayer.Category{}, err
	}
	c := synclayer.Category{UpdatedAt: at}
	if c.ID, err = requiredID(obj, path, "id", "a category has an id"); err != nil {
		return synclayer.Category{}, err
	}
	if c.Name, err = normalize.String(path+".name", obj["name"]); err != nil {
		return synclayer.Category{}, err
	}
	if c.URL, err = normalize.String(path+".url", obj["url"]); err != nil {
		return synclayer.Category{}, err
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	return c, nil
}
