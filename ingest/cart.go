package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// RecordCarts is what cart-events' route carries: carts, waited on for
// Route.Wait before they may count as abandoned.
const RecordCarts = "carts"

// applyCart stores what a cart event says: the cart (newer-wins by the
// source's updated_at), its contact found or created by identity, the
// platform's word that it was abandoned or checked out. A change to what
// the cart holds restarts the wait: the cart's job is moved to run Wait
// after this receipt (at once when the platform says it is abandoned), in
// this transaction, so the wait survives a restart.
func (in *Ingester) applyCart(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	cc := ev.Cart
	routes := in.routesFor(RecordCarts, ev.Source)
	if len(routes) == 0 {
		ev.Status, ev.Reason = synclayer.EventUnchanged, "no skill takes carts from "+ev.Source+"; enable cart-events for it"
		return nil, nil
	}
	id := synclayer.CanonicalID(ev.Source, cc.SourceID)
	var notes []synclayer.Decision
	if ch := cc.Customer; ch != nil {
		n, err := in.normalize(ch)
		if err != nil {
			// The cart is still kept; only the bad email cannot identify anyone.
			delete(ch.Fields, synclayer.FieldEmail)
			n = append(n, synclayer.Decision{Field: synclayer.FieldEmail, Rule: "invalid_dropped", Note: err.Error()})
		}
		notes = append(notes, n...)
		// Identities are locked before the cart, as applyOrder does
		// before convertCarts, so the two never wait on each other.
		if err := tx.Lock(ctx, identityKeys(ev.Source, ch)...); err != nil {
			return nil, err
		}
	}
	if err := tx.Lock(ctx, "cart:"+id); err != nil {
		return nil, err
	}
	held, err := tx.FindCartByID(ctx, id)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		held, err = nil, nil
	}
	if err != nil {
		return nil, err
	}

	next := &synclayer.Cart{ID: id, Source: ev.Source, SourceID: cc.SourceID, Total: synclayer.MustMoney("0"), UpdatedAt: ev.OccurredAt}
	if held != nil {
		c := *held
		next = &c
	}
	var did []string // what changed, for the trace
	reason := "the cart is as held"
	changed := false // what the cart holds changed: a new wait
	stale := false
	if c := cc.Cart; c != nil {
		if held != nil && c.UpdatedAt.Before(held.UpdatedAt) {
			stale = true
			reason = "a newer version of the cart is held, from " + held.UpdatedAt.Format(time.RFC3339)
		} else {
			cand := *next
			cand.Items = canonicalItems(ev.Source, c.Items)
			cand.Total, cand.Currency, cand.RecoveryURL = c.Total, c.Currency, c.RecoveryURL
			if ch := cc.Customer; ch != nil {
				contact, err := in.recordContact(ctx, tx, ev, "cart "+id, ch, c.UpdatedAt)
				if err != nil {
					return nil, err
				}
				if contact != nil {
					cand.ContactID = contact.ID
				}
			}
			if held == nil || !cand.SameContent(held) {
				changed = true
				cand.ChangedAt, cand.AbandonedAt = ev.ReceivedAt, time.Time{}
				did = append(did, fmt.Sprintf("cart of %d items, %s %s", len(cand.Items), cand.Total, cand.Currency))
			}
			cand.UpdatedAt = later(next.UpdatedAt, cmp.Or(c.UpdatedAt, ev.OccurredAt))
			next = &cand
		}
	}
	if cc.Abandoned && !stale && !next.Converted() && next.AbandonedAt.IsZero() && len(next.Items) > 0 {
		next.AbandonedAt = ev.ReceivedAt
		did = append(did, "abandoned, says "+ev.Source)
	}
	if cc.Completed && !next.Converted() {
		next.ConvertedAt = cc.CompletedAt
		if next.ConvertedAt.IsZero() {
			next.ConvertedAt = ev.OccurredAt
		}
		next.ConvertedBy = synclayer.ConvertedByCheckout
		if cc.OrderID != "" {
			next.ConvertedBy = synclayer.CanonicalID(ev.Source, cc.OrderID)
		}
		did = append(did, "checked out ("+next.ConvertedBy+")")
	}
	ev.ContactID = next.ContactID
	if len(did) == 0 {
		ev.Status, ev.Reason = synclayer.EventUnchanged, reason
		return nil, in.traceCart(ctx, tx, ev, next, "nothing changed ("+reason+")", notes)
	}
	if err := tx.SaveCart(ctx, next); err != nil {
		return nil, err
	}
	ev.Status = synclayer.EventApplied
	var skills []string
	if next.Converted() && (held == nil || !held.Converted()) {
		q, err := enqueueConversion(ctx, tx, routes, id, ev.ReceivedAt)
		if err != nil {
			return nil, err
		}
		skills = append(skills, q...)
	}
	if !next.Converted() && (changed || !next.AbandonedAt.IsZero()) {
		for _, r := range routes {
			runAt := next.ChangedAt.Add(r.Wait)
			if !next.AbandonedAt.IsZero() {
				runAt = next.AbandonedAt
			}
			if err := tx.EnqueueJobAt(ctx, r.Skill, r.Destination, id, runAt, ev.ReceivedAt); err != nil {
				return nil, err
			}
			skills = append(skills, r.Skill)
		}
		did = append(did, "judged at "+next.ChangedAt.Add(routes[0].Wait).Format(time.RFC3339)+" unless an order converts it")
		if !next.AbandonedAt.IsZero() {
			did[len(did)-1] = "judged now unless an order converted it"
		}
	}
	return skills, in.traceCart(ctx, tx, ev, next, strings.Join(did, ", "), notes)
}

