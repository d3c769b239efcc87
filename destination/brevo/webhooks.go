package brevo

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Webhook is a webhook as GET /webhooks lists it. Brevo also reports its
// auth (with the token) and headers; they are not read, so they never sit
// in memory longer than the answer.
type Webhook struct {
	ID          int64    `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
	Type        string   `json:"type"` // marketing, transactional or inbound
	Batched     bool     `json:"batched"`
}

// WebhookAuth is how Brevo authenticates to the webhook's URL: Type
// "bearer" sends "Authorization: Bearer <Token>" with every delivery.
type WebhookAuth struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

// CreateWebhookRequest is the body of POST /webhooks. URL and Events are
// required; Type defaults to transactional at Brevo, so a marketing
// webhook must say so. Events take the creation names (hardBounce,
// listAddition), not the names deliveries carry.
type CreateWebhookRequest struct {
	URL         string       `json:"url"`
	Description string       `json:"description,omitempty"`
	Events      []string     `json:"events"`
	Type        string       `json:"type,omitempty"`
	Auth        *WebhookAuth `json:"auth,omitempty"`
	// Batched asks for deliveries of up to 500 events, every 5 minutes,
	// as a JSON array.
	Batched *bool `json:"batched,omitempty"`
}

// UpdateWebhookRequest is the body of PUT /webhooks/{webhookId}; omitted
// fields are left as they are. A webhook's type cannot be changed.
type UpdateWebhookRequest struct {
	URL         string       `json:"url,omitempty"`
	Description string       `json:"description,omitempty"`
	Events      []string     `json:"events,omitempty"`
	Auth        *WebhookAuth `json:"auth,omitempty"`
	Batched     *bool        `json:"batched,omitempty"`
}

// ListWebhooks returns the account's webhooks of type typ (marketing,
// transactional or inbound; Brevo's default is transactional).
func (c *Client) ListWebhooks(ctx context.Context, typ string) ([]Webhook, error) {
	var w struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	k := call{method: http.MethodGet, route: "/webhooks", path: "/webhooks", out: &w}
	if typ != "" {
		k.query = url.Values{"type": {typ}}
	}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	return w.Webhooks, nil
}

// CreateWebhook creates a webhook and returns its ID (201 {id}). A
// missing URL or an event Brevo does not know is a permanent 400.
func (c *Client) CreateWebhook(ctx context.Context, r CreateWebhookRequest) (int64, error) {
	var w struct {
		ID int64 `json:"id"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: "/webhooks", path: "/webhooks", body: r, out: &w}); err != nil {
		return 0, err
	}
	return w.ID, nil
}

// UpdateWebhook changes webhook id (204). A missing webhook is a permanent
// error for which IsNotFound is true.
func (c *Client) UpdateWebhook(ctx context.Context, id int64, r UpdateWebhookRequest) error {
	_, err := c.do(ctx, call{
		method: http.MethodPut, route: "/webhooks/{webhookId}",
		path: "/webhooks/" + strconv.FormatInt(id, 10), body: r,
	})
	return err
}
