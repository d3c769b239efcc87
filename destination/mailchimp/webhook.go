package mailchimp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"synclayer"
)

// minSecretLength is the shortest webhook secret accepted. Mailchimp signs
// nothing: the secret in the webhook URL is all that tells its deliveries
// from anyone else's (docs/platforms/mailchimp.md), so it must not be
// guessable.
const minSecretLength = 16

// secretParam is the query parameter of the webhook URL that carries the
// secret: Mailchimp calls PublicURL/webhooks/<name>?secret=<secret>.
const secretParam = "secret"

// WebhookSettings is the webhook block of a mailchimp section:
//
//	webhook: { secret: "${MAILCHIMP_WEBHOOK_SECRET}", public_url: "https://sync.example.com" }
type WebhookSettings struct {
	// Secret is the value of the secret query parameter of the URL
	// Mailchimp calls; RegisterWebhook puts it there.
	Secret string `json:"secret"`
	// PublicURL is where Mailchimp reaches synclayer; the webhook is
	// served at PublicURL/webhooks/<destination name>. Empty means the
	// operator registers the webhook by hand (WebhookRequest).
	PublicURL string `json:"public_url"`
}

// UnmarshalJSON refuses keys the block does not know, naming them under
// webhook (webhook.secrte), as the section's own keys are named.
func (w *WebhookSettings) UnmarshalJSON(b []byte) error {
	type plain WebhookSettings
	var p plain
	if err := synclayer.DecodeBlock(b, &p, "webhook", "Mailchimp webhook setting (secret, public_url)"); err != nil {
		return err
	}
	*w = WebhookSettings(p)
	return nil
}

// validate checks the block and trims public_url's trailing slash. Each
// problem is an EINVALID *synclayer.Error naming webhook.secret or
// webhook.public_url, joined when there are both.
func (w *WebhookSettings) validate() error {
	var errs []error
	const generate = "generate one with: openssl rand -hex 32"
	switch s := w.Secret; {
	case s == "":
		errs = append(errs, synclayer.FieldErrorf("webhook.secret", "is not set, so Mailchimp's webhooks could not be told from anyone else's: %s, and set it, e.g. secret: \"${MAILCHIMP_WEBHOOK_SECRET}\"", generate))
	case len(s) < minSecretLength:
		errs = append(errs, synclayer.FieldErrorf("webhook.secret", "is %d characters; it must be at least %d, since it is all that authenticates Mailchimp's deliveries: %s", len(s), minSecretLength, generate))
	case strings.IndexFunc(s, func(r rune) bool { return !secretChar(r) }) >= 0:
		errs = append(errs, synclayer.FieldErrorf("webhook.secret", "may hold only letters, digits and - . _ ~ (it travels in the webhook URL's query): %s", generate))
	}
	if w.PublicURL != "" {
		u, err := synclayer.PublicURL(w.PublicURL, "Mailchimp", "webhook.secret")
		if err != nil {
			errs = append(errs, err)
		} else {
			w.PublicURL = u
		}
	}
	return errors.Join(errs...)
}

// secretChar reports whether r is one of RFC 3986's unreserved characters,
// which a URL query carries as they are.
func secretChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~", r)
}

// RegisteredEvents are the audience events synclayer's webhook is
// triggered by. Campaign sends say nothing about a person and are left
// out (Parse acknowledges one all the same).
var RegisteredEvents = WebhookEvents{Subscribe: true, Unsubscribe: true, Profile: true, Cleaned: true, Upemail: true}

// RegisteredSources are the sources of change synclayer's webhook is
// triggered by: the person (an unsubscribe link, a signup form, the
// preferences page) and an admin in Mailchimp's web interface. Not the
// API, so synclayer's own writes never come back as deliveries; the cost
// is that another integration's API writes do not either.
var RegisteredSources = WebhookSources{User: true, Admin: true}

// WebhookURL is PublicURL/webhooks/<destination name>, the URL Mailchimp
// is to call without its secret query (so it can be logged), or "" when
// the section sets no public_url.
func (d *Destination) WebhookURL() string {
	if d.webhook.PublicURL == "" {
		return ""
	}
	return d.webhook.PublicURL + "/webhooks/" + url.PathEscape(d.name)
}

// callbackURL is target with the secret in its query: what Mailchimp is
// given. A query target already has keeps its other parameters.
func (d *Destination) callbackURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target + "?" + url.Values{secretParam: {d.webhook.Secret}}.Encode()
	}
	q := u.Query()
	q.Set(secretParam, d.webhook.Secret)
	u.RawQuery = q.Encode()
	return u.String()
}

