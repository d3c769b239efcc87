package mailchimp

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"synclayer"
)

// Financial statuses of a Mailchimp order, which trigger its order
// notifications (docs/platforms/mailchimp.md, E-commerce).
const (
	FinancialPending   = "pending"
	FinancialPaid      = "paid"
	FinancialRefunded  = "refunded"
	FinancialCancelled = "cancelled"
)

// OrderSync is order-events' Mailchimp side: each canonical order is one
// order of the store, created once (POST) and then updated with only what
// changed (PATCH).
type OrderSync struct{ *commerce }

var _ synclayer.OrderSync = (*OrderSync)(nil)

// NewOrderSync is OrderSync for a client of one's own. Errors name
// options.<key>.
func NewOrderSync(c *Client, cfg synclayer.SkillConfig) (*OrderSync, error) {
	m, err := newCommerce(c, cfg)
	if err != nil {
		return nil, err
	}
	return &OrderSync{m}, nil
}

// orderState is what Mailchimp holds for an order: the order as last
// sent in full, and the variants its lines were made sure of.
type orderState struct {
	Order    *Order       `json:"order,omitempty"`
	Products []ProductRef `json:"products,omitempty"`
}

// orderDetail is the plan's own description, which Apply follows.
type orderDetail struct {
	Ensure      []ProductRef `json:"ensure,omitempty"`
	Create      bool         `json:"create,omitempty"`
	Patch       *OrderPatch  `json:"patch,omitempty"`
	DeleteLines []string     `json:"deleteLines,omitempty"`
}

func decodeOrderState(raw json.RawMessage) (*orderState, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	st := &orderState{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("decode Mailchimp order sync state: %w", err)
	}
	return st, nil
}

// Plan decides the calls for order o of contact c given what Mailchimp
// holds (prev). The amount is Net() (the total less refunds), exact; the
// financial status is pending, paid, refunded (in full or in part) or
// cancelled (also for a failed, deleted or cancelled order, with
// cancelled_at_foreign), since Mailchimp keeps orders rather than forget
// them. A new order sends its customer with opt_in_status false; an
// update never sends the customer. Lines' products not known to be in
// the store are made sure of first (Apply reads before it writes). An
// order never sent that is deleted, or has no contact email, needs no
// call.
func (s *OrderSync) Plan(o *synclayer.Order, c *synclayer.Contact, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	prev, err := decodeOrderState(prevRaw)
	if err != nil {
		return nil, err
	}
	if prev == nil || prev.Order == nil {
		prev = nil
	}
	var cust *Customer
	if prev == nil {
		if o.Deleted {
			return none(prevRaw, "the order was deleted before it was ever sent to Mailchimp"), nil
		}
		if cust, err = customer(c); err != nil {
			return none(prevRaw, "no call: Mailchimp needs the buyer's email for an order, and "+err.Error()), nil
		}
	} else {
		cust = prev.Order.Customer
	}
	want, refs, minimal := s.order(o, cust, prev)
	var known []ProductRef
	if prev != nil {
		known = prev.Products
	}
	need := missing(refs, known)
	next := mustJSON(orderState{Order: want, Products: union(known, refs)})
	calls := ensureCalls(s.opt.StoreID, need, minimal)
	detail := orderDetail{Ensure: need}
	if prev == nil {
		detail.Create = true
		calls = append(calls, synclayer.PlannedCall{Method: "POST", Path: storePath(s.opt.StoreID) + "/orders", Body: want})
		return &synclayer.Plan{Op: synclayer.PlanCreate, Calls: calls, Next: next, Detail: detail}, nil
	}
	patch, changed := diffOrder(prev.Order, want)
	if changed {
		detail.Patch = &patch
		calls = append(calls, synclayer.PlannedCall{Method: "PATCH", Path: orderPath(s.opt.StoreID, o.ID), Body: patch})
	}
	for _, l := range prev.Order.Lines[min(len(want.Lines), len(prev.Order.Lines)):] {
		detail.DeleteLines = append(detail.DeleteLines, l.ID)
		calls = append(calls, synclayer.PlannedCall{Method: "DELETE", Path: orderPath(s.opt.StoreID, o.ID) + "/lines/" + l.ID})
	}
	if len(calls) == 0 {
		return none(prevRaw, "Mailchimp holds the order as it is"), nil
	}
	return &synclayer.Plan{Op: synclayer.PlanUpdate, Calls: calls, Next: next, Detail: detail}, nil
}

