package pipedrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"synclayer"
)

// WebhookSettings is the webhook block of a pipedrive section:
//
//	webhook: { username: synclayer, password: "${PIPEDRIVE_WEBHOOK_PASSWORD}", public_url: "https://sync.example.com" }
//
// Pipedrive does not sign its webhooks; it sends the HTTP basic-auth
// credentials set on the webhook (http_auth_user, http_auth_password),
// which is what the webhook is checked by.
type WebhookSettings struct {
	Username string `json:"username"`
	// Password is a secret setting; PasswordFile, instead, is a file
	// holding it (a mounted secret), read at start, a trailing newline
	// dropped.
	Password     string `json:"password"`
	PasswordFile string `json:"password_file"`
	// PublicURL is where Pipedrive reaches synclayer, if not
	// server.public_url: the webhook's URL is PublicURL/webhooks/<name>.
	PublicURL string `json:"public_url"`
}

// minPassword is the shortest password accepted: the credentials are
// the webhook's only authentication, and they travel with every delivery.
const minPassword = 16

// UnmarshalJSON refuses keys the block does not know, naming them under
// webhook.
func (w *WebhookSettings) UnmarshalJSON(b []byte) error {
	type plain WebhookSettings
	var p plain
	if err := synclayer.DecodeBlock(b, &p, "webhook", "Pipedrive webhook setting (username, password, password_file, public_url)"); err != nil {
		return err
	}
	*w = WebhookSettings(p)
	return nil
}

func (w *WebhookSettings) validate() error {
	var errs []error
	if f := w.PasswordFile; f != "" {
		b, err := os.ReadFile(f)
		switch {
		case w.Password != "":
			errs = append(errs, synclayer.FieldErrorf("webhook.password_file", "is set beside password: set only one of the two"))
		case err != nil:
			errs = append(errs, synclayer.FieldErrorf("webhook.password_file", "cannot be read: %v", errors.Unwrap(err)))
		default:
			w.Password = strings.TrimRight(string(b), "\r\n")
		}
	}
	switch u := w.Username; {
	case u == "":
		errs = append(errs, synclayer.FieldErrorf("webhook.username", "is not set: choose a user name for the webhook's HTTP basic auth, e.g. username: synclayer"))
	case strings.ContainsAny(u, ":") || strings.TrimSpace(u) != u:
		errs = append(errs, synclayer.FieldErrorf("webhook.username", "must have no colon and no spaces around it (HTTP basic auth)"))
	}
	switch p := w.Password; {
	case p == "" && w.PasswordFile == "":
		errs = append(errs, synclayer.FieldErrorf("webhook.password", "is not set, so Pipedrive's webhooks could not be checked: set it to a long random string, e.g. password: \"${PIPEDRIVE_WEBHOOK_PASSWORD}\" (openssl rand -hex 24)"))
	case p == "" && w.PasswordFile != "" && len(errs) == 0:
		errs = append(errs, synclayer.FieldErrorf("webhook.password_file", "holds no password"))
	case p != "" && len(p) < minPassword:
		errs = append(errs, synclayer.FieldErrorf("webhook.password", "is shorter than %d characters: it is the webhook's only protection; use a long random string (openssl rand -hex 24)", minPassword))
	}
	if w.PublicURL != "" {
		u, err := synclayer.PublicURL(w.PublicURL, "Pipedrive", "its basic-auth credentials")
		if err != nil {
			errs = append(errs, err)
		} else {
			w.PublicURL = u
		}
	}
	return errors.Join(errs...)
}

var _ synclayer.WebhookRegistrar = (*Destination)(nil)

// WebhookURL is the URL Pipedrive is to call: the public URL +
// /webhooks/<destination name>, or "" when the section takes no
// webhooks or no public URL is known.
func (d *Destination) WebhookURL() string {
	if d.webhook == nil {
		return ""
	}
	base := d.webhook.PublicURL
	if base == "" && d.publicURL != nil {
		base = strings.TrimRight(d.publicURL(), "/")
	}
	if base == "" {
		return ""
	}
	return base + "/webhooks/" + url.PathEscape(d.name)
}

const pathWebhooks = "/api/v1/webhooks"

