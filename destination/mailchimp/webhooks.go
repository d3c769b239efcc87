package mailchimp

import (
	"context"
	"net/http"
	"net/url"
)

// WebhookEvents are the audience events a webhook is triggered by (the
// spec's Events_2). Every flag is sent, false ones too, so none is left
// to Mailchimp's default.
type WebhookEvents struct {
	Subscribe   bool `json:"subscribe"`   // a member is added
	Unsubscribe bool `json:"unsubscribe"` // a member unsubscribes, or is deleted
	Profile     bool `json:"profile"`     // a member's merge fields change
	Cleaned     bool `json:"cleaned"`     // an address is cleaned: hard bounce or abuse report
	Upemail     bool `json:"upemail"`     // a member's address changes
	Campaign    bool `json:"campaign"`    // a campaign is sent or cancelled
}

func (e WebhookEvents) names() []string {
	return flagNames([]bool{e.Subscribe, e.Unsubscribe, e.Profile, e.Cleaned, e.Upemail, e.Campaign},
		"subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")
}

// WebhookSources are who a webhook reports the changes of (the spec's
// Sources_1): the member, an admin in the web interface, the API.
type WebhookSources struct {
	User  bool `json:"user"`
	Admin bool `json:"admin"`
	API   bool `json:"api"`
}

func (s WebhookSources) names() []string {
	return flagNames([]bool{s.User, s.Admin, s.API}, "user", "admin", "api")
}

func flagNames(flags []bool, names ...string) []string {
	var out []string
	for i, on := range flags {
		if on {
			out = append(out, names[i])
		}
	}
	return out
}

// Webhook is a webhook of an audience, as GET /lists/{list_id}/webhooks
// lists it. URL holds the secret of synclayer's own.
type Webhook struct {
	ID      string         `json:"id"`
	URL     string         `json:"url"`
	Events  WebhookEvents  `json:"events"`
	Sources WebhookSources `json:"sources"`
	ListID  string         `json:"list_id"`
}

// WebhookConfig is the body of POST /lists/{list_id}/webhooks and of
// PATCH /lists/{list_id}/webhooks/{webhook_id} (the spec's Add_Webhook).
// Mailchimp checks URL with a GET, which must answer 200, before it
// creates the webhook.
type WebhookConfig struct {
	URL     string          `json:"url,omitempty"`
	Events  *WebhookEvents  `json:"events,omitempty"`
	Sources *WebhookSources `json:"sources,omitempty"`
}

const webhooksRoute = "/lists/{list_id}/webhooks"

func webhooksPath(listID string) string { return "/lists/" + url.PathEscape(listID) + "/webhooks" }

// ListWebhooks returns the webhooks of the audience; a 404 *APIError
// (IsNotFound) when there is no such audience.
func (c *Client) ListWebhooks(ctx context.Context, listID string) ([]Webhook, error) {
	var page struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: webhooksRoute, path: webhooksPath(listID), out: &page}); err != nil {
		return nil, err
	}
	return page.Webhooks, nil
}

// CreateWebhook adds a webhook to the audience and returns it. A URL
// Mailchimp could not reach with its check is a permanent 400.
func (c *Client) CreateWebhook(ctx context.Context, listID string, cfg WebhookConfig) (*Webhook, error) {
	h := &Webhook{}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: webhooksRoute, path: webhooksPath(listID), body: cfg, out: h}); err != nil {
		return nil, err
	}
	return h, nil
}

// UpdateWebhook changes webhook id of the audience and returns it; a 404
// *APIError when it is gone.
func (c *Client) UpdateWebhook(ctx context.Context, listID, id string, cfg WebhookConfig) (*Webhook, error) {
	h := &Webhook{}
	if _, err := c.do(ctx, call{method: http.MethodPatch, route: webhooksRoute + "/{webhook_id}",
		path: webhooksPath(listID) + "/" + url.PathEscape(id), body: cfg, out: h}); err != nil {
		return nil, err
	}
	return h, nil
}
