package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"synclayer"
)

// applyActivity stores what a ticket, loyalty or form event says and
// fires its trigger. A form lead creates or updates its contact, and a
// loyalty change sets the contact's customerTier, both through the same
// identity and consent rules as a customer event (so a form's
// acceptsMarketing is an opt-in only from the consent-owning source). A
// ticket only looks its sender up: writing to support makes nobody a
// contact, and rules on it see an empty contact when nobody matches.
func (in *Ingester) applyActivity(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	act := ev.Activity
	data := map[string]any{}
	for k, raw := range act.Fields {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			data[k] = v
		}
	}
	key := ev.ID
	var skills []string
	ch := act.Customer
	switch act.Kind {
	case synclayer.EventTicketCreated:
		key = synclayer.CanonicalID(ev.Source, act.ID)
		if ch != nil {
			c, err := in.lookUp(ctx, tx, ev, ch)
			if err != nil || ev.Status == synclayer.EventFailed {
				return nil, err
			}
			if c != nil {
				ev.ContactID = c.ID
				if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: c.ID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
					Summary: fmt.Sprintf("%s from %s (%s): ticket %s", ev.Type, ev.Source, ev.Topic, act.ID)}); err != nil {
					return nil, err
				}
			}
		}
		ev.Status = synclayer.EventApplied
		if ev.ContactID == "" {
			ev.Reason = "no contact has the ticket's email; workflows see the ticket without a contact"
		}
	case synclayer.EventLoyaltyTierChanged, synclayer.EventFormSubmitted:
		if ch == nil {
			return fail(ev, "the %s names nobody", act.Kind)
		}
		var prev string
		if act.Kind == synclayer.EventLoyaltyTierChanged {
			held, err := in.lookUp(ctx, tx, ev, &synclayer.CustomerChange{SourceID: ch.SourceID, Fields: maps.Clone(ch.Fields)})
			if err != nil || ev.Status == synclayer.EventFailed {
				return nil, err
			}
			if held != nil {
				_ = json.Unmarshal(held.Value(synclayer.FieldCustomerTier), &prev)
			}
		}
		s, err := in.applyContact(ctx, tx, ev, ch, act.Kind == synclayer.EventFormSubmitted)
		if err != nil || ev.Status == synclayer.EventFailed {
			return nil, err
		}
		skills = s
		if act.Kind == synclayer.EventLoyaltyTierChanged {
			// A tier was joined only when the contact now holds the
			// event's tier and held another before. The event's status
			// cannot tell: it is applied too when the tier is the one held,
			// or older than it, and the event changed something else (a
			// new loyalty ID).
			var want, now string
			_ = json.Unmarshal(ch.Fields[synclayer.FieldCustomerTier], &want)
			if ev.Status == synclayer.EventApplied && ev.ContactID != "" {
				c, err := tx.FindContactByID(ctx, ev.ContactID)
				if err != nil {
					return nil, err
				}
				_ = json.Unmarshal(c.Value(synclayer.FieldCustomerTier), &now)
			}
			if ev.Status != synclayer.EventApplied || now != want || now == prev {
				return skills, nil
			}
			data["previousTier"] = prev
		}
		if act.Kind == synclayer.EventFormSubmitted {
			ev.Status = synclayer.EventApplied
		}
	case synclayer.EventEmailUnsubscribed, synclayer.EventEmailBounced, synclayer.EventEmailComplained:
		// A destination reports an opt-out made on its side: it goes
		// through the same rules as a store's, so it stands against
		// every older opt-in and reaches every other destination. An
		// address nobody holds yet becomes a contact, or a later signup
		// would not know the person said no.
		if ch == nil || ch.EmailConsent == nil || ch.Email() == "" {
			return fail(ev, "the %s names no email", act.Kind)
		}
		s, err := in.applyContact(ctx, tx, ev, ch, false)
		if err != nil || ev.Status == synclayer.EventFailed {
			return nil, err
		}
		skills = s
		if err := in.traceReport(ctx, tx, ev, data); err != nil {
			return nil, err
		}
	case synclayer.EventContactRemoved:
		// Recorded, and nothing else: a contact deleted in a marketing
		// platform is no reason to delete the shop's customer.
		if ch == nil {
			return fail(ev, "the %s names nobody", act.Kind)
		}
		c, err := in.lookUp(ctx, tx, ev, ch)
		if err != nil || ev.Status == synclayer.EventFailed {
			return nil, err
		}
		ev.Status = synclayer.EventApplied
		if c == nil {
			ev.Reason = "no contact has the email; nothing to record"
			return nil, nil
		}
		ev.ContactID = c.ID
		return nil, tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: c.ID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
			Summary: fmt.Sprintf("deleted inside %s (%s); kept here, and in the other destinations", ev.Source, ev.Topic)})
	default:
		return fail(ev, "unknown activity %s", act.Kind)
	}
	s, err := in.fire(ctx, tx, trigger(ev, act.Kind, key, ev.ContactID, data))
	return append(skills, s...), err
}

// traceReport adds what a destination said about an opt-out (the
// campaign, the reason) to the contact's trace, beside the consent
// decision applyContact recorded.
func (in *Ingester) traceReport(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, data map[string]any) error {
	if ev.ContactID == "" {
		return nil
	}
	summary := fmt.Sprintf("%s reports %s", ev.Source, ev.Topic)
	if v, ok := data["campaign"].(string); ok && v != "" {
		summary += fmt.Sprintf(" from campaign %q", v)
	} else if v, ok := data["campaignId"]; ok && v != nil {
		summary += fmt.Sprintf(" from campaign %v", v)
	}
	if v, ok := data["reason"].(string); ok && v != "" {
		summary += ": " + v
	}
	return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: ev.ContactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID, Summary: summary})
}

// lookUp finds the contact ch identifies, under the identity locks, or
// nil; an invalid email fails the event.
func (in *Ingester) lookUp(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, ch *synclayer.CustomerChange) (*synclayer.Contact, error) {
	if _, err := in.normalize(ch); err != nil {
		_, ferr := fail(ev, "%s", err.Error())
		return nil, ferr
	}
	if err := tx.Lock(ctx, identityKeys(ev.Source, ch)...); err != nil {
		return nil, err
	}
	return in.resolve(ctx, tx, ev.Source, ch)
}
