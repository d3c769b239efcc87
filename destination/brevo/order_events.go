package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"synclayer"
)

// OrderEventsName is the skill's name in config, metrics and job rows.
const OrderEventsName = "order-events"

// OpUpsert is a create-or-update call: POST /orders/status, or POST
// /products and POST /categories with updateEnabled.
const OpUpsert Op = "upsert"

// OrderEvents is the order-events skill: each change to a canonical order
// becomes one POST /orders/status with the order's current state. The
// contact's order totals travel through customer-sync, which ingest
// queues with every order change.
type OrderEvents struct {
	Store  synclayer.Store
	Client *Client
	Logger *slog.Logger
}

// OrderPlan is what an order delivery will do.
type OrderPlan struct {
	Op     Op     `json:"op"`
	Order  *Order `json:"order,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// OrderStateKey is the sync-state key of an order, apart from the order's
// job key so that an order and a product with the same ID never share one.
func OrderStateKey(id string) string { return "order:" + id }

// PlanOrder decides the Brevo call for order o, placed by contact c (nil
// when no contact is known), given the order Brevo last received (prev,
// nil when never sent). The amount is what the buyer paid and kept (the
// total less refunds), copied digit for digit; updatedAt is the newest of
// the order's and its refunds' times; the contact is identified by its
// email and by ext_id, the canonical contact ID customer-sync gives it.
// A deleted order is sent as cancelled, since Brevo keeps orders. When
// Brevo already holds exactly this order, nothing is sent.
func PlanOrder(o *synclayer.Order, c *synclayer.Contact, prev *Order) OrderPlan {
	status := string(o.Status)
	if o.Deleted {
		status = string(synclayer.OrderCancelled)
	}
	req := Order{
		ID:        o.ID,
		CreatedAt: FormatTime(o.CreatedAt),
		UpdatedAt: FormatTime(o.LastChange()),
		Status:    status,
		Amount:    o.Net(),
		Products:  make([]OrderProduct, 0, len(o.Items)),
		MetaInfo:  map[string]string{"source": o.Source},
	}
	if o.Currency != "" {
		req.MetaInfo["currency"] = o.Currency
	}
	if o.Number != "" {
		req.MetaInfo["number"] = o.Number
	}
	for _, it := range o.Items {
		req.Products = append(req.Products, OrderProduct{ProductID: it.ProductID, VariantID: it.VariantID, Price: it.Price, Quantity: it.Quantity})
	}
	if c != nil {
		req.Identifiers = &OrderIdentifiers{EmailID: c.Email, ExtID: c.ID}
	}
	if prev != nil && sameJSON(*prev, req) {
		return OrderPlan{Op: OpNone, Reason: "Brevo holds the order as it is"}
	}
	return OrderPlan{Op: OpUpsert, Order: &req}
}

// Handle brings the job's order up to date in Brevo. It reads the order
// and its contact when it runs, so one run covers every change made
// before it. A missing order is permanent.
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
	var prev *Order
	if err := loadState(ctx, s.Store, OrderStateKey(o.ID), &prev); err != nil {
		return nil, nil, err
	}
	plan := PlanOrder(o, c, prev)
	summary := "brevo: no call (" + plan.Reason + ")"
	sent := prev
	if plan.Op == OpUpsert {
		if err := s.Client.UpsertOrder(ctx, *plan.Order); err != nil {
			return nil, nil, err
		}
		summary = fmt.Sprintf("brevo: POST /orders/status → 204 (order %s %s, amount %s)", o.ID, plan.Order.Status, plan.Order.Amount)
		sent = plan.Order
	}
	state, _ := json.Marshal(sent)
	detail, _ := json.Marshal(map[string]any{"destination": "brevo", "order": o.ID, "plan": plan, "orderVersion": o.Version})
	traceKey := o.ContactID
	if traceKey == "" {
		traceKey = o.ID
	}
	return &synclayer.SyncState{RecordKey: OrderStateKey(o.ID), Destination: "brevo", RemoteID: o.ID, State: state},
		&synclayer.TraceEntry{ContactID: traceKey, Kind: synclayer.TraceDelivery, Summary: summary, Detail: detail}, nil
}

// loadState decodes what Brevo holds for key into *dst, leaving it nil when
// nothing was delivered yet.
func loadState[T any](ctx context.Context, st synclayer.Store, key string, dst **T) error {
	held, err := st.FindSyncState(ctx, key, "brevo")
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		return nil
	case err != nil:
		return err
	}
	v := new(T)
	if err := json.Unmarshal(held.State, v); err != nil {
		return fmt.Errorf("decode sync state of %s: %w", key, err)
	}
	*dst = v
	return nil
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
