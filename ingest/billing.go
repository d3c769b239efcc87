package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"synclayer"
)

// applyBilling keeps the subscription or payment a payment provider
// reported, newer-wins by the provider's time of the change, linked to
// the contact that has the provider's customer (found by the customer id,
// or by the email the report carries, which then links the id), and
// fires what the change was against the record held: subscription_started
// and subscription_cancelled once per subscription, payment_failed once
// per failed attempt. A subscription change recomputes its contact's
// subscriptionStatus, plan and mrr.
func (in *Ingester) applyBilling(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	bc := ev.Billing
	if bc.At.IsZero() {
		bc.At = ev.OccurredAt
	}
	var c *synclayer.Contact
	if ch := bc.Customer; ch != nil && ch.Identifies() {
		var err error
		if c, err = in.lookUp(ctx, tx, ev, ch); err != nil || ev.Status == synclayer.EventFailed {
			return nil, err
		}
		if c != nil && ch.SourceID != "" && c.SourceIDs[ev.Source] == "" {
			if c.SourceIDs == nil {
				c.SourceIDs = map[string]string{}
			}
			c.SourceIDs[ev.Source] = ch.SourceID
			if err := tx.SaveContact(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case bc.Subscription != nil:
		return in.applySubscription(ctx, tx, ev, c)
	case bc.Payment != nil:
		return in.applyPayment(ctx, tx, ev, c)
	}
	return fail(ev, "the billing report holds neither a subscription nor a payment")
}

func (in *Ingester) applySubscription(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, c *synclayer.Contact) ([]string, error) {
	bc := ev.Billing
	s := *bc.Subscription
	if s.SourceID == "" {
		return fail(ev, "the subscription has no id")
	}
	if !slices.Contains(synclayer.SubscriptionStatuses, s.Status) {
		return fail(ev, "the subscription's status %q is not one of %v", s.Status, synclayer.SubscriptionStatuses)
	}
	s.ID, s.Source, s.UpdatedAt = synclayer.CanonicalID(ev.Source, s.SourceID), ev.Source, bc.At
	if err := tx.Lock(ctx, "subscription:"+s.ID); err != nil {
		return nil, err
	}
	held, err := tx.FindSubscriptionByID(ctx, s.ID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		held = nil
	case err != nil:
		return nil, err
	}
	if held != nil && bc.At.Before(held.UpdatedAt) {
		ev.Status, ev.ContactID = synclayer.EventUnchanged, held.ContactID
		ev.Reason = fmt.Sprintf("stale: the subscription held changed at %s, after this report (%s)", stamp(held.UpdatedAt), stamp(bc.At))
		return nil, nil
	}
	if c != nil {
		s.ContactID = c.ID
	} else if held != nil {
		s.ContactID = held.ContactID
	}
	if held != nil {
		s.Version = held.Version
		if s.StartedAt.IsZero() {
			s.StartedAt = held.StartedAt
		}
		if sameSubscription(held, &s) {
			ev.Status, ev.Reason, ev.ContactID = synclayer.EventUnchanged, "the subscription held is the same", s.ContactID
			return nil, nil
		}
	}
	if err := tx.SaveSubscription(ctx, &s); err != nil {
		return nil, err
	}
	ev.Status, ev.ContactID = synclayer.EventApplied, s.ContactID
	if s.ContactID == "" {
		ev.Reason = "no contact has the subscription's customer yet; it is linked once a report names the customer's email"
	}
	var skills []string
	for _, id := range slices.Compact([]string{heldSubscriptionContact(held), s.ContactID}) {
		out, err := in.updateBillingFields(ctx, tx, ev, id)
		if err != nil {
			return nil, err
		}
		skills = append(skills, out...)
	}
	if s.ContactID != "" {
		if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: s.ContactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
			Summary: fmt.Sprintf("subscription %s from %s (%s): %s, %s", s.SourceID, ev.Source, ev.Topic, s.Status, s.Plan)}); err != nil {
			return nil, err
		}
	}
	view := map[string]any{"subscription": subscriptionView(&s, bc.Fields)}
	wasLive := held != nil && (synclayer.SubscriptionLive(held.Status) || held.Status == synclayer.SubscriptionCanceled)
	var ts []synclayer.Trigger
	if synclayer.SubscriptionLive(s.Status) && !wasLive {
		ts = append(ts, trigger(ev, synclayer.EventSubscriptionStarted, s.ID+":started", s.ContactID, view["subscription"].(map[string]any)))
	}
	if s.Status == synclayer.SubscriptionCanceled && (held == nil || held.Status != synclayer.SubscriptionCanceled) {
		ts = append(ts, trigger(ev, synclayer.EventSubscriptionCancelled, s.ID+":cancelled", s.ContactID, view["subscription"].(map[string]any)))
	}
	out, err := in.fire(ctx, tx, ts...)
	return append(skills, out...), err
}

