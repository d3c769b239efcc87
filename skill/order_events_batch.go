package skill

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
	"synclayer/destination/brevo"
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
func (s *OrderEvents) PlanOrderBatch(ctx context.Context, job *synclayer.Job) (BatchItem[brevo.Order], error) {
	o, err := s.Store.FindOrderByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return BatchItem[brevo.Order]{}, synclayer.Permanent(fmt.Errorf("order %s no longer exists", job.RecordKey))
	}
	if err != nil {
		return BatchItem[brevo.Order]{}, err
	}
	var c *synclayer.Contact
	if o.ContactID != "" {
		if c, err = s.Store.FindContactByID(ctx, o.ContactID); synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
			c = nil
		} else if err != nil {
			return BatchItem[brevo.Order]{}, err
		}
	}
	var prev *brevo.Order
	if err := loadState(ctx, s.Store, OrderStateKey(o.ID), &prev); err != nil {
		return BatchItem[brevo.Order]{}, err
	}
	plan := PlanOrder(o, c, prev)
	item := BatchItem[brevo.Order]{TraceKey: o.ContactID}
	if item.TraceKey == "" {
		item.TraceKey = o.ID
	}
	sent := prev
	if plan.Op == OpUpsert {
		item.Send, sent = plan.Order, plan.Order
	}
	state, _ := json.Marshal(sent)
	item.State = &synclayer.SyncState{RecordKey: OrderStateKey(o.ID), Destination: "brevo", RemoteID: o.ID, State: state}
	return item, nil
}