// RegisterWebhook creates synclayer's webhook on each audience the
// destination syncs to (the options.audience_id of its customer-syncs,
// and audience_id), or updates the one already there, so a restart or a
// rotated secret never adds a second. Synclayer's webhook is the one whose
// URL, query aside, is WebhookURL(); webhooks at other URLs are left
// alone. It returns a line for the log, which never holds the secret.
// Without a secret or a public_url it is an EINVALID error naming the
// missing key; with no audience known yet, an ENOTFOUND one.
func (d *Destination) RegisterWebhook(ctx context.Context) (string, error) {
	target := d.WebhookURL()
	switch {
	case d.webhook.Secret == "":
		return "", synclayer.FieldErrorf("webhook.secret", "is not set, so there is no webhook to register")
	case target == "":
		return "", synclayer.FieldErrorf("webhook.public_url", "is not set, so Mailchimp has nowhere to call: set it, or register the webhook by hand")
	}
	lists := d.webhookAudiences()
	if len(lists) == 0 {
		return "", synclayer.Errorf(synclayer.ENOTFOUND, "no Mailchimp audience to register the webhook on yet: a Mailchimp webhook belongs to one audience, "+
			"and no customer-sync on destination %s names options.audience_id, nor does its audience_id setting", d.name)
	}
	var done []string
	for _, list := range lists {
		s, err := d.registerOn(ctx, list, target)
		if err != nil {
			return "", err
		}
		done = append(done, s)
	}
	return strings.Join(done, "; "), nil
}

func (d *Destination) registerOn(ctx context.Context, list, target string) (string, error) {
	hooks, err := d.client.ListWebhooks(ctx, list)
	if err != nil {
		return "", fmt.Errorf("list the webhooks of Mailchimp audience %s: %w", list, err)
	}
	var found []Webhook
	for _, h := range hooks {
		if sameEndpoint(h.URL, target) {
			found = append(found, h)
		}
	}
	cfg := d.webhookConfig(d.callbackURL(target))
	what := fmt.Sprintf("on audience %s for %s (events %s; sources %s)", list, target,
		strings.Join(RegisteredEvents.names(), ", "), strings.Join(RegisteredSources.names(), ", "))
	if len(found) == 0 {
		h, err := d.client.CreateWebhook(ctx, list, cfg)
		if err != nil {
			return "", fmt.Errorf("create the webhook on Mailchimp audience %s: %w", list, err)
		}
		return fmt.Sprintf("created Mailchimp webhook %s %s", h.ID, what), nil
	}
	id := found[0].ID
	if _, err := d.client.UpdateWebhook(ctx, list, id, cfg); err != nil {
		return "", fmt.Errorf("update webhook %s of Mailchimp audience %s: %w", id, list, err)
	}
	summary := fmt.Sprintf("updated Mailchimp webhook %s %s", id, what)
	if len(found) > 1 {
		// Each would deliver every event again; the dedupe key absorbs that,
		// but the operator should delete the extra ones.
		summary += fmt.Sprintf("; %d other webhooks of the audience call the same URL, delete them in Mailchimp", len(found)-1)
	}
	return summary, nil
}

// sameEndpoint reports whether a webhook's URL is target with any query:
// the same scheme, host and path. The query holds the secret, which a
// rotation changes.
func sameEndpoint(hookURL, target string) bool {
	h, err1 := url.Parse(hookURL)
	t, err2 := url.Parse(target)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(h.Scheme, t.Scheme) && strings.EqualFold(h.Host, t.Host) &&
		strings.TrimRight(h.EscapedPath(), "/") == strings.TrimRight(t.EscapedPath(), "/")
}

// webhookAudiences are the audiences the webhook belongs on: those the
// live contact syncs deliver to, and audience_id, sorted.
func (d *Destination) webhookAudiences() []string {
	var out []string
	for _, s := range d.syncs.Live() {
		if !slices.Contains(out, s.audience) {
			out = append(out, s.audience)
		}
	}
	if d.audience != "" && !slices.Contains(out, d.audience) {
		out = append(out, d.audience)
	}
	slices.Sort(out)
	return out
}

// WebhookRequest is the request RegisterWebhook sends to create the
// webhook for url, for an operator to send by hand: POST, the path under
// the API base (https://<dc>.api.mailchimp.com/3.0), and the indented JSON
// body, whose url has the secret in its query. The path names the
// audience when exactly one is known (audience_id, or the one
// customer-sync audience); otherwise it keeps the {list_id} placeholder
// for the operator to fill in, once per audience.
func (d *Destination) WebhookRequest(url string) (method, path string, body []byte) {
	body, _ = json.MarshalIndent(d.webhookConfig(d.callbackURL(url)), "", "  ")
	path = "/lists/{list_id}/webhooks"
	if lists := d.webhookAudiences(); len(lists) == 1 {
		path = webhooksPath(lists[0])
	}
	return "POST", path, body
}

func (d *Destination) webhookConfig(callback string) WebhookConfig {
	events, sources := RegisteredEvents, RegisteredSources
	return WebhookConfig{URL: callback, Events: &events, Sources: &sources}
}