func heldSubscriptionContact(s *synclayer.Subscription) string {
	if s == nil {
		return ""
	}
	return s.ContactID
}

func sameSubscription(a, b *synclayer.Subscription) bool {
	return a.ContactID == b.ContactID && a.CustomerID == b.CustomerID && a.Status == b.Status && a.Plan == b.Plan &&
		a.Currency == b.Currency && a.MRR.Cmp(b.MRR) == 0 && a.CurrentPeriodEnd.Equal(b.CurrentPeriodEnd) &&
		a.CancelAtPeriodEnd == b.CancelAtPeriodEnd && a.CanceledAt.Equal(b.CanceledAt)
}

func subscriptionView(s *synclayer.Subscription, extra map[string]json.RawMessage) map[string]any {
	view := rawView(extra)
	for k, v := range map[string]any{
		"id": s.SourceID, "customerId": s.CustomerID, "status": s.Status, "plan": s.Plan, "currency": s.Currency,
		"mrr": moneyValue(s.MRR), "currentPeriodEnd": stamp(s.CurrentPeriodEnd), "cancelAtPeriodEnd": s.CancelAtPeriodEnd,
		"startedAt": stamp(s.StartedAt), "canceledAt": stamp(s.CanceledAt),
	} {
		view[k] = v
	}
	return view
}

func (in *Ingester) applyPayment(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, c *synclayer.Contact) ([]string, error) {
	bc := ev.Billing
	p := *bc.Payment
	if p.SourceID == "" {
		return fail(ev, "the payment has no id")
	}
	if !slices.Contains(synclayer.PaymentStatuses, p.Status) {
		return fail(ev, "the payment's status %q is not one of %v", p.Status, synclayer.PaymentStatuses)
	}
	p.ID, p.Source, p.UpdatedAt = synclayer.CanonicalID(ev.Source, p.SourceID), ev.Source, bc.At
	if err := tx.Lock(ctx, "payment:"+p.ID); err != nil {
		return nil, err
	}
	held, err := tx.FindPaymentByID(ctx, p.ID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		held = nil
	case err != nil:
		return nil, err
	}
	if held != nil && bc.At.Before(held.UpdatedAt) {
		ev.Status, ev.ContactID = synclayer.EventUnchanged, held.ContactID
		ev.Reason = fmt.Sprintf("stale: the payment held changed at %s, after this report (%s)", stamp(held.UpdatedAt), stamp(bc.At))
		return nil, nil
	}
	if c != nil {
		p.ContactID = c.ID
	} else if held != nil {
		p.ContactID = held.ContactID
	}
	if held != nil {
		p.Version = held.Version
		if p.CreatedAt.IsZero() {
			p.CreatedAt = held.CreatedAt
		}
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = bc.At
	}
	if err := tx.SavePayment(ctx, &p); err != nil {
		return nil, err
	}
	ev.Status, ev.ContactID = synclayer.EventApplied, p.ContactID
	if p.ContactID == "" {
		ev.Reason = "no contact has the payment's customer"
	} else if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: p.ContactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: fmt.Sprintf("payment %s from %s (%s): %s %s %s", p.SourceID, ev.Source, ev.Topic, p.Status, p.Amount, p.Currency)}); err != nil {
		return nil, err
	}
	// The contact's totals count the payment as a purchase unless it paid
	// for an order synclayer holds (synclayer.PaymentPurchases).
	var skills []string
	for _, id := range slices.Compact([]string{heldPaymentContact(held), p.ContactID}) {
		s, _, err := in.updateTotals(ctx, tx, ev, id, p.ID)
		if err != nil {
			return nil, err
		}
		skills = append(skills, s...)
	}
	if p.Status != synclayer.PaymentFailed || (held != nil && held.Status == synclayer.PaymentFailed && held.Attempts == p.Attempts) {
		return skills, nil
	}
	view := rawView(bc.Fields)
	for k, v := range map[string]any{
		"id": p.SourceID, "status": p.Status, "amount": moneyValue(p.Amount), "currency": p.Currency, "attempts": p.Attempts,
		"failureMessage": p.FailureMessage, "subscriptionId": p.SubscriptionID, "orderId": p.OrderID, "customerId": p.CustomerID,
	} {
		view[k] = v
	}
	// Keyed by the attempt: Stripe's retry of an invoice is a new failure,
	// a redelivery of one (under any event id) is not.
	out, err := in.fire(ctx, tx, trigger(ev, synclayer.EventPaymentFailed, p.ID+"#"+strconv.Itoa(p.Attempts), p.ContactID, view))
	return append(skills, out...), err
}

