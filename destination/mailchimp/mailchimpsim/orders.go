package mailchimpsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// Line is an order or cart line.
type Line struct {
	ID               string      `json:"id"`
	ProductID        string      `json:"product_id"`
	ProductVariantID string      `json:"product_variant_id"`
	Quantity         int64       `json:"quantity"`
	Price            json.Number `json:"price"`
}

// Order is a store's order.
type Order struct {
	ID                 string      `json:"id"`
	CustomerID         string      `json:"-"`
	FinancialStatus    string      `json:"financial_status,omitempty"`
	CurrencyCode       string      `json:"currency_code"`
	OrderTotal         json.Number `json:"order_total"`
	ProcessedAtForeign string      `json:"processed_at_foreign,omitempty"`
	CancelledAtForeign string      `json:"cancelled_at_foreign,omitempty"`
	Lines              []Line      `json:"lines"`
	Patches            int         `json:"-"` // PATCHes received
}

// orderBody is a POST or PATCH of an order; absent fields stay empty.
type orderBody struct {
	Order
	Customer *customerBody `json:"customer"`
}

const (
	detailNoProduct = "A product with the provided ID does not exist in the account for this list."
	detailNoVariant = "A product variant with the provided ID does not exist in the account for this list."
)

// checkLines returns the problem detail of a line naming a product or
// variant the store does not hold, or "".
func (st *store) checkLines(lines []Line) string {
	for _, l := range lines {
		p, v := st.hasVariant(l.ProductID, l.ProductVariantID)
		switch {
		case !p:
			return detailNoProduct
		case !v:
			return detailNoVariant
		}
	}
	return ""
}

// mergeLines adds or replaces lines by ID; a line without an ID is added
// with the next number.
func mergeLines(had, sent []Line) []Line {
	out := append([]Line{}, had...)
	for _, l := range sent {
		if l.ID == "" {
			l.ID = strconv.Itoa(len(out) + 1)
		}
		if i := slices.IndexFunc(out, func(x Line) bool { return x.ID == l.ID }); i >= 0 {
			out[i] = l
		} else {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) handleOrderCreate(w http.ResponseWriter, r *http.Request) {
	var b orderBody
	if !decode(w, r, &b) {
		return
	}
	st, ok := s.lookupStore(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if b.ID == "" || b.CurrencyCode == "" || b.OrderTotal == "" || b.Customer == nil {
		invalid(w, validationDetail, FieldError{Field: "id", Message: "id, customer, currency_code, order_total and lines are required"})
		return
	}
	if st.orders[b.ID] != nil {
		badRequest(w, "We were unable to process the request. An order with the provided ID already exists in the account.")
		return
	}
	if d := st.checkLines(b.Lines); d != "" {
		badRequest(w, d)
		return
	}
	if d := s.customer(st, b.Customer); d != "" {
		invalid(w, d, FieldError{Field: "customer", Message: d})
		return
	}
	o := b.Order
	o.CustomerID = b.Customer.ID
	o.Lines = mergeLines(nil, b.Lines)
	st.orders[o.ID] = &o
	writeJSON(w, http.StatusOK, s.orderJSON(st, &o))
}

func (s *Server) order(w http.ResponseWriter, r *http.Request) (*store, *Order, bool) {
	st, ok := s.lookupStore(w, r)
	if !ok {
		return nil, nil, false
	}
	o := st.orders[r.PathValue("order_id")]
	if o == nil {
		s.mu.Unlock()
		notFound(w)
		return nil, nil, false
	}
	return st, o, true
}

func (s *Server) handleOrderGet(w http.ResponseWriter, r *http.Request) {
	st, o, ok := s.order(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.orderJSON(st, o))
}

// handleOrderPatch sets the fields sent. Lines are merged by ID (whether
// Mailchimp merges or replaces them is not documented; merging is the
// stricter case, so a client must delete the lines it dropped). A
// customer's opt_in_status true subscribes as on a POST.
func (s *Server) handleOrderPatch(w http.ResponseWriter, r *http.Request) {
	var b orderBody
	if !decode(w, r, &b) {
		return
	}
	st, o, ok := s.order(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if d := st.checkLines(b.Lines); d != "" {
		badRequest(w, d)
		return
	}
	if b.Customer != nil && b.Customer.OptInStatus != nil {
		b.Customer.ID = o.CustomerID
		s.customer(st, b.Customer)
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&o.FinancialStatus, b.FinancialStatus)
	set(&o.CurrencyCode, b.CurrencyCode)
	set((*string)(&o.OrderTotal), string(b.OrderTotal))
	set(&o.ProcessedAtForeign, b.ProcessedAtForeign)
	set(&o.CancelledAtForeign, b.CancelledAtForeign)
	o.Lines = mergeLines(o.Lines, b.Lines)
	o.Patches++
	writeJSON(w, http.StatusOK, s.orderJSON(st, o))
}

func (s *Server) handleOrderLineDelete(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.order(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	o.Lines, ok = deleteLine(o.Lines, r.PathValue("line_id"))
	if !ok {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func deleteLine(lines []Line, id string) ([]Line, bool) {
	i := slices.IndexFunc(lines, func(l Line) bool { return l.ID == id })
	if i < 0 {
		return lines, false
	}
	return append([]Line{}, slices.Delete(lines, i, i+1)...), true
}

func (s *Server) orderJSON(st *store, o *Order) map[string]any {
	out := map[string]any{"id": o.ID, "store_id": st.ID, "financial_status": o.FinancialStatus, "currency_code": o.CurrencyCode,
		"order_total": o.OrderTotal, "lines": o.Lines, "customer": customerJSON(st.customers[o.CustomerID])}
	if o.ProcessedAtForeign != "" {
		out["processed_at_foreign"] = o.ProcessedAtForeign
	}
	if o.CancelledAtForeign != "" {
		out["cancelled_at_foreign"] = o.CancelledAtForeign
	}
	return out
}

func customerJSON(c *Customer) map[string]any {
	if c == nil {
		return map[string]any{}
	}
	return map[string]any{"id": c.ID, "email_address": c.Email, "opt_in_status": c.OptIn}
}
