package klaviyo

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"synclayer"
)

// CartSync is cart-events on one Klaviyo account: a cart becomes one
// Started Checkout event as soon as it is saved (CartStarted), the metric
// Klaviyo's own abandoned-cart flows start on, and an abandoned cart one
// Abandoned Checkout event (Abandoned), for flows on synclayer's
// judgement. Build it with Destination.CartSync.
type CartSync struct {
	client *Client
	log    *slog.Logger
}

var (
	_ synclayer.CartSync    = (*CartSync)(nil)
	_ synclayer.CartWatcher = (*CartSync)(nil)
)

// MetricStartedCheckout is the metric Klaviyo's abandoned-cart flows
// start on.
const MetricStartedCheckout = "Started Checkout"

// CartStarted sends cart c's Started Checkout event, with key as its
// unique_id, so however often the cart changes Klaviyo records one.
func (s *CartSync) CartStarted(ctx context.Context, c *synclayer.Cart, ct *synclayer.Contact, key string) (string, any, error) {
	switch {
	case ct == nil || strings.TrimSpace(ct.Email) == "":
		return "", nil, synclayer.Permanent(errors.New("klaviyo: the cart's contact has no email, so Klaviyo cannot attribute the checkout to a profile"))
	case key == "":
		return "", nil, synclayer.Permanent(errors.New("klaviyo: a started checkout needs its key as the event's unique_id"))
	}
	ev := CartEvent(c, ct, key, c.ChangedAt)
	ev.Metric = MetricStartedCheckout
	summary, err := sendEvents(ctx, s.client, []Event{ev})
	if err != nil {
		return "", nil, err
	}
	return summary, ev, nil
}

// CartEvent is the Abandoned Checkout event of cart c of contact ct,
// abandoned at at: valued at the cart's total, with its lines, total,
// currency, checkout URL, cart ID and source, and key as unique_id so a
// retry after a lost answer is recorded once.
func CartEvent(c *synclayer.Cart, ct *synclayer.Contact, key string, at time.Time) Event {
	items, names := lineItems(c.Items)
	props := map[string]any{"CartId": c.ID, "Source": c.Source, "Items": items, "ItemNames": names}
	if !c.Total.IsZero() {
		props["Total"] = c.Total
	}
	if c.Currency != "" {
		props["Currency"] = c.Currency
	}
	if c.RecoveryURL != "" {
		props["CheckoutURL"] = c.RecoveryURL
	}
	return Event{Metric: MetricAbandonedCheckout, Email: strings.TrimSpace(ct.Email), ExternalID: ct.ID, Properties: props,
		Time: at, Value: c.Total, ValueCurrency: c.Currency, UniqueID: key}
}

// Abandoned sends the Abandoned Checkout event of cart c and returns the
// trace line and the event. A contact without an email cannot be
// attributed and is a permanent error; so is an empty key, which would
// let Klaviyo deduplicate by the second instead.
func (s *CartSync) Abandoned(ctx context.Context, c *synclayer.Cart, ct *synclayer.Contact, key string, at time.Time) (string, any, error) {
	switch {
	case ct == nil || strings.TrimSpace(ct.Email) == "":
		return "", nil, synclayer.Permanent(errors.New("klaviyo: the cart's contact has no email, so Klaviyo cannot attribute the abandonment to a profile"))
	case key == "":
		return "", nil, synclayer.Permanent(errors.New("klaviyo: an abandonment needs its key as the event's unique_id"))
	}
	ev := CartEvent(c, ct, key, at)
	summary, err := sendEvents(ctx, s.client, []Event{ev})
	if err != nil {
		return "", nil, err
	}
	return summary, ev, nil
}

var _ synclayer.CartPlanner = (*CartSync)(nil)

// PlanAbandoned is the call Abandoned would make, for dry runs, with its
// errors.
func (s *CartSync) PlanAbandoned(c *synclayer.Cart, ct *synclayer.Contact, key string, at time.Time) ([]synclayer.PlannedCall, error) {
	switch {
	case ct == nil || strings.TrimSpace(ct.Email) == "":
		return nil, synclayer.Permanent(errors.New("klaviyo: the cart's contact has no email, so Klaviyo cannot attribute the abandonment to a profile"))
	case key == "":
		return nil, synclayer.Permanent(errors.New("klaviyo: an abandonment needs its key as the event's unique_id"))
	}
	return []synclayer.PlannedCall{{Method: "POST", Path: "/api/events", Body: CartEvent(c, ct, key, at)}}, nil
}

// PlanStarted is the call CartStarted would make, for dry runs.
func (s *CartSync) PlanStarted(c *synclayer.Cart, ct *synclayer.Contact, key string) ([]synclayer.PlannedCall, error) {
	if ct == nil || strings.TrimSpace(ct.Email) == "" {
		return nil, synclayer.Permanent(errors.New("klaviyo: the cart's contact has no email, so Klaviyo cannot attribute the checkout to a profile"))
	}
	ev := CartEvent(c, ct, key, c.ChangedAt)
	ev.Metric = MetricStartedCheckout
	return []synclayer.PlannedCall{{Method: "POST", Path: "/api/events", Body: ev}}, nil
}
