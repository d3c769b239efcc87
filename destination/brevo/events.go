package brevo

import (
	"context"
	"net/http"
)

// Event is the body of POST /events: something a contact did, which
// Brevo automations can start on (a cart left behind, a first purchase, a
// loyalty tier joined).
type Event struct {
	Name        string           `json:"event_name"`           // [A-Za-z0-9_-], at most 255 characters
	Date        string           `json:"event_date,omitempty"` // RFC 3339; Brevo uses the receipt time without it
	Identifiers EventIdentifiers `json:"identifiers"`
	// Properties describe the event, at most 50 KB. The spec's schema
	// takes strings, whole numbers, objects and arrays at the top level
	// (its prose also names decimals and booleans), so amounts go as exact
	// decimal strings.
	Properties map[string]any `json:"event_properties,omitempty"`
}

// EventIdentifiers name the contact an event belongs to; at least one is
// required.
type EventIdentifiers struct {
	EmailID string `json:"email_id,omitempty"`
	ExtID   string `json:"ext_id,omitempty"`
	PhoneID string `json:"phone_id,omitempty"`
}

// SendEvent records one event (POST /events, 204). It counts against the
// "events" rate-limit bucket. Brevo takes no idempotency key for events:
// a caller that must not send one twice records its intent first.
func (c *Client) SendEvent(ctx context.Context, e Event) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/events", path: "/events", body: e})
	return err
}
