package mailchimp

import (
	"context"
	"fmt"
	"strings"

	"synclayer"
)

// Apply makes the plan's calls and returns the trace line. Before each
// planned variant PUT it reads the variant, and writes only when it is
// missing (creating its product when that is missing too). It also
// mends what Mailchimp's answers show: a POST of an order Mailchimp
// already holds (its answer was lost) becomes a PATCH of everything, a
// PATCH of an order deleted inside Mailchimp becomes a POST, and a line
// whose product was deleted inside Mailchimp has it made again, once.
func (s *OrderSync) Apply(ctx context.Context, o *synclayer.Order, _ *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	if plan.Op == synclayer.PlanNone {
		return "mailchimp: no call (" + plan.Reason + ")", nil
	}
	next, err := decodeOrderState(plan.Next)
	if err != nil || next == nil || next.Order == nil {
		return "", synclayer.Permanent(fmt.Errorf("mailchimp: the order plan holds no order: %v", err))
	}
	var d orderDetail
	remarshal(plan.Detail, &d)
	want := next.Order
	_, _, minimal := lines(o.Items)
	notes, err := s.ensureAll(ctx, d.Ensure, minimal)
	if err != nil {
		return strings.Join(notes, "; "), err
	}
	var note string
	switch {
	case d.Create:
		note, err = s.create(ctx, want, minimal)
	case d.Patch != nil:
		note, err = s.patch(ctx, want, *d.Patch, minimal)
	}
	if note != "" {
		notes = append(notes, note)
	}
	if err != nil {
		return strings.Join(notes, "; "), err
	}
	for _, line := range d.DeleteLines {
		err := s.client.DeleteOrderLine(ctx, s.opt.StoreID, want.ID, line)
		if err != nil && !IsNotFound(err) {
			return strings.Join(notes, "; "), err
		}
		notes = append(notes, "mailchimp: DELETE "+orderRoute+"/lines/{line_id} → "+gone(err, "204 (line "+line+" removed)"))
	}
	return strings.Join(notes, "; "), nil
}

func (s *OrderSync) create(ctx context.Context, want *Order, minimal map[ProductRef]Variant) (string, error) {
	err := s.retryLines(ctx, want.Lines, minimal, func() error { return s.client.CreateOrder(ctx, s.opt.StoreID, *want) })
	if IsDuplicate(err) {
		err = s.retryLines(ctx, want.Lines, minimal, func() error {
			return s.client.PatchOrder(ctx, s.opt.StoreID, want.ID, fullPatch(want))
		})
		if err != nil {
			return "", err
		}
		return "mailchimp: POST " + storeRoute + "/orders → 400 (Mailchimp holds the order already); PATCH " + orderRoute + " → 200 (" + describeOrder(want) + ")", nil
	}
	if err != nil {
		return "", err
	}
	return "mailchimp: POST " + storeRoute + "/orders → 200 (" + describeOrder(want) + ")", nil
}

func (s *OrderSync) patch(ctx context.Context, want *Order, p OrderPatch, minimal map[ProductRef]Variant) (string, error) {
	err := s.retryLines(ctx, want.Lines, minimal, func() error { return s.client.PatchOrder(ctx, s.opt.StoreID, want.ID, p) })
	if IsNotFound(err) {
		note, err := s.create(ctx, want, minimal)
		return "mailchimp: PATCH " + orderRoute + " → 404 (the order was deleted inside Mailchimp: created again); " + strings.TrimPrefix(note, "mailchimp: "), err
	}
	if err != nil {
		return "", err
	}
	return "mailchimp: PATCH " + orderRoute + " → 200 (" + describePatch(p) + ")", nil
}

func describeOrder(o *Order) string {
	return fmt.Sprintf("order %s %s, total %s %s, %d lines", o.ID, o.FinancialStatus, o.OrderTotal, o.CurrencyCode, len(o.Lines))
}

func describePatch(p OrderPatch) string {
	var parts []string
	if p.FinancialStatus != "" {
		parts = append(parts, "financial_status "+p.FinancialStatus)
	}
	if p.OrderTotal != nil {
		parts = append(parts, "order_total "+p.OrderTotal.String())
	}
	if p.CurrencyCode != "" {
		parts = append(parts, "currency_code "+p.CurrencyCode)
	}
	if p.CancelledAtForeign != "" {
		parts = append(parts, "cancelled_at_foreign")
	}
	if p.ProcessedAtForeign != "" {
		parts = append(parts, "processed_at_foreign")
	}
	if p.Lines != nil {
		parts = append(parts, fmt.Sprintf("%d lines", len(p.Lines)))
	}
	return strings.Join(parts, ", ")
}
