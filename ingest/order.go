package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// Kinds of records a Route carries.
const (
	RecordContacts = "contacts"
	RecordOrders   = "orders"
	RecordProducts = "products"
)

func (r Route) carries(kind string) bool {
	if r.Records == "" {
		return kind == RecordContacts
	}
	return r.Records == kind
}

// routesFor returns the routes of kind that take events from source; with
// source "" every route of kind.
func (in *Ingester) routesFor(kind, source string) []Route {
	var out []Route
	for _, r := range in.cfg.Routes {
		if r.carries(kind) && (source == "" || slices.Contains(r.Sources, source)) {
			out = append(out, r)
		}
	}
	return out
}

func enqueue(ctx context.Context, tx synclayer.Tx, routes []Route, key string, at time.Time) ([]string, error) {
	var skills []string
	for _, r := range routes {
		q := r.queueFor(nil) // order totals and commerce records never touch consent
		if err := tx.EnqueueJob(ctx, q, r.Destination, key, at); err != nil {
			return nil, err
		}
		skills = append(skills, q)
	}
	return skills, nil
}

// applyOrder stores what an order event says: the order (newer-wins by its
// updated_at), its refunds (by their own IDs, even before the order is
// known), and its link to a contact found or created by identity
// resolution. An order change then recomputes the totals of each contact
// it touches, merged as source "order-events" (which owns those fields
// while order-events runs), and enqueues the order's delivery and the
// contacts' customer-sync, all in this transaction.
func (in *Ingester) applyOrder(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	oc := ev.Order
	routes := in.routesFor(RecordOrders, ev.Source)
	if len(routes) == 0 {
		ev.Status, ev.Reason = synclayer.EventUnchanged, "no skill takes orders from "+ev.Source+"; enable order-events for it"
		return nil, in.convertCarts(ctx, tx, ev, nil) // cart-events still learns of the order
	}
	id := synclayer.CanonicalID(ev.Source, oc.SourceID)
	var notes []synclayer.Decision
	keys := []string{"order:" + id}
	if ch := oc.Customer; ch != nil {
		n, err := in.normalize(ch)
		if err != nil {
			// The order still counts; only the bad email cannot identify anyone.
			delete(ch.Fields, synclayer.FieldEmail)
			n = append(n, synclayer.Decision{Field: synclayer.FieldEmail, Rule: "invalid_dropped", Note: err.Error()})
		}
		notes = append(notes, n...)
		keys = append(keys, identityKeys(ev.Source, ch)...)
	}
	if err := tx.Lock(ctx, keys...); err != nil {
		return nil, err
	}
	held, err := tx.FindOrderByID(ctx, id)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		held, err = nil, nil
	}
	if err != nil {
		return nil, err
	}

	var did []string                // what changed, for the trace
	var refunded []synclayer.Refund // new or changed refunds, for the triggers
	for _, r := range oc.Refunds {
		r.OrderID = id
		if r.CreatedAt.IsZero() {
			r.CreatedAt = refundTime(held, r.ID, ev.OccurredAt)
		}
		changed, err := tx.SaveRefund(ctx, &r)
		if err != nil {
			return nil, err
		}
		if changed {
			did = append(did, fmt.Sprintf("refund %s of %s", r.ID, r.Amount))
			refunded = append(refunded, r)
		}
	}

	next, reason, err := in.nextOrder(ctx, tx, ev, id, held)
	if err != nil {
		return nil, err
	}
	if next != nil {
		if err := tx.SaveOrder(ctx, next); err != nil {
			return nil, err
		}
		did = append(did, fmt.Sprintf("order %s %s", next.Status, next.Total))
	}
	current := next
	if current == nil {
		current = held
	}
	if current == nil {
		if len(did) > 0 {
			ev.Status, ev.Reason = synclayer.EventUnchanged, "order "+id+" is not known yet; the refund is kept and counts once the order arrives"
		} else {
			ev.Status, ev.Reason = synclayer.EventUnchanged, "no such order"
		}
		return nil, nil
	}
	ev.ContactID = current.ContactID
	if err := in.convertCarts(ctx, tx, ev, current); err != nil {
		return nil, err
	}
	if len(did) == 0 {
		ev.Status, ev.Reason = synclayer.EventUnchanged, reason
		return nil, in.traceOrder(ctx, tx, ev, current, "nothing changed ("+reason+")", notes)
	}

	contacts := []string{current.ContactID}
	if held != nil && held.ContactID != current.ContactID {
		contacts = append(contacts, held.ContactID)
	}
	var skills []string
	for _, cid := range contacts {
		s, decisions, err := in.updateTotals(ctx, tx, ev, cid, id)
		if err != nil {
			return nil, err
		}
		skills = append(skills, s...)
		if cid == current.ContactID {
			notes = append(notes, decisions...)
		}
	}
	s, err := enqueue(ctx, tx, routes, id, ev.ReceivedAt)
	if err != nil {
		return nil, err
	}
	t, err := in.orderTriggers(ctx, tx, ev, held, next, current, refunded)
	if err != nil {
		return nil, err
	}
	s = append(s, t...)
	ev.Status = synclayer.EventApplied
	return append(skills, s...), in.traceOrder(ctx, tx, ev, current, strings.Join(did, ", "), notes)
}

