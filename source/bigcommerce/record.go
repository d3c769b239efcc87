package bigcommerce

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// The record parsers below turn one record, as the REST API returns it,
// into the event synclayer ingests. Fetch (a webhook's notification read
// back) and List (a page of a listing) both use them, so a record read
// either way is the same event with the same DedupeKey: a callback's
// record fetched, then listed again by a reconciliation, counts once.
// Their errors are EINVALID *synclayer.Error values naming the field; the
// caller says which record (Fetch: Permanent; List: a ListPage.Failed).

// dedupeKey is a record's key: its listing kind, id and update time, so a
// record read twice is one event and a later change of it another.
func dedupeKey(kind, id string, at time.Time) string {
	return "bigcommerce:" + kind + ":" + id + ":" + at.UTC().Format(time.RFC3339Nano)
}

// recordID reads a record's id, which every record carries.
func recordID(m map[string]json.RawMessage) (string, error) {
	id, err := normalize.ID("id", m["id"])
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", synclayer.FieldErrorf("id", "missing; every record the API returns has one")
	}
	return id, nil
}

// customerEvent is a v3 customer's event.
func (s *Source) customerEvent(c map[string]json.RawMessage, now time.Time) (*synclayer.Event, error) {
	id, err := recordID(c)
	if err != nil {
		return nil, err
	}
	fields, err := customerFields(c)
	if err != nil {
		return nil, err
	}
	// accepts_product_review_abandoned_cart_emails is consent to product
	// review and abandoned-cart emails, not to marketing: kept as a field,
	// never read as an email opt-in or opt-out (docs/platforms/bigcommerce.md).
	if b, ok, _ := normalize.Bool("accepts_product_review_abandoned_cart_emails", c["accepts_product_review_abandoned_cart_emails"]); ok {
		fields["acceptsAbandonedCartEmails"], _ = json.Marshal(b)
	}
	_, created, err := normalize.Date("date_created", c["date_created"])
	if err != nil {
		return nil, err
	}
	_, modified, err := normalize.Date("date_modified", c["date_modified"])
	if err != nil {
		return nil, err
	}
	if modified.IsZero() {
		modified = now
	}
	modified = modified.UTC()
	typ := synclayer.EventCustomerUpdated
	if !created.IsZero() && created.Equal(modified) {
		typ = synclayer.EventCustomerCreated
	}
	body, _ := json.Marshal(c)
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey(synclayer.ListCustomers, id, modified), Topic: "customer", Type: typ,
		OccurredAt: modified, ReceivedAt: now.UTC(), Payload: body,
		Customer: &synclayer.CustomerChange{SourceID: id, Fields: fields}}, nil
}

// orderEvent is a v2 order's event, with the products v2 lists apart
// (GET /v2/orders/{id}/products).
func (s *Source) orderEvent(o map[string]json.RawMessage, lines []map[string]json.RawMessage, now time.Time) (*synclayer.Event, error) {
	id, err := recordID(o)
	if err != nil {
		return nil, err
	}
	created, err := v2Date("date_created", o["date_created"])
	if err != nil {
		return nil, err
	}
	updated, err := v2Date("date_modified", o["date_modified"])
	if err != nil {
		return nil, err
	}
	ord := &synclayer.Order{SourceID: id, Number: "#" + id, Currency: strings.ToUpper(text(o["currency_code"])),
		CreatedAt: created, UpdatedAt: updated}
	if ord.Total, err = normalize.Money("total_inc_tax", o["total_inc_tax"]); err != nil {
		return nil, err
	} else if ord.Total.IsZero() {
		return nil, synclayer.FieldErrorf("total_inc_tax", "missing; an order carries its total")
	}
	st, _, err := normalize.Int64("status_id", o["status_id"])
	if err != nil {
		return nil, err
	}
	var known bool
	if ord.Status, known = orderStatuses[st]; !known {
		ord.Status = synclayer.OrderPending
	}
	if ord.UpdatedAt.IsZero() {
		ord.UpdatedAt = ord.CreatedAt
	}
	if ord.UpdatedAt.IsZero() {
		return nil, synclayer.FieldErrorf("date_modified", "missing; an order carries its dates")
	}
	if ord.CreatedAt.IsZero() {
		ord.CreatedAt = ord.UpdatedAt
	}
	for i, l := range lines {
		it := synclayer.OrderItem{Name: text(l["name"]), SKU: text(l["sku"])}
		if it.ProductID, err = normalize.ID(fmt.Sprintf("products[%d].product_id", i), l["product_id"]); err != nil {
			return nil, err
		}
		if it.VariantID, err = normalize.ID(fmt.Sprintf("products[%d].variant_id", i), l["variant_id"]); err != nil {
			return nil, err
		}
		if it.Price, err = normalize.Money(fmt.Sprintf("products[%d].price_inc_tax", i), l["price_inc_tax"]); err != nil {
			return nil, err
		}
		if it.Quantity, _, err = normalize.Int64(fmt.Sprintf("products[%d].quantity", i), l["quantity"]); err != nil {
			return nil, err
		}
		if it.ProductID == "" {
			return nil, synclayer.FieldErrorf(fmt.Sprintf("products[%d].product_id", i), "missing; an order's product names the catalog product")
		}
		if it.Price.IsZero() {
			return nil, synclayer.FieldErrorf(fmt.Sprintf("products[%d].price_inc_tax", i), "missing; an order's product carries its price")
		}
		ord.Items = append(ord.Items, it)
	}
	ch := &synclayer.OrderChange{SourceID: id, Order: ord}
	if addr, err := normalize.Object("billing_address", o["billing_address"]); err == nil {
		fields, err := customerFields(addr)
		if err != nil {
			return nil, err
		}
		cust := &synclayer.CustomerChange{Fields: fields}
		if cid, _ := normalize.ID("customer_id", o["customer_id"]); cid != "" && cid != "0" {
			cust.SourceID = cid
		}
		if cust.Identifies() {
			ch.Customer = cust
		}
	}
	typ := synclayer.EventOrderUpdated
	switch {
	case ord.Status == synclayer.OrderCancelled:
		typ = synclayer.EventOrderCancelled
	case ord.Status == synclayer.OrderRefunded:
		typ = synclayer.EventOrderRefunded
	case ord.CreatedAt.Equal(ord.UpdatedAt):
		typ = synclayer.EventOrderCreated
	}
	body, _ := json.Marshal(map[string]any{"order": o, "products": lines})
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey(synclayer.ListOrders, id, ord.UpdatedAt), Topic: "order", Type: typ,
		OccurredAt: ord.UpdatedAt, ReceivedAt: now.UTC(), Payload: body, Order: ch}, nil
}