func heldPaymentContact(p *synclayer.Payment) string {
	if p == nil {
		return ""
	}
	return p.ContactID
}

func rawView(fields map[string]json.RawMessage) map[string]any {
	view := map[string]any{}
	for k, raw := range fields {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			view[k] = v
		}
	}
	return view
}

// moneyValue is an amount as rules see it, as order totals are: the
// exact Money, or nil when there is none.
func moneyValue(m synclayer.Money) any {
	if m.IsZero() {
		return nil
	}
	return m
}

// updateBillingFields recomputes a contact's subscription fields from
// all its subscriptions and merges them as source "billing".
func (in *Ingester) updateBillingFields(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, contactID string) ([]string, error) {
	return in.recompute(ctx, tx, ev, contactID, synclayer.BillingSource, synclayer.BillingFields, "subscription fields recomputed",
		func(c *synclayer.Contact) (*synclayer.CustomerChange, error) {
			subs, err := tx.FindSubscriptionsByContact(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			return synclayer.SumSubscriptions(subs).Change(), nil
		})
}

// recompute merges fields computed from a contact's own records (its
// tickets, its subscriptions) as source, which owns them: dated no
// earlier than what is held, since they are computed from every record
// and so are always the newest word on those fields. A change is saved,
// traced with summary and enqueued on every route that carries contacts,
// whatever source the record came from.
func (in *Ingester) recompute(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, contactID, source string, fields []string, summary string,
	compute func(*synclayer.Contact) (*synclayer.CustomerChange, error)) ([]string, error) {
	if contactID == "" {
		return nil, nil
	}
	c, err := tx.FindContactByID(ctx, contactID)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ch, err := compute(c)
	if err != nil {
		return nil, err
	}
	at := ev.ReceivedAt
	for _, f := range fields {
		if held, ok := c.Fields[f]; ok && held.At.After(at) {
			at = held.At
		}
	}
	owners := maps.Clone(in.cfg.FieldOwners)
	if owners == nil {
		owners = map[string][]string{}
	}
	for _, f := range fields {
		owners[f] = []string{source}
	}
	decisions, changed := synclayer.Merge(c, ch, synclayer.MergeContext{Source: source, At: at, FieldOwners: owners})
	if !changed {
		return nil, nil
	}
	c.UpdatedAt = ev.ReceivedAt
	if err := tx.SaveContact(ctx, c); err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"source": source, "decisions": decisions})
	if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: contactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: summary, Detail: detail}); err != nil {
		return nil, err
	}
	return enqueue(ctx, tx, in.routesFor(RecordContacts, ""), contactID, ev.ReceivedAt)
}
