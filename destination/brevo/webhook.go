package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"synclayer"
)

// minTokenLength is the shortest webhook token accepted. Brevo signs
// nothing (docs/brevo-webhooks.md): the bearer token is all that tells its
// deliveries from anyone else's, so it must not be guessable.
const minTokenLength = 16

// WebhookSettings is the webhook block of a brevo section:
//
//	webhook: { token: "${BREVO_WEBHOOK_TOKEN}", public_url: "https://sync.example.com", reconcile_interval: 15m }
type WebhookSettings struct {
	// Token is the bearer token Brevo sends in every delivery's
	// Authorization header; RegisterWebhook gives it to Brevo. It may be
	// left out only to reconcile without a webhook (ReconcileInterval).
	Token string `json:"token"`
	// PublicURL is where Brevo reaches synclayer; the webhook is served at
	// PublicURL/webhooks/<destination name>. Empty means the operator
	// registers the webhook by hand (WebhookRequest).
	PublicURL string `json:"public_url"`
	// ReconcileInterval is how often Reconcile reads the contacts Brevo
	// changed, for the opt-outs whose webhook was lost: nil (unset) is
	// DefaultReconcileInterval, 0 ("off") turns it off. Set without a
	// token, it reconciles with no webhook at all.
	ReconcileInterval *Interval `json:"reconcile_interval"`
}

// Reconciliation intervals: the default, and the shortest and longest
// accepted. Each pass costs at least one request on the contacts bucket;
// a day is the longest an opt-out may wait to reach the other
// destinations.
const (
	DefaultReconcileInterval = 15 * time.Minute
	MinReconcileInterval     = time.Minute
	MaxReconcileInterval     = 24 * time.Hour
)

// Interval is reconcile_interval's type.
type Interval = synclayer.Interval

// UnmarshalJSON refuses keys the block does not know, naming them under
// webhook (webhook.tokn), as the section's own keys are named.
func (w *WebhookSettings) UnmarshalJSON(b []byte) error {
	type plain WebhookSettings
	var p plain
	if err := synclayer.DecodeBlock(b, &p, "webhook", "Brevo webhook setting (token, public_url, reconcile_interval)"); err != nil {
		return err
	}
	*w = WebhookSettings(p)
	return nil
}

// validate checks the block and trims public_url's trailing slash, and
// returns the reconciliation interval in effect (0 for none). Each problem
// is an EINVALID *synclayer.Error naming webhook.token, webhook.public_url
// or webhook.reconcile_interval, joined when there are several. A block
// without a token is accepted only when it turns reconciliation on and
// names no public_url: it reads Brevo, and takes no webhook.
func (w *WebhookSettings) validate() (time.Duration, error) {
	var errs []error
	const generate = "generate one with: openssl rand -hex 32"
	reconcile := DefaultReconcileInterval
	if w.ReconcileInterval != nil {
		reconcile = time.Duration(*w.ReconcileInterval)
	}
	if reconcile != 0 && (reconcile < MinReconcileInterval || reconcile > MaxReconcileInterval) {
		errs = append(errs, synclayer.FieldErrorf("webhook.reconcile_interval", "is %s; it must be from %s to %s (each pass reads Brevo's changed contacts on the contacts rate limit), or off",
			reconcile, MinReconcileInterval, MaxReconcileInterval))
	}
	reconcileOnly := w.Token == "" && w.ReconcileInterval != nil && reconcile != 0
	switch t := w.Token; {
	case reconcileOnly && w.PublicURL != "":
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "is not set, but public_url is: a webhook needs a token to tell Brevo's deliveries from anyone else's: %s, and set it, or remove public_url to only reconcile", generate))
	case reconcileOnly:
	case t == "":
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "is not set, so Brevo's webhooks could not be told from anyone else's: %s, and set it, e.g. token: \"${BREVO_WEBHOOK_TOKEN}\" "+
			"(or, to only read Brevo's opt-outs without a webhook, set reconcile_interval alone)", generate))
	case len(t) < minTokenLength:
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "is %d characters; it must be at least %d, since it is all that authenticates Brevo's deliveries: %s", len(t), minTokenLength, generate))
	case strings.IndexFunc(t, func(r rune) bool { return !tokenChar(r) }) >= 0:
		errs = append(errs, synclayer.FieldErrorf("webhook.token", "may hold only letters, digits and - . _ ~ + / = (it travels in an Authorization header): %s", generate))
	}
	if w.PublicURL != "" {
		u, err := synclayer.PublicURL(w.PublicURL, "Brevo", "webhook.token")
		if err != nil {
			errs = append(errs, err)
		} else {
			w.PublicURL = u
		}
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return reconcile, nil
}

// tokenChar reports whether r may appear in a bearer token (RFC 6750's
// b64token characters).
func tokenChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~+/=", r)
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
