package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

// CartAbandonedEvent is the Brevo event an abandoned cart sends, which a
// Brevo automation starts its recovery emails on.
const CartAbandonedEvent = "cart_abandoned"

// cartSync is Brevo's side of cart-events: one cart_abandoned event per
// abandonment. Brevo events take no idempotency key, so a retry after a
// lost answer may repeat one (decision 0010).
type cartSync struct{ client *Client }

var _ synclayer.CartSync = cartSync{}

func (cartSync) Prepare(context.Context) error { return nil }

func (s cartSync) Abandoned(ctx context.Context, c *synclayer.Cart, ct *synclayer.Contact, _ string, at time.Time) (string, any, error) {
	ev := CartEvent(c, ct, at)
	if err := s.client.SendEvent(ctx, ev); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("brevo: POST /events → 204 (%s for cart %s, %s %s)", CartAbandonedEvent, c.ID, c.Total, c.Currency), ev, nil
}

// CartEvent returns the Brevo event for an abandoned cart c of contact ct:
// identified by email and by ext_id, the canonical contact ID
// customer-sync gives the contact, as order-events does. Amounts are exact
// decimal strings: Brevo's schema takes only whole numbers at the top of
// event_properties.
func CartEvent(c *synclayer.Cart, ct *synclayer.Contact, at time.Time) Event {
	items := make([]map[string]any, 0, len(c.Items))
	for _, it := range c.Items {
		item := map[string]any{"product_id": it.ProductID, "price": it.Price.String(), "quantity": it.Quantity}
		if it.VariantID != "" {
			item["variant_id"] = it.VariantID
		}
		if it.SKU != "" {
			item["sku"] = it.SKU
		}
		if it.Name != "" {
			item["name"] = it.Name
		}
		items = append(items, item)
	}
	props := map[string]any{"cart_id": c.ID, "items": []map[string]any{}, "total": c.Total.String(), "source": c.Source}
	if c.Currency != "" {
		props["currency"] = c.Currency
	}
	if c.RecoveryURL != "" {
		props["recovery_url"] = c.RecoveryURL
	}
	props["items"], props["items_omitted"] = fitItems(props, items)
	if props["items_omitted"] == 0 {
		delete(props, "items_omitted")
	}
	return Event{
		Name:        CartAbandonedEvent,
		Date:        FormatTime(at),
		Identifiers: EventIdentifiers{EmailID: ct.Email, ExtID: ct.ID},
		Properties:  props,
	}
}

// maxEventProperties is the most Brevo takes in one event's
// event_properties, as JSON; a larger event is refused with a 400.
const maxEventProperties = 50 << 10

// fitItems returns the first items that fit in props (which holds no
// items yet) under maxEventProperties, leaving room for items_omitted,
// and how many were left out: a cart of thousands of lines still sends
// its abandonment, with the lines Brevo can take.
func fitItems(props map[string]any, items []map[string]any) ([]map[string]any, int) {
	base, _ := json.Marshal(props)
	room := maxEventProperties - len(base) - len(`,"items_omitted":`) - 20
	for i, it := range items {
		b, _ := json.Marshal(it)
		if room -= len(b) + 1; room < 0 {
			return items[:i], len(items) - i
		}
	}
	return items, 0
}

var _ synclayer.CartPlanner = cartSync{}

// PlanAbandoned is the call Abandoned would make, for dry runs.
func (cartSync) PlanAbandoned(c *synclayer.Cart, ct *synclayer.Contact, _ string, at time.Time) ([]synclayer.PlannedCall, error) {
	return []synclayer.PlannedCall{{Method: "POST", Path: "/events", Body: CartEvent(c, ct, at)}}, nil
}

// PlanStarted is nothing: Brevo hears of a cart only when it is abandoned.
func (cartSync) PlanStarted(*synclayer.Cart, *synclayer.Contact, string) ([]synclayer.PlannedCall, error) {
	return nil, nil
}
