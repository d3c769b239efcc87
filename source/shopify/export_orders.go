package shopify

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// exportTimes are the layouts of the order export's dates
// ("2024-01-15 10:30:00 -0500"), newest form first.
var exportTimes = []string{"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST", time.RFC3339, "2006-01-02"}

func exportTime(col, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, l := range exportTimes {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, synclayer.FieldErrorf(col, "%q is not a date such as 2024-01-15 10:30:00 -0500", normalize.Clip(v))
}

// nextOrder gathers the rows of the next order: the first carries the
// order's own columns, every row one line item.
func (x *ExportReader) nextOrder() (int, *synclayer.Event, error) {
	var rows [][]string
	var lines []int
	name := ""
	for {
		row, l := x.peek, x.peekLine
		x.peek = nil
		if row == nil {
			if x.err != nil {
				err := x.err
				x.err = nil
				return x.peekLine, nil, err
			}
			var err error
			if row, l, err = x.read(); err != nil {
				if err == io.EOF && len(rows) > 0 {
					break
				}
				if len(rows) > 0 {
					x.err, x.peekLine = err, l // report it on the next call
					break
				}
				return l, nil, err
			}
		}
		n := x.get(row, "name")
		if len(rows) > 0 && n != name {
			x.peek, x.peekLine = row, l
			break
		}
		if len(rows) == 0 {
			name = n
		}
		rows, lines = append(rows, row), append(lines, l)
	}
	ev, bad, err := x.order(rows)
	if err != nil {
		// Name the line of the row at fault, not only the order's first.
		return lines[bad], nil, err
	}
	return lines[0], ev, nil
}

// order reads the rows of one order; on an error it also returns the
// index of the row at fault.
func (x *ExportReader) order(rows [][]string) (*synclayer.Event, int, error) {
	first := rows[0]
	name := x.get(first, "name")
	id := x.get(first, "id")
	if id == "" {
		id = strings.TrimPrefix(name, "#")
	}
	if id == "" {
		return nil, 0, synclayer.FieldErrorf(`"Name"`, "the row names no order (Name and Id are empty)")
	}
	o := &synclayer.Order{SourceID: id, Number: name, Currency: strings.ToUpper(x.get(first, "currency"))}
	var err error
	if o.Total, err = normalize.Money(`"Total"`, str(x.get(first, "total"))); err != nil {
		return nil, 0, err
	}
	if o.Total.IsZero() && x.get(first, "total") == "" {
		return nil, 0, synclayer.FieldErrorf(`"Total"`, "missing on the order's first row")
	}
	times := map[string]time.Time{}
	for _, c := range []string{"created at", "paid at", "fulfilled at", "cancelled at"} {
		if times[c], err = exportTime(`"`+c+`"`, x.get(first, c)); err != nil {
			return nil, 0, err
		}
	}
	o.CreatedAt = times["created at"]
	o.UpdatedAt = o.CreatedAt
	for _, t := range times {
		if t.After(o.UpdatedAt) {
			o.UpdatedAt = t
		}
	}
	if o.CreatedAt.IsZero() {
		return nil, 0, synclayer.FieldErrorf(`"Created at"`, "missing on the order's first row")
	}
	status := map[string]json.RawMessage{
		"financial_status":   str(strings.ToLower(x.get(first, "financial status"))),
		"fulfillment_status": str(strings.ToLower(x.get(first, "fulfillment status"))),
		"cancelled_at":       str(x.get(first, "cancelled at")),
	}
	if o.Status, err = orderStatus(status); err != nil {
		return nil, 0, err
	}
	for i, row := range rows {
		it := synclayer.OrderItem{Name: x.get(row, "lineitem name"), SKU: x.get(row, "lineitem sku")}
		// The export names no product IDs: a line is named by its SKU, or
		// else by its name.
		switch {
		case it.SKU != "":
			it.ProductID = "sku-" + it.SKU
		case it.Name != "":
			it.ProductID = "line-" + it.Name
		default:
			continue
		}
		if it.Price, err = normalize.Money(`"Lineitem price"`, str(x.get(row, "lineitem price"))); err != nil {
			return nil, i, err
		}
		q, ok, err := normalize.Int64(`"Lineitem quantity"`, str(x.get(row, "lineitem quantity")))
		if err != nil {
			return nil, i, err
		}
		if !ok || q <= 0 {
			q = 1
		}
		it.Quantity = q
		o.Items = append(o.Items, it)
	}
	ch := &synclayer.OrderChange{SourceID: id, Order: o}
	if v := x.get(first, "refunded amount"); v != "" {
		amount, err := normalize.Money(`"Refunded Amount"`, str(v))
		if err != nil {
			return nil, 0, err
		}
		if amount.Sign() > 0 {
			// One refund per order stands for all the export sums up, so a
			// second backfill of the same export counts it once.
			ch.Refunds = append(ch.Refunds, synclayer.Refund{ID: "export-" + id, OrderID: synclayer.CanonicalID(sourceName, id), Amount: amount, CreatedAt: o.UpdatedAt})
		}
	}
	cust := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	if v := x.get(first, "email"); v != "" {
		cust.Fields[synclayer.FieldEmail] = str(v)
	}
	if v := x.get(first, "phone", "billing phone"); v != "" {
		cust.Fields[synclayer.FieldPhone] = str(strings.TrimPrefix(v, "'"))
	}
	if v := x.get(first, "billing name"); v != "" {
		given, family, _ := strings.Cut(v, " ")
		cust.Fields[synclayer.FieldFirstName] = str(given)
		if family != "" {
			cust.Fields[synclayer.FieldLastName] = str(family)
		}
	}
	if cust.Identifies() {
		ch.Customer = cust
	}
	return &synclayer.Event{Source: sourceName, Topic: "export/orders", Type: synclayer.EventOrderUpdated, OccurredAt: o.UpdatedAt, Order: ch}, 0, nil
}
