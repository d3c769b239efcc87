package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"synclayer"
	"synclayer/skill"
)

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
	// Destination is the account's name in config; "" means brevo.
	Destination string
	Logger      *slog.Logger
}

// OrderPlan is what an order delivery will do.
type OrderPlan struct {
	Op     Op     `json:"op"`
	Order  *Order `json:"order,omitempty"`
	Reason string `json:"reason,omitempty"`
}

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

// Handle brings the job's order up to date in Brevo through the shared
// runner; the batch path hands it what it cannot batch.
func (s *OrderEvents) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	return (&skill.OrderEvents{Store: s.Store, Destination: accountName(s.Destination), Sync: orderSync{s.Client}}).Handle(ctx, job)
}

// orderSync is Brevo's side of order-events: POST /orders/status with
// the order's whole current state.
type orderSync struct{ client *Client }

var _ synclayer.OrderSync = orderSync{}

func (orderSync) Prepare(context.Context) error { return nil }

// Plan is PlanOrder against the order Brevo last received.
func (orderSync) Plan(o *synclayer.Order, c *synclayer.Contact, prev json.RawMessage) (*synclayer.Plan, error) {
	var held *Order
	if err := decodeHeld(prev, &held); err != nil {
		return nil, fmt.Errorf("decode Brevo sync state of order %s: %w", o.ID, err)
	}
	p := PlanOrder(o, c, held)
	if p.Op != OpUpsert {
		return &synclayer.Plan{Op: synclayer.PlanNone, Reason: p.Reason, Detail: p}, nil
	}
	return &synclayer.Plan{Op: synclayer.PlanUpsert, Detail: p, Next: mustJSON(p.Order),
		Calls: []synclayer.PlannedCall{{Method: "POST", Path: "/orders/status", Body: p.Order}}}, nil
}

func (s orderSync) Apply(ctx context.Context, o *synclayer.Order, _ *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	p := plan.Detail.(OrderPlan)
	if err := s.client.UpsertOrder(ctx, *p.Order); err != nil {
		return "", err
	}
	return fmt.Sprintf("brevo: POST /orders/status → 204 (order %s %s, amount %s)", o.ID, p.Order.Status, p.Order.Amount), nil
}

// decodeHeld decodes a held state into *dst, leaving it nil for none.
func decodeHeld[T any](raw json.RawMessage, dst **T) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return err
	}
	*dst = v
	return nil
}

// loadState decodes what Brevo holds for key into *dst, leaving it nil when
// nothing was delivered yet.
func loadState[T any](ctx context.Context, st synclayer.Store, key, destination string, dst **T) error {
	held, err := st.FindSyncState(ctx, key, accountName(destination))
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
