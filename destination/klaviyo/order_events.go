package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"synclayer"
)

// OrderSync is order-events on one Klaviyo account: each order becomes
// Klaviyo metric events on its contact's profile, each sent once. Build
// it with Destination.OrderSync.
type OrderSync struct {
	client *Client
	log    *slog.Logger
}

var _ synclayer.OrderSync = (*OrderSync)(nil)

// orderState is what order-events records for an order: the unique_id of
// every event Klaviyo was sent, sorted.
type orderState struct {
	Sent []string `json:"sent"`
}

// orderDetail is the plan's Detail: the events Apply sends, in order.
type orderDetail struct {
	Events []Event `json:"events"`
}

// orderEventID is the unique_id of one of an order's events: the order
// ID for Placed Order; for the others the order ID, the kind ("item",
// "refund", "cancel") and, for items and refunds, their key.
func orderEventID(orderID, kind, key string) string {
	if kind == "" {
		return orderID
	}
	if key == "" {
		return orderID + ":" + kind
	}
	return orderID + ":" + kind + ":" + key
}

// Plan decides the events that bring Klaviyo from prev to o, placed by
// c. Placed Order and an Ordered Product per line go once the order
// counts (synclayer.Order.Counts); a Refunded Order per refund and one
// Cancelled Order (cancelled or deleted) follow only an order Klaviyo was
// told was placed. Events already sent are never sent again, so a
// redelivered or replayed order sends nothing. An order without a
// contact email cannot be attributed to a profile: PlanNone, not an
// error. Nothing here sends consent.
func (s *OrderSync) Plan(o *synclayer.Order, c *synclayer.Contact, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	var prev orderState
	if !isNull(prevRaw) {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			return nil, fmt.Errorf("klaviyo: decode order sync state: %w", err)
		}
	}
	none := func(reason string) *synclayer.Plan {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(prev), Reason: reason}
	}
	if c == nil || strings.TrimSpace(c.Email) == "" {
		return none("no contact email is known for the order, so Klaviyo cannot attribute its events to a profile"), nil
	}
	sent := map[string]bool{}
	for _, id := range prev.Sent {
		sent[id] = true
	}
	var events []Event
	for _, e := range orderEvents(o, c, sent[o.ID]) {
		if !sent[e.UniqueID] {
			events = append(events, e)
			sent[e.UniqueID] = true
		}
	}
	if len(events) == 0 {
		if len(prev.Sent) == 0 {
			return none("the order never counted as placed (" + orderWord(o) + "), so Klaviyo gets no event for it"), nil
		}
		return none("Klaviyo has every event of the order"), nil
	}
	next := orderState{Sent: slices.Sorted(maps.Keys(sent))}
	op := synclayer.PlanUpdate
	if len(prev.Sent) == 0 {
		op = synclayer.PlanCreate
	}
	p := &synclayer.Plan{Op: op, Next: mustJSON(next), Detail: &orderDetail{Events: events}}
	for _, e := range events {
		p.Calls = append(p.Calls, synclayer.PlannedCall{Method: http.MethodPost, Path: "/api/events", Body: e.body()})
	}
	return p, nil
}

// orderEvents are every event the order calls for now; placed says
// Klaviyo already has its Placed Order.
func orderEvents(o *synclayer.Order, c *synclayer.Contact, placed bool) []Event {
	base := func(metric, uid string) Event {
		props := map[string]any{"OrderId": o.ID, "Source": o.Source}
		if o.Number != "" {
			props["OrderNumber"] = o.Number
		}
		if o.Currency != "" {
			props["Currency"] = o.Currency
		}
		return Event{Metric: metric, Email: strings.TrimSpace(c.Email), ExternalID: c.ID, Properties: props,
			ValueCurrency: o.Currency, UniqueID: uid}
	}
	var out []Event
	if o.Counts() {
		e := base(MetricPlacedOrder, orderEventID(o.ID, "", ""))
		e.Properties["Items"], e.Properties["ItemNames"] = lineItems(o.Items)
		e.Time, e.Value = o.CreatedAt, o.Net()
		out = append(out, e)
		lines, _ := lineItems(o.Items)
		for i, key := range lineKeys(o.Items) {
			e := base(MetricOrderedProduct, orderEventID(o.ID, "item", key))
			maps.Copy(e.Properties, lines[i])
			e.Time, e.Value = o.CreatedAt, rowTotal(o.Items[i].Price, o.Items[i].Quantity)
			out = append(out, e)
		}
		placed = true
	}
	if !placed {
		return out
	}
	for _, r := range o.Refunds {
		if r.ID == "" {
			continue
		}
		e := base(MetricRefundedOrder, orderEventID(o.ID, "refund", r.ID))
		e.Properties["RefundId"] = r.ID
		e.Time, e.Value = r.CreatedAt, r.Amount
		if e.Time.IsZero() {
			e.Time = o.LastChange()
		}
		out = append(out, e)
	}
	if o.Deleted || o.Status == synclayer.OrderCancelled {
		e := base(MetricCancelledOrder, orderEventID(o.ID, "cancel", ""))
		e.Properties["Items"], e.Properties["ItemNames"] = lineItems(o.Items)
		e.Properties["Reason"] = orderWord(o)
		e.Time, e.Value = o.UpdatedAt, o.Net()
		out = append(out, e)
	}
	return out
}

// lineKeys names each line stably across edits that reorder lines: its
// variant, else its product, else its SKU, numbered when the order holds
// it twice.
func lineKeys(items []synclayer.OrderItem) []string {
	seen := map[string]int{}
	keys := make([]string, len(items))
	for i, it := range items {
		k := firstNonEmpty(it.VariantID, it.ProductID, it.SKU, "line")
		seen[k]++
		if n := seen[k]; n > 1 {
			k = fmt.Sprintf("%s#%d", k, n)
		}
		keys[i] = k
	}
	return keys
}

func orderWord(o *synclayer.Order) string {
	if o.Deleted {
		return "deleted"
	}
	return string(o.Status)
}

// Apply sends the plan's events in order. A failure part way returns the
// error; the retry sends every event of the plan again, and Klaviyo
// records each unique_id only once per profile and metric.
func (s *OrderSync) Apply(ctx context.Context, o *synclayer.Order, c *synclayer.Contact, p *synclayer.Plan) (string, error) {
	if p.Op == synclayer.PlanNone {
		return "klaviyo: no call (" + p.Reason + ")", nil
	}
	d, ok := p.Detail.(*orderDetail)
	if !ok {
		return "", fmt.Errorf("klaviyo: the plan for order %s was not made by this destination", o.ID)
	}
	return sendEvents(ctx, s.client, d.Events)
}

// sendEvents sends events in order and returns the trace line.
func sendEvents(ctx context.Context, cl *Client, events []Event) (string, error) {
	counts := map[string]int{}
	var names []string
	for _, e := range events {
		if err := cl.CreateEvent(ctx, e); err != nil {
			return "", err
		}
		if counts[e.Metric] == 0 {
			names = append(names, e.Metric)
		}
		counts[e.Metric]++
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n
		if counts[n] > 1 {
			parts[i] = fmt.Sprintf("%s ×%d", n, counts[n])
		}
	}
	return fmt.Sprintf("klaviyo: POST /api/events → 202 (%s)", strings.Join(parts, ", ")), nil
}
