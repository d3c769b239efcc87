package brevo

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

// BatchItem is one record of an e-commerce batch: what to send (nil when
// Brevo already holds it as it is), what Brevo holds afterwards, and whose
// trace records the delivery.
type BatchItem[T any] struct {
	Send     *T
	State    *synclayer.SyncState
	TraceKey string
}

// PlanOrderBatch plans the job's order for POST /orders/status/batch with
// PlanOrder, as Handle does for one order.
func (s *OrderEvents) PlanOrderBatch(ctx context.Context, job *synclayer.Job) (BatchItem[Order], error) {
	o, err := s.Store.FindOrderByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return BatchItem[Order]{}, synclayer.Permanent(fmt.Errorf("order %s no longer exists", job.RecordKey))
	}
	if err != nil {
		return BatchItem[Order]{}, err
	}
	var c *synclayer.Contact
	if o.ContactID != "" {
		if c, err = s.Store.FindContactByID(ctx, o.ContactID); synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
			c = nil
		} else if err != nil {
			return BatchItem[Order]{}, err
		}
	}
	var prev *Order
	if err := loadState(ctx, s.Store, synclayer.OrderStateKey(o.ID), s.Destination, &prev); err != nil {
		return BatchItem[Order]{}, err
	}
	plan := PlanOrder(o, c, prev)
	item := BatchItem[Order]{TraceKey: o.ContactID}
	if item.TraceKey == "" {
		item.TraceKey = o.ID
	}
	sent := prev
	if plan.Op == OpUpsert {
		item.Send, sent = plan.Order, plan.Order
	}
	state, _ := json.Marshal(sent)
	item.State = &synclayer.SyncState{RecordKey: synclayer.OrderStateKey(o.ID), Destination: accountName(s.Destination), RemoteID: o.ID, State: state}
	return item, nil
}
