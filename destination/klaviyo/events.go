package klaviyo

import (
	"context"
	"errors"
	"net/http"
	"time"

	"synclayer"
)

// Event is one event of POST /api/events: a metric, by name, on the
// profile Klaviyo finds or creates by Email and ExternalID. Klaviyo
// records only the first event with a given UniqueID for the same profile
// and metric, so sending an event again (a retry after a lost answer) is
// harmless. Events carry no subscriptions: the request body has no place
// for them, and the events this package sends never change consent.
type Event struct {
	Metric     string         `json:"metric"`
	Email      string         `json:"email,omitempty"`
	ExternalID string         `json:"externalId,omitempty"`
	Properties map[string]any `json:"properties"`
	Time       time.Time      `json:"time,omitzero"`
	// Value is the event's monetary value, sent as a JSON number digit for
	// digit; no amount sends none.
	Value         synclayer.Money `json:"value,omitzero"`
	ValueCurrency string          `json:"valueCurrency,omitempty"`
	UniqueID      string          `json:"uniqueId"`
}

// maxMetricName is the spec's limit: "Must be less than 128 characters".
const maxMetricName = 127

// body is the JSON:API document of e.
func (e Event) body() any {
	profile := map[string]any{}
	if e.Email != "" {
		profile["email"] = e.Email
	}
	if e.ExternalID != "" {
		profile["external_id"] = e.ExternalID
	}
	props := e.Properties
	if props == nil {
		props = map[string]any{}
	}
	attrs := map[string]any{
		"properties": props,
		"metric":     map[string]any{"data": map[string]any{"type": "metric", "attributes": map[string]any{"name": e.Metric}}},
		"profile":    map[string]any{"data": map[string]any{"type": "profile", "attributes": profile}},
	}
	if !e.Time.IsZero() {
		attrs["time"] = e.Time.UTC().Format(time.RFC3339)
	}
	if !e.Value.IsZero() {
		attrs["value"] = e.Value
	}
	if e.ValueCurrency != "" {
		attrs["value_currency"] = e.ValueCurrency
	}
	if e.UniqueID != "" {
		attrs["unique_id"] = e.UniqueID
	}
	return map[string]any{"data": map[string]any{"type": "event", "attributes": attrs}}
}

// CreateEvent sends e. Klaviyo answers 202: the event was validated and
// will be processed later, which may create the profile.
func (c *Client) CreateEvent(ctx context.Context, e Event) error {
	k := call{method: http.MethodPost, route: "/api/events", path: "/api/events"}
	switch {
	case e.Metric == "" || len([]rune(e.Metric)) > maxMetricName:
		return synclayer.Permanent(c.wrap(k, errors.New("a metric name takes 1 to 127 characters")))
	case e.Email == "" && e.ExternalID == "":
		return synclayer.Permanent(c.wrap(k, errors.New("an event needs the profile's email or external_id")))
	}
	k.body = e.body()
	_, err := c.do(ctx, k)
	return err
}
