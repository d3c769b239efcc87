package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	"synclayer"
)

// fire passes triggers to the workflows, in the transaction that caused
// them, and returns the workflows skill to wake when there are any.
func (in *Ingester) fire(ctx context.Context, tx synclayer.Tx, triggers ...synclayer.Trigger) ([]string, error) {
	if in.cfg.Triggers == nil || len(triggers) == 0 {
		return nil, nil
	}
	if err := in.cfg.Triggers.Fire(ctx, tx, triggers...); err != nil {
		return nil, err
	}
	return []string{synclayer.WorkflowSkill}, nil
}

func trigger(ev *synclayer.Event, typ synclayer.EventType, key, contactID string, data map[string]any) synclayer.Trigger {
	return synclayer.Trigger{Type: typ, Key: key, EventID: ev.ID, ContactID: contactID, At: ev.OccurredAt, Data: data, Source: ev.Source}
}

// merged is what merging a customer change did to its contact.
type merged struct {
	contact *synclayer.Contact // nil when the event found and made no contact
	before  *synclayer.Contact // as held before the merge; nil when created
	changed bool
}

// contactTriggers are the triggers a merged customer change fires:
// contact_created for a new contact (keyed by it, so however many events
// create it, the rules run once), contact_updated for a change to a held
// one, and consent_changed when a consent state changed (both keyed by
// the event).
func contactTriggers(ev *synclayer.Event, m merged) []synclayer.Trigger {
	c := m.contact
	if c == nil || !m.changed || c.Deleted {
		return nil
	}
	var out []synclayer.Trigger
	before := m.before
	if before == nil {
		out = append(out, trigger(ev, synclayer.EventContactCreated, c.ID, c.ID, nil))
		before = &synclayer.Contact{}
	} else {
		out = append(out, trigger(ev, synclayer.EventContactUpdated, ev.ID, c.ID, nil))
	}
	var changed []any
	if c.EmailConsent.State != before.EmailConsent.State {
		changed = append(changed, "email")
	}
	if c.SMSConsent.State != before.SMSConsent.State {
		changed = append(changed, "sms")
	}
	if len(changed) > 0 {
		out = append(out, trigger(ev, synclayer.EventConsentChanged, ev.ID, c.ID, map[string]any{
			"email": string(c.EmailConsent.State), "sms": string(c.SMSConsent.State), "changed": changed,
			"previous": map[string]any{"email": string(before.EmailConsent.State), "sms": string(before.SMSConsent.State)},
		}))
	}
	return out
}

// conflictTriggers are the field_conflict triggers of the decisions that
// refused a change because another system owns the field, one per field,
// keyed by the event and the field. The data names the field, its owners
// and the system that sent the change, not the values: they may be
// personal data, and the trace has them.
func conflictTriggers(ev *synclayer.Event, contactID string, decisions []synclayer.Decision) []synclayer.Trigger {
	var out []synclayer.Trigger
	for _, d := range decisions {
		if !isConflict(d) {
			continue
		}
		owners := strings.TrimPrefix(d.Note, "owned by ")
		owners, _, _ = strings.Cut(owners, ", not ")
		out = append(out, trigger(ev, synclayer.EventFieldConflict, ev.ID+"/"+d.Field, contactID, map[string]any{
			"field": d.Field, "owners": strings.Split(owners, " and "), "from": ev.Source,
		}))
	}
	return out
}

// isConflict reports whether d refused a change of a field another system
// owns; a non-owner repeating the value held is no conflict.
func isConflict(d synclayer.Decision) bool {
	return d.Rule == synclayer.RuleSourceOfTruth && !d.Applied && !bytes.Equal(d.Old, d.New)
}

// snapshot copies what Merge changes in place, for comparing after it.
func snapshot(c *synclayer.Contact) *synclayer.Contact {
	if c.ID == "" {
		return nil
	}
	cp := *c
	cp.Fields = maps.Clone(c.Fields)
	cp.SourceIDs = maps.Clone(c.SourceIDs)
	return &cp
}

// orderData is an order as workflows see it (order.total, order.items,
// order.status, ...), with what was refunded and what is kept.
func orderData(o *synclayer.Order) map[string]any {
	b, _ := json.Marshal(o)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{}
	}
	refunded := o.Refunded()
	if refunded.IsZero() {
		refunded = synclayer.MustMoney("0")
	}
	m["refunded"], m["net"], m["total"] = refunded, o.Net(), o.Total
	return m
}

// changeKey keys a trigger by what the change left (id and a digest of
// data, without the keys named in skip), not by the event that brought
// it: the same change delivered again under another webhook ID, after
// another change of the same second made it apply again, keys the same,
// while two different changes never do.
func changeKey(id string, data map[string]any, skip ...string) string {
	d := maps.Clone(data)
	for _, k := range skip {
		delete(d, k)
	}
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	return id + "@" + hex.EncodeToString(sum[:12])
}

// orderTriggers are the triggers an applied order event fires:
// order_created when the order is first stored (keyed by the order, so
// three deliveries of one creation run the rules once), order_updated
// (keyed by the order as changed: changeKey) and order_cancelled on
// later changes, and order_refunded for each new refund (keyed by the
// refund). They fire after the contact's totals are
// recomputed, so "contact.orders == 1" holds on a first purchase.
func (in *Ingester) orderTriggers(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, held, next, current *synclayer.Order, refunds []synclayer.Refund) ([]string, error) {
	if in.cfg.Triggers == nil {
		return nil, nil
	}
	var ts []synclayer.Trigger
	data := orderData(current)
	if next != nil {
		switch {
		case held == nil:
			ts = append(ts, trigger(ev, synclayer.EventOrderCreated, current.ID, current.ContactID, data))
		default:
			ts = append(ts, trigger(ev, synclayer.EventOrderUpdated, changeKey(current.ID, data, "version"), current.ContactID, data))
		}
		if next.Status == synclayer.OrderCancelled && (held == nil || held.Status != synclayer.OrderCancelled) {
			ts = append(ts, trigger(ev, synclayer.EventOrderCancelled, current.ID, current.ContactID, data))
		}
	}
	for _, r := range refunds {
		d := maps.Clone(data)
		d["refund"] = map[string]any{"id": r.ID, "amount": r.Amount, "createdAt": r.CreatedAt}
		ts = append(ts, trigger(ev, synclayer.EventOrderRefunded, synclayer.CanonicalID(ev.Source, r.ID), current.ContactID, d))
	}
	return in.fire(ctx, tx, ts...)
}