// nextOrder returns the order to save, or nil with the reason when the
// event changes nothing about the order itself.
func (in *Ingester) nextOrder(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, id string, held *synclayer.Order) (*synclayer.Order, string, error) {
	oc := ev.Order
	switch {
	case oc.Delete:
		if held == nil || held.Deleted {
			return nil, "no such order to delete", nil
		}
		next := *held
		next.Deleted = true
		next.UpdatedAt = later(held.UpdatedAt, ev.OccurredAt)
		return &next, "", nil
	case oc.Order == nil:
		return nil, "nothing new about the order", nil
	}
	o := *oc.Order
	if held != nil && o.UpdatedAt.Before(held.UpdatedAt) {
		return nil, "a newer version of the order is held, from " + held.UpdatedAt.Format(time.RFC3339), nil
	}
	o.ID, o.Source, o.Refunds = id, ev.Source, nil
	o.Items = slices.Clone(o.Items)
	for i := range o.Items {
		it := &o.Items[i]
		it.ProductID = synclayer.CanonicalID(ev.Source, it.ProductID)
		if it.VariantID != "" {
			it.VariantID = synclayer.CanonicalID(ev.Source, it.VariantID)
		}
	}
	if held != nil {
		o.ContactID, o.Version = held.ContactID, held.Version
	}
	if ch := oc.Customer; ch != nil {
		c, err := in.recordContact(ctx, tx, ev, "order "+id, ch, o.UpdatedAt)
		if err != nil {
			return nil, "", err
		}
		if c != nil {
			o.ContactID = c.ID
		}
	}
	if held != nil && o.SameContent(held) {
		if o.UpdatedAt.After(held.UpdatedAt) {
			// Keep the newer time, so that an older delivery arriving
			// later is seen as stale.
			quiet := *held
			quiet.UpdatedAt = o.UpdatedAt
			if err := tx.SaveOrder(ctx, &quiet); err != nil {
				return nil, "", err
			}
		}
		return nil, "the order is as held", nil
	}
	return &o, "", nil
}

// recordContact finds the contact an order or cart (what, such as "order
// shopify:1001") belongs to by source ID, email or phone, and creates it
// from the record when none matches and the record has an email or phone:
// a guest's order or cart makes a contact too, without any consent. A
// match that has no ID for the source yet gets the record's customer ID.
func (in *Ingester) recordContact(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, what string, ch *synclayer.CustomerChange, at time.Time) (*synclayer.Contact, error) {
	c, err := in.resolve(ctx, tx, ev.Source, ch)
	if err != nil {
		return nil, err
	}
	if c != nil {
		if ch.SourceID != "" && c.SourceIDs[ev.Source] == "" {
			if c.SourceIDs == nil {
				c.SourceIDs = map[string]string{}
			}
			c.SourceIDs[ev.Source] = ch.SourceID
			c.UpdatedAt = ev.ReceivedAt
			if err := tx.SaveContact(ctx, c); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	if ch.Email() == "" && ch.Phone() == "" {
		return nil, nil
	}
	c = &synclayer.Contact{}
	decisions, _ := synclayer.Merge(c, ch, synclayer.MergeContext{
		Source: ev.Source, At: at, ConsentSources: in.cfg.ConsentSources, FieldOwners: in.cfg.FieldOwners, Create: true,
	})
	c.UpdatedAt = ev.ReceivedAt
	if err := tx.SaveContact(ctx, c); err != nil {
		return nil, err
	}
	if _, err := in.fire(ctx, tx, trigger(ev, synclayer.EventContactCreated, c.ID, c.ID, nil)); err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"source": ev.Source, "topic": ev.Topic, "occurredAt": ev.OccurredAt, "decisions": decisions})
	return c, tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: c.ID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: fmt.Sprintf("contact created from %s (%s from %s)", what, ev.Topic, ev.Source),
		Detail:  detail})
}