func none(prev json.RawMessage, reason string) *synclayer.Plan {
	return &synclayer.Plan{Op: synclayer.PlanNone, Next: prev, Reason: reason}
}

// order is the full Mailchimp order for o, with the lines' variants.
func (s *OrderSync) order(o *synclayer.Order, cust *Customer, prev *orderState) (*Order, []ProductRef, map[ProductRef]Variant) {
	ls, refs, minimal := lines(o.Items)
	want := &Order{ID: o.ID, Customer: cust, FinancialStatus: financialStatus(o), CurrencyCode: firstNonEmpty(o.Currency, s.opt.Currency),
		OrderTotal: money(o.Net()), Lines: ls}
	if !o.CreatedAt.IsZero() {
		want.ProcessedAtForeign = o.CreatedAt.UTC().Format(time.RFC3339)
	}
	if want.FinancialStatus == FinancialCancelled {
		if prev != nil && prev.Order.CancelledAtForeign != "" {
			want.CancelledAtForeign = prev.Order.CancelledAtForeign
		} else if at := o.LastChange(); !at.IsZero() {
			want.CancelledAtForeign = at.UTC().Format(time.RFC3339)
		}
	} else if prev != nil {
		// Mailchimp keeps a cancellation time once set; so does the state.
		want.CancelledAtForeign = prev.Order.CancelledAtForeign
	}
	return want, refs, minimal
}

func financialStatus(o *synclayer.Order) string {
	switch {
	case o.Deleted || o.Status == synclayer.OrderCancelled || o.Status == synclayer.OrderFailed:
		return FinancialCancelled
	case o.Status == synclayer.OrderRefunded || o.Refunded().Sign() > 0:
		return FinancialRefunded
	case o.Status == synclayer.OrderPending:
		return FinancialPending
	}
	return FinancialPaid
}

// diffOrder returns the PATCH body that brings had to want, and whether
// anything changed. Lines are sent whole when any differs.
func diffOrder(had, want *Order) (OrderPatch, bool) {
	var p OrderPatch
	changed := false
	if had.FinancialStatus != want.FinancialStatus {
		p.FinancialStatus, changed = want.FinancialStatus, true
	}
	if had.CurrencyCode != want.CurrencyCode {
		p.CurrencyCode, changed = want.CurrencyCode, true
	}
	if had.OrderTotal.String() != want.OrderTotal.String() {
		total := want.OrderTotal
		p.OrderTotal, changed = &total, true
	}
	if had.ProcessedAtForeign != want.ProcessedAtForeign && want.ProcessedAtForeign != "" {
		p.ProcessedAtForeign, changed = want.ProcessedAtForeign, true
	}
	if had.CancelledAtForeign != want.CancelledAtForeign && want.CancelledAtForeign != "" {
		p.CancelledAtForeign, changed = want.CancelledAtForeign, true
	}
	if !slices.EqualFunc(had.Lines, want.Lines, sameLine) {
		p.Lines, changed = want.Lines, true
	}
	return p, changed
}

func sameLine(a, b Line) bool {
	return a.ID == b.ID && a.ProductID == b.ProductID && a.ProductVariantID == b.ProductVariantID &&
		a.Quantity == b.Quantity && a.Price.String() == b.Price.String()
}

// fullPatch is the PATCH that sets everything want holds but its
// customer, for an order Mailchimp turned out to hold already.
func fullPatch(want *Order) OrderPatch {
	total := want.OrderTotal
	return OrderPatch{FinancialStatus: want.FinancialStatus, CurrencyCode: want.CurrencyCode, OrderTotal: &total,
		ProcessedAtForeign: want.ProcessedAtForeign, CancelledAtForeign: want.CancelledAtForeign, Lines: want.Lines}
}