// enqueueConversion queues cart id, just converted, on the routes of
// destinations that hold a copy of it (Route.Mirror), to run now: their
// copy is deleted at once. The other routes' jobs find the cart converted
// when their wait ends.
func enqueueConversion(ctx context.Context, tx synclayer.Tx, routes []Route, id string, now time.Time) ([]string, error) {
	var queues []string
	for _, r := range routes {
		if !r.Mirror {
			continue
		}
		if err := tx.EnqueueJobAt(ctx, r.Skill, r.Destination, id, now, now); err != nil {
			return nil, err
		}
		queues = append(queues, r.Skill)
	}
	return queues, nil
}

func canonicalItems(source string, items []synclayer.OrderItem) []synclayer.OrderItem {
	out := slices.Clone(items)
	for i := range out {
		it := &out[i]
		it.ProductID = synclayer.CanonicalID(source, it.ProductID)
		if it.VariantID != "" {
			it.VariantID = synclayer.CanonicalID(source, it.VariantID)
		}
	}
	if out == nil {
		out = []synclayer.OrderItem{}
	}
	return out
}

// convertCarts marks the carts an order was placed from as converted, so
// they are never called abandoned: the cart named by the order's cart or
// checkout token, then the open carts of the order's contact last changed
// before the order was placed (Cart.PlacedFrom, which allows for the two
// clocks' skew). current is the order as stored; nil when no
// skill stores orders, and then the order is read from the event and its
// contact looked up, never created. Cancelled, failed and deleted orders
// convert nothing.
func (in *Ingester) convertCarts(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, current *synclayer.Order) error {
	if len(in.routesFor(RecordCarts, "")) == 0 || ev.Order == nil {
		return nil
	}
	o := current
	if o == nil {
		if ev.Order.Order == nil {
			return nil
		}
		read := *ev.Order.Order
		o = &read
		o.ID = synclayer.CanonicalID(ev.Source, ev.Order.SourceID)
		if ch := ev.Order.Customer; ch != nil {
			if _, err := in.normalize(ch); err != nil {
				delete(ch.Fields, synclayer.FieldEmail)
			}
			if err := tx.Lock(ctx, identityKeys(ev.Source, ch)...); err != nil {
				return err
			}
			c, err := in.resolve(ctx, tx, ev.Source, ch)
			if err != nil {
				return err
			}
			if c != nil {
				o.ContactID = c.ID
			}
		}
	}
	if !o.Counts() {
		return nil
	}
	var converted []string
	convert := func(id string, stub bool, match func(*synclayer.Cart) bool) error {
		if err := tx.Lock(ctx, "cart:"+id); err != nil {
			return err
		}
		c, err := tx.FindCartByID(ctx, id)
		switch {
		case synclayer.ErrorCode(err) == synclayer.ENOTFOUND && stub:
			// The order came first: keep the conversion, so the cart's own
			// webhook, arriving late, finds it converted. The stub has no
			// time of its own, so any version of the cart is newer.
			src, sid, _ := strings.Cut(id, ":")
			c, err = &synclayer.Cart{ID: id, Source: src, SourceID: sid, Items: []synclayer.OrderItem{}, Total: synclayer.MustMoney("0")}, nil
		case err != nil:
			return err
		}
		if c.Converted() || !match(c) {
			return nil
		}
		c.ConvertedAt, c.ConvertedBy = o.CreatedAt, o.ID
		if c.ConvertedAt.IsZero() {
			c.ConvertedAt = ev.OccurredAt
		}
		converted = append(converted, id)
		if err := tx.SaveCart(ctx, c); err != nil {
			return err
		}
		_, err = enqueueConversion(ctx, tx, in.routesFor(RecordCarts, c.Source), id, ev.ReceivedAt)
		return err
	}
	if o.CartID != "" {
		if err := convert(synclayer.CanonicalID(ev.Source, o.CartID), true, func(*synclayer.Cart) bool { return true }); err != nil {
			return err
		}
	}
	if o.ContactID != "" {
		open, err := tx.FindOpenCartsByContact(ctx, o.ContactID)
		if err != nil {
			return err
		}
		for _, c := range open {
			if err := convert(c.ID, false, func(c *synclayer.Cart) bool { return c.PlacedFrom(o) }); err != nil {
				return err
			}
		}
	}
	if len(converted) == 0 {
		return nil
	}
	if current == nil {
		ev.Status, ev.Reason, ev.ContactID = synclayer.EventApplied, "converted "+strings.Join(converted, ", ")+"; the order itself is not stored: "+ev.Reason, o.ContactID
	}
	key := o.ContactID
	if key == "" {
		key = converted[0]
	}
	detail, _ := json.Marshal(map[string]any{"source": ev.Source, "topic": ev.Topic, "order": o.ID, "carts": converted})
	return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: key, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: fmt.Sprintf("order %s converted cart %s: it will not count as abandoned", o.ID, strings.Join(converted, ", ")), Detail: detail})
}

// traceCart records the event in its contact's history, or under the
// cart's ID when no contact is known.
func (in *Ingester) traceCart(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, c *synclayer.Cart, what string, decisions []synclayer.Decision) error {
	key := c.ContactID
	if key == "" {
		key = c.ID
	}
	detail, _ := json.Marshal(map[string]any{
		"source": ev.Source, "topic": ev.Topic, "occurredAt": ev.OccurredAt, "cart": c.ID,
		"items": len(c.Items), "total": c.Total, "currency": c.Currency, "decisions": decisions,
	})
	return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: key, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: fmt.Sprintf("%s from %s (%s): %s", ev.Type, ev.Source, ev.Topic, what), Detail: detail})
}