// v2Date reads a v2 date: RFC 2822 ("Tue, 20 Nov 2012 00:00:00 +0000");
// null or "" is the zero time.
func v2Date(field string, raw json.RawMessage) (time.Time, error) {
	s, err := normalize.String(field, raw)
	if err != nil {
		return time.Time{}, synclayer.FieldErrorf(field, "must be an RFC 2822 date string, as v2 writes dates, not %s", normalize.Clip(string(raw)))
	}
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	if t := v2Time(raw); !t.IsZero() {
		return t, nil
	}
	return time.Time{}, synclayer.FieldErrorf(field, "%q is not an RFC 2822 date such as \"Tue, 20 Nov 2012 00:00:00 +0000\"", normalize.Clip(s))
}

// productEvent is a v3 catalog product's event.
func (s *Source) productEvent(p map[string]json.RawMessage, now time.Time) (*synclayer.Event, error) {
	id, err := recordID(p)
	if err != nil {
		return nil, err
	}
	prod := &synclayer.Product{SourceID: id, Name: text(p["name"]), SKU: text(p["sku"])}
	if prod.Price, err = normalize.Money("price", p["price"]); err != nil {
		return nil, err
	}
	if _, prod.UpdatedAt, err = normalize.Date("date_modified", p["date_modified"]); err != nil {
		return nil, err
	}
	if prod.UpdatedAt.IsZero() {
		prod.UpdatedAt = now
	}
	prod.UpdatedAt = prod.UpdatedAt.UTC()
	if text(p["inventory_tracking"]) != "none" {
		if n, ok, _ := normalize.Int64("inventory_level", p["inventory_level"]); ok {
			prod.Stock = &n
		}
	}
	if cu, err := normalize.Object("custom_url", p["custom_url"]); err == nil {
		prod.URL = text(cu["url"])
	}
	if cats, err := normalize.Array("categories", p["categories"]); err == nil {
		for i, c := range cats {
			cid, err := normalize.ID(fmt.Sprintf("categories[%d]", i), c)
			if err != nil {
				return nil, err
			}
			if cid != "" {
				prod.Categories = append(prod.Categories, cid)
			}
		}
	}
	if prod.Name == "" {
		return nil, synclayer.FieldErrorf("name", "missing; a product has a name")
	}
	body, _ := json.Marshal(p)
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey(synclayer.ListProducts, id, prod.UpdatedAt), Topic: "product", Type: synclayer.EventProductUpdated,
		OccurredAt: prod.UpdatedAt, ReceivedAt: now.UTC(), Payload: body,
		Product: &synclayer.ProductChange{SourceID: id, Product: prod}}, nil
}

// recordError is a ListPage.Failed entry naming the bigcommerce record.
func recordError(what, id string, err error) error {
	return synclayer.RecordError("bigcommerce", what, normalize.Clip(id), err)
}
