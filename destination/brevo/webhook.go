package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"synclayer"
)

// minTokenLength is the shortest webhook token accepted. Brevo signs
// nothing (docs/brevo-webhooks.md): the bearer token is all that tells its
// deliveries from anyone else's, so it must not be guessable.
const minTokenLength = 16

// WebhookSettings is the webhook block of a brevo section:
//
//	webhook: { token: "${BREVO_WEBHOOK_TOKEN}", public_url: "https://sync.example.com" }
type WebhookSettings struct {
	// Token is the bearer token Brevo sends in every delivery's
	// Authorization header; RegisterWebhook gives it to Brevo.
	Token string `json:"token"`
	// PublicURL is where Brevo reaches synclayer; the webhook is served at
	// PublicURL/webhooks/<destination name>. Empty means the operator
	// registers the webhook by hand (WebhookRequest).
	PublicURL string `json:"public_url"`
}

// UnmarshalJSON refuses keys the block does not know, naming them under
// webhook (webhook.tokn), as the section's own keys are named.
func (w *WebhookSettings) UnmarshalJSON(b []byte) error {
	type plain WebhookSettings
	var p plain
	if err := synclayer.DecodeSettings(b, &p, "Brevo webhook setting (token, public_url)"); err != nil {
		var e *synclayer.Error
		if errors.As(err, &e) && e.Field != "" {
			e.Field = "webhook." + e.Field
		}
		return err
	}
	*w = WebhookSettings(p)
	return nil
}

// validate checks the block and trims public_url's trailing slash. Each
// problem is an EINVALID *synclayer.Error naming webhook.token or
// webhook.public_url, joined when there are both.
func (w *WebhookSettings) validate() error {
	var errs []error
	const generate = "generate one with: openssl rand -hex 32"
	switch t := w.Token; {
	case t == "":
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "is not set, so Brevo's webhooks could not be told from anyone else's: %s, and set it, e.g. token: \"${BREVO_WEBHOOK_TOKEN}\"", generate))
	case len(t) < minTokenLength:
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "is %d characters; it must be at least %d, since it is all that authenticates Brevo's deliveries: %s", len(t), minTokenLength, generate))
	case strings.IndexFunc(t, func(r rune) bool { return !tokenChar(r) }) >= 0:
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "may hold only letters, digits and - . _ ~ + / = (it travels in an Authorization header): %s", generate))
	}
	if w.PublicURL != "" {
		u, err := publicURL(w.PublicURL)
		if err != nil {
			errs = append(errs, err)
		} else {
			w.PublicURL = u
		}
	}
	return errors.Join(errs...)
}

// tokenChar reports whether r may appear in a bearer token (RFC 6750's
// b64token characters).
func tokenChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~+/=", r)
}

// publicURL checks public_url: https, or http for this machine only (the
// built-in simulator and local tests), since Brevo would otherwise send the
// bearer token in clear text. No credentials, query or fragment, since
// /webhooks/<name> is appended to it.
func publicURL(raw string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", synclayer.FieldErrorf("webhook.public_url", format, args...)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return bad("must be an https URL where Brevo reaches synclayer, such as https://sync.example.com")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return bad("must be https: over http Brevo would send the bearer token in clear text (http is allowed only for localhost and 127.0.0.1)")
	}
	if u.User != nil {
		return bad("must not hold a user name or password: the webhook authenticates with webhook.token")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return bad("must not have a query or fragment: synclayer appends /webhooks/<destination name> to it")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MarketingEvents are the marketing webhook events synclayer subscribes
// to, as Brevo names them at creation (camelCase; the deliveries name them
// otherwise, see inbound.go). Opens, clicks, deliveries and soft bounces
// say nothing about consent or the profile and are left out.
var MarketingEvents = []string{"unsubscribed", "spam", "hardBounce", "listAddition", "contactUpdated", "contactDeleted"}

// webhookDescription names synclayer's webhook in Brevo's interface.
const webhookDescription = "synclayer"

// WebhookURL is PublicURL/webhooks/<destination name>, the URL Brevo is
// to call, or "" when the section sets no public_url.
func (d *Destination) WebhookURL() string {
	if d.webhook.PublicURL == "" {
		return ""
	}
	return d.webhook.PublicURL + "/webhooks/" + url.PathEscape(d.name)
}

// RegisterWebhook creates synclayer's marketing webhook in the Brevo
// account, or updates the one at the same URL (events and token), so a
// restart or a rotated token never adds a second: Brevo allows 40. It
// returns a line for the log, which never holds the token. Without a
// token or a public_url it is an EINVALID error naming the missing key.
func (d *Destination) RegisterWebhook(ctx context.Context) (string, error) {
	target := d.WebhookURL()
	switch {
	case d.webhook.Token == "":
		return "", synclayer.FieldErrorf("webhook.token", "is not set, so there is no webhook to register")
	case target == "":
		return "", synclayer.FieldErrorf("webhook.public_url", "is not set, so Brevo has nowhere to call: set it, or register the webhook by hand")
	}
	hooks, err := d.client.ListWebhooks(ctx, "marketing")
	if err != nil {
		return "", fmt.Errorf("list Brevo's marketing webhooks: %w", err)
	}
	var found []Webhook
	for _, h := range hooks {
		if h.URL == target {
			found = append(found, h)
		}
	}
	if len(found) == 0 {
		id, err := d.client.CreateWebhook(ctx, d.createRequest(target))
		if err != nil {
			return "", fmt.Errorf("create Brevo's marketing webhook: %w", err)
		}
		return fmt.Sprintf("created Brevo marketing webhook %d for %s (events %s)", id, target, strings.Join(MarketingEvents, ", ")), nil
	}
	id := found[0].ID
	if err := d.client.UpdateWebhook(ctx, id, UpdateWebhookRequest{
		Events: MarketingEvents, Auth: &WebhookAuth{Type: "bearer", Token: d.webhook.Token},
	}); err != nil {
		return "", fmt.Errorf("update Brevo's marketing webhook %d: %w", id, err)
	}
	summary := fmt.Sprintf("updated Brevo marketing webhook %d for %s (events %s)", id, target, strings.Join(MarketingEvents, ", "))
	if len(found) > 1 {
		// Each would deliver every event again; the dedupe key absorbs that,
		// but the operator should delete the extra ones.
		summary += fmt.Sprintf("; %d other webhooks call the same URL, delete them in Brevo", len(found)-1)
	}
	return summary, nil
}

// WebhookRequest is the request RegisterWebhook sends to create the
// webhook for url, for an operator to send by hand: POST, the path under
// the API base (https://api.brevo.com/v3), and the indented JSON body with
// the token in it.
func (d *Destination) WebhookRequest(url string) (method, path string, body []byte) {
	body, _ = json.MarshalIndent(d.createRequest(url), "", "  ")
	return "POST", "/webhooks", body
}

func (d *Destination) createRequest(url string) CreateWebhookRequest {
	return CreateWebhookRequest{
		URL: url, Description: webhookDescription, Events: MarketingEvents, Type: "marketing",
		Auth: &WebhookAuth{Type: "bearer", Token: d.webhook.Token},
	}
}