// webhookName is the name synclayer's webhooks carry in Pipedrive
// (Settings → Tools and apps → Webhooks).
func (d *Destination) webhookName() string { return "synclayer " + d.name }

func (d *Destination) webhookBody(target string) map[string]any {
	return map[string]any{"subscription_url": target, "event_action": "*", "event_object": "person", "name": d.webhookName(),
		"http_auth_user": d.webhook.Username, "http_auth_password": d.webhook.Password, "version": "2.0"}
}

// WebhookRequest is POST /v1/webhooks for url, with the basic-auth
// password in the body, for an operator to send by hand.
func (d *Destination) WebhookRequest(target string) (method, path string, body []byte) {
	b, _ := json.Marshal(d.webhookBody(target))
	return http.MethodPost, pathWebhooks, b
}

// Webhook is one webhook as GET /v1/webhooks lists it.
type Webhook struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	SubscriptionURL string `json:"subscription_url"`
	EventAction     string `json:"event_action"`
	EventObject     string `json:"event_object"`
	HTTPAuthUser    string `json:"http_auth_user"`
	Version         string `json:"version"`
}

// ListWebhooks returns the company's webhooks (GET /v1/webhooks).
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out envelope[[]Webhook]
	_, err := c.do(ctx, call{method: http.MethodGet, route: pathWebhooks, path: pathWebhooks, out: &out})
	return out.Data, err
}

// CreateWebhook creates a webhook from body and returns its ID.
func (c *Client) CreateWebhook(ctx context.Context, body map[string]any) (int64, error) {
	var out envelope[Webhook]
	_, err := c.do(ctx, call{method: http.MethodPost, route: pathWebhooks, path: pathWebhooks, body: body, out: &out})
	return out.Data.ID, err
}

// DeleteWebhook deletes webhook id; one already gone is not an error.
func (c *Client) DeleteWebhook(ctx context.Context, id int64) error {
	path := pathWebhooks + "/" + strconv.FormatInt(id, 10)
	_, err := c.do(ctx, call{method: http.MethodDelete, route: pathWebhooks + "/{id}", path: path})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// RegisterWebhook makes sure Pipedrive has one v2 webhook of every
// person event at WebhookURL with the configured basic-auth user. A
// webhook registered before at that URL (found with GET /v1/webhooks) is
// kept when it matches; otherwise the new one is created first and the
// old ones are deleted after, so no event falls between. Pipedrive has
// no webhook update and never returns the password, so a changed
// password alone is not seen: change the username with it, or delete
// the webhook in Pipedrive, and restart.
func (d *Destination) RegisterWebhook(ctx context.Context) (string, error) {
	target := d.WebhookURL()
	if target == "" {
		return "", synclayer.Errorf(synclayer.EINVALID, "pipedrive: no public URL for the webhook: set server.public_url or destinations.%s.webhook.public_url", d.name)
	}
	hooks, err := d.client.ListWebhooks(ctx)
	if err != nil {
		return "", fmt.Errorf("list Pipedrive webhooks: %w", err)
	}
	var old []int64
	for _, h := range hooks {
		if h.SubscriptionURL != target {
			continue
		}
		if len(old) == 0 && h.EventObject == "person" && h.EventAction == "*" && h.Version == "2.0" && h.HTTPAuthUser == d.webhook.Username {
			return fmt.Sprintf("pipedrive: webhook %d at %s already registered", h.ID, target), nil
		}
		old = append(old, h.ID)
	}
	id, err := d.client.CreateWebhook(ctx, d.webhookBody(target))
	if err != nil {
		return "", fmt.Errorf("create Pipedrive webhook: %w", err)
	}
	for _, o := range old {
		if err := d.client.DeleteWebhook(ctx, o); err != nil {
			return "", fmt.Errorf("pipedrive: webhook %d created, but the old webhook %d could not be deleted (delete it in Pipedrive: Settings → Tools and apps → Webhooks): %w", id, o, err)
		}
	}
	if len(old) > 0 {
		return fmt.Sprintf("pipedrive: webhook %d registered at %s, replacing %d old one(s)", id, target, len(old)), nil
	}
	return fmt.Sprintf("pipedrive: webhook %d registered at %s", id, target), nil
}
