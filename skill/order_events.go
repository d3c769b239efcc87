package skill

import (
	"context"
	"fmt"

	"synclayer"
)

// OrderEventsName is the skill's name in config, metrics and job rows.
const OrderEventsName = "order-events"

// OrderEvents runs order-events for one destination: each job brings one
// order up to date there, from the order's state when the job runs, so
// one run covers every change made before it. The contact's order totals
// travel through customer-sync, which ingest queues with every order
// change.
type OrderEvents struct {
	Store       synclayer.Store
	Destination string
	Sync        synclayer.OrderSync
}

// Handle delivers one order job. A missing order is permanent; an order
// whose contact is gone is sent without one.
func (s *OrderEvents) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	o, err := s.Store.FindOrderByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, synclayer.Permanent(fmt.Errorf("order %s no longer exists", job.RecordKey))
	}
	if err != nil {
		return nil, nil, err
	}
	var c *synclayer.Contact
	if o.ContactID != "" {
		c, err = s.Store.FindContactByID(ctx, o.ContactID)
		switch {
		case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
			c = nil
		case err != nil:
			return nil, nil, err
		}
	}
	key := synclayer.OrderStateKey(o.ID)
	prev, err := held(ctx, s.Store, key, s.Destination)
	if err != nil {
		return nil, nil, err
	}
	plan, err := s.Sync.Plan(o, c, prev)
	if err != nil {
		return nil, nil, err
	}
	summary := s.Destination + ": no call (" + plan.Reason + ")"
	if plan.Op != synclayer.PlanNone {
		if summary, err = s.Sync.Apply(ctx, o, c, plan); err != nil {
			return nil, nil, err
		}
	}
	traceKey := o.ContactID
	if traceKey == "" {
		traceKey = o.ID
	}
	st, trace := delivered(s.Destination, key, o.ID, traceKey, summary, plan, prev, map[string]any{"order": o.ID, "orderVersion": o.Version})
	return st, trace, nil
}