// updateTotals recomputes a contact's order totals from all its orders and
// merges them as source "order-events". A change enqueues the contact for
// every route that carries contacts, since the contact changed whatever
// source the order came from.
func (in *Ingester) updateTotals(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, contactID, orderID string) ([]string, []synclayer.Decision, error) {
	if contactID == "" {
		return nil, nil, nil
	}
	c, err := tx.FindContactByID(ctx, contactID)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	orders, err := tx.FindOrdersByContact(ctx, contactID)
	if err != nil {
		return nil, nil, err
	}
	// A payment provider's payments that paid for no order held count as
	// purchases too; one that paid for a held order counts once, as it.
	payments, err := tx.FindPaymentsByContact(ctx, contactID)
	if err != nil {
		return nil, nil, err
	}
	orders = append(orders, synclayer.PaymentPurchases(payments, orders)...)
	// The totals are computed from every order, so they are always the
	// newest word on these fields: date them no earlier than what is held.
	at := ev.ReceivedAt
	for _, f := range synclayer.AggregateFields {
		if held, ok := c.Fields[f]; ok && held.At.After(at) {
			at = held.At
		}
	}
	decisions, changed := synclayer.Merge(c, synclayer.SumOrders(orders).Change(), synclayer.MergeContext{
		Source: synclayer.OrderEventsSource, At: at, FieldOwners: in.cfg.FieldOwners,
	})
	if ch := in.customerStage(c, orders); ch != nil {
		d, ok := synclayer.Merge(c, ch, synclayer.MergeContext{Source: ev.Source, At: ev.OccurredAt, FieldOwners: in.cfg.FieldOwners})
		decisions, changed = append(decisions, d...), changed || ok
	}
	if !changed {
		return nil, decisions, nil
	}
	c.UpdatedAt = ev.ReceivedAt
	if err := tx.SaveContact(ctx, c); err != nil {
		return nil, nil, err
	}
	if contactID != ev.ContactID {
		// The order moved to another contact: trace the old one's new totals.
		detail, _ := json.Marshal(map[string]any{"source": synclayer.OrderEventsSource, "order": orderID, "decisions": decisions})
		if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: contactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
			Summary: "order totals recomputed: order " + orderID + " now belongs to another contact", Detail: detail}); err != nil {
			return nil, nil, err
		}
	}
	skills, err := enqueue(ctx, tx, in.routesFor(RecordContacts, ""), contactID, ev.ReceivedAt)
	return skills, decisions, err
}

// traceOrder records the event in its contact's history, or under the
// order's ID when no contact is known.
func (in *Ingester) traceOrder(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, o *synclayer.Order, what string, decisions []synclayer.Decision) error {
	key := o.ContactID
	if key == "" {
		key = o.ID
	}
	detail, _ := json.Marshal(map[string]any{
		"source": ev.Source, "topic": ev.Topic, "occurredAt": ev.OccurredAt, "order": o.ID,
		"status": o.Status, "total": o.Total, "currency": o.Currency, "decisions": decisions,
	})
	return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: key, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: fmt.Sprintf("%s from %s (%s): %s", ev.Type, ev.Source, ev.Topic, what), Detail: detail})
}

// refundTime dates a refund the source sent without a date: as first seen.
func refundTime(held *synclayer.Order, id string, fallback time.Time) time.Time {
	if held != nil {
		for _, r := range held.Refunds {
			if r.ID == id {
				return r.CreatedAt
			}
		}
	}
	return fallback
}

// identityKeys are the lock keys of the identities a change carries.
func identityKeys(source string, ch *synclayer.CustomerChange) []string {
	var keys []string
	if ch.SourceID != "" {
		keys = append(keys, "src:"+source+":"+ch.SourceID)
	}
	if e := ch.Email(); e != "" {
		keys = append(keys, "email:"+e)
	}
	if p := ch.Phone(); p != "" {
		keys = append(keys, "phone:"+p)
	}
	return keys
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// customerStage is the change a paid order makes to its contact's
// lifecycle stage: customer, when Config.CustomerStageOnFirstOrder is on,
// one of the contact's orders is paid, and its stage is before customer
// (or unset, or other). It is merged as a change from the order's source,
// so the stage's owner (fields: {lifecycleStage: [hubspot]}) and the
// forward-only rule still decide. Nil when there is nothing to propose.
func (in *Ingester) customerStage(c *synclayer.Contact, orders []*synclayer.Order) *synclayer.CustomerChange {
	if !in.cfg.CustomerStageOnFirstOrder {
		return nil
	}
	var cur string
	_ = json.Unmarshal(c.Value(synclayer.FieldLifecycleStage), &cur)
	if synclayer.LifecycleStage(cur).Rank() >= synclayer.StageCustomer.Rank() {
		return nil
	}
	paid := slices.ContainsFunc(orders, func(o *synclayer.Order) bool {
		return !o.Deleted && (o.Status == synclayer.OrderPaid || o.Status == synclayer.OrderCompleted)
	})
	if !paid {
		return nil
	}
	return &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldLifecycleStage: jsonString(string(synclayer.StageCustomer))}}
}
