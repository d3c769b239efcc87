package woocommerce

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// orderStatuses maps WooCommerce's order statuses. A status a plugin added
// is read as paid when the order has a payment date, pending otherwise.
var orderStatuses = map[string]synclayer.OrderStatus{
	"pending":        synclayer.OrderPending,
	"on-hold":        synclayer.OrderPending,
	"checkout-draft": synclayer.OrderPending,
	"processing":     synclayer.OrderPaid,
	"completed":      synclayer.OrderCompleted,
	"cancelled":      synclayer.OrderCancelled,
	"trash":          synclayer.OrderCancelled,
	"refunded":       synclayer.OrderRefunded,
	"failed":         synclayer.OrderFailed,
}

// parseOrder reads a REST order resource, or the {"id": N} of a delete. It
// returns the change, date_modified_gmt as sent (for the dedupe key) and
// the time of the change. Refunds come inside the order (WooCommerce fires
// order.updated for a refund); their totals are negative and read as
// amounts given back.
func parseOrder(obj map[string]json.RawMessage, deleted bool) (*synclayer.OrderChange, string, time.Time, error) {
	id, err := requiredID(obj)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	ch := &synclayer.OrderChange{SourceID: id}
	if deleted {
		ch.Delete = true
		return ch, "", time.Time{}, nil
	}
	o := &synclayer.Order{SourceID: id}
	if o.Number, err = normalize.String("number", obj["number"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if o.Number != "" {
		o.Number = "#" + o.Number
	}
	if o.Currency, err = normalize.String("currency", obj["currency"]); err != nil {
		return nil, "", time.Time{}, err
	}
	o.Currency = strings.ToUpper(o.Currency)
	if o.Total, err = normalize.Money("total", obj["total"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if o.Total.IsZero() {
		return nil, "", time.Time{}, synclayer.FieldErrorf("total", "missing; an order payload carries its total")
	}
	status, err := normalize.String("status", obj["status"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	paid, err := normalize.String("date_paid_gmt", obj["date_paid_gmt"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	var known bool
	if o.Status, known = orderStatuses[status]; !known {
		o.Status = synclayer.OrderPending
		if paid != "" {
			o.Status = synclayer.OrderPaid
		}
	}
	modified, err := normalize.String("date_modified_gmt", obj["date_modified_gmt"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if _, o.UpdatedAt, err = normalize.Date("date_modified_gmt", obj["date_modified_gmt"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if _, o.CreatedAt, err = normalize.Date("date_created_gmt", obj["date_created_gmt"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	if o.Items, err = lineItems(obj["line_items"]); err != nil {
		return nil, "", time.Time{}, err
	}
	ch.Order = o
	if ch.Customer, err = orderCustomer(obj); err != nil {
		return nil, "", time.Time{}, err
	}
	refunds, err := normalize.Array("refunds", obj["refunds"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	for i, raw := range refunds {
		path := fmt.Sprintf("refunds[%d]", i)
		r, err := normalize.Object(path, raw)
		if err != nil {
			return nil, "", time.Time{}, err
		}
		rid, err := normalize.ID(path+".id", r["id"])
		if err != nil {
			return nil, "", time.Time{}, err
		}
		if rid == "" {
			return nil, "", time.Time{}, synclayer.FieldErrorf(path+".id", "missing; a refund has an id")
		}
		amount, err := normalize.Money(path+".total", r["total"])
		if err != nil {
			return nil, "", time.Time{}, err
		}
		if amount.IsZero() {
			amount = synclayer.MustMoney("0")
		}
		// The refund's own date is not in the order; ingest dates it when
		// it first sees it.
		ch.Refunds = append(ch.Refunds, synclayer.Refund{ID: rid, OrderID: id, Amount: amount.Abs()})
	}
	return ch, modified, o.UpdatedAt, nil
}

// lineItems reads line_items: product_id and, for a variable product,
// variation_id, which WooCommerce numbers among products.
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
		if it.ProductID, err = normalize.ID(path+".product_id", li["product_id"]); err != nil {
			return nil, err
		}
		variation, err := normalize.ID(path+".variation_id", li["variation_id"])
		if err != nil {
			return nil, err
		}
		if variation != "0" {
			it.VariantID = variation
		}
		if it.ProductID == "" || it.ProductID == "0" {
			lineID, err := normalize.ID(path+".id", li["id"])
			if err != nil {
				return nil, err
			}
			if lineID == "" {
				return nil, synclayer.FieldErrorf(path+".product_id", "missing, and so is the line's id; a line names what was bought")
			}
			it.ProductID = "line-" + lineID
		}
		if err := normalize.LineItem(path, li, &it); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// orderCustomer reads who placed the order: customer_id (0 for a guest)
// and the billing address's email, phone and name.
func orderCustomer(obj map[string]json.RawMessage) (*synclayer.CustomerChange, error) {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	id, err := normalize.ID("customer_id", obj["customer_id"])
	if err != nil {
		return nil, err
	}
	if id != "0" {
		ch.SourceID = id
	}
	if raw, ok := obj["billing"]; ok && !normalize.IsNull(raw) {
		billing, err := normalize.Object("billing", raw)
		if err != nil {
			return nil, err
		}
		for _, f := range []struct{ from, to string }{
			{"email", synclayer.FieldEmail}, {"phone", synclayer.FieldPhone},
			{"first_name", synclayer.FieldFirstName}, {"last_name", synclayer.FieldLastName},
		} {
			v, err := normalize.Text("billing."+f.from, billing[f.from])
			if err != nil {
				return nil, err
			}
			if !normalize.IsNull(v) {
				ch.Fields[f.to] = v
			}
		}
	}
	if !ch.Identifies() {
		return nil, nil
	}
	return ch, nil
}

// requiredID reads the resource's id, which every payload carries.
func requiredID(obj map[string]json.RawMessage) (string, error) {
	id, err := normalize.ID("id", obj["id"])
	if err != nil {
		return "", err
	}
	if id == "" || id == "0" {
		return "", synclayer.FieldErrorf("id", "missing; is the webhook's API version WP REST API Integration v3?")
	}
	return id, nil
}
