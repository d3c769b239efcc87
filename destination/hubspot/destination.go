package hubspot

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"synclayer"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/weakset"
)

// Type is HubSpot in the program's registry of destinations.
var Type = synclayer.DestinationType{Type: "hubspot", Open: Open, SecretKeys: []string{"access_token", "oauth.client_secret", "oauth.refresh_token", "webhook.client_secret"}}

// Settings is a destinations block of type hubspot.
type Settings struct {
	// AccessToken is a private app's access token (pat-…); empty, with
	// no OAuth either: the built-in simulator.
	AccessToken string `json:"access_token"`
	// OAuth, instead of AccessToken, is an OAuth app's credentials
	// (settings_oauth.go).
	OAuth   *OAuthSettings `json:"oauth"`
	BaseURL string         `json:"base_url"` // default DefaultBaseURL
	// SimulatorRateLimit, when positive, is the built-in simulator's
	// budget: that many requests a second.
	SimulatorRateLimit int `json:"simulator_rate_limit"`
	// Webhook, when set, takes HubSpot's webhooks at /webhooks/<name>
	// (webhook.go, inbound.go).
	Webhook *WebhookSettings `json:"webhook"`
}

const settingNames = "HubSpot setting; the settings are access_token, oauth, base_url, simulator_rate_limit and webhook"

const simulatorToken = "pat-simulator"

// Destination is one HubSpot account.
type Destination struct {
	name   string
	client *Client
	sim    *hubspotsim.Server
	log    *slog.Logger

	webhook   *WebhookSettings         // nil: no webhooks
	publicURL func() string            // server.public_url, for the webhook's URL
	reconcile time.Duration            // 0: no reconciliation (reconcile.go)
	syncs     weakset.Set[ContactSync] // the contact syncs built on this account, read by the webhook

	actionKeys actionKeys           // task and note keys created (actions.go)
	owners     synclayer.OwnerCache // owners.go
}

var _ synclayer.ContactDestination = (*Destination)(nil)

// Open builds a HubSpot destination from its config section. With no
// access token it runs the built-in simulator, mounted on the server,
// and says so loudly; without a server (env.Mount nil) that is an error
// on access_token.
func Open(name string, section json.RawMessage, env synclayer.DestinationEnv) (synclayer.Destination, error) {
	var s Settings
	if err := synclayer.DecodeSettings(section, &s, settingNames); err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if s.SimulatorRateLimit < 0 {
		errs = append(errs, synclayer.FieldErrorf("simulator_rate_limit", "must not be negative; leave it out for HubSpot's documented limits"))
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, synclayer.FieldErrorf("base_url", "must be an http:// or https:// URL, such as %s", DefaultBaseURL))
		}
	}
	if s.AccessToken != "" && strings.TrimSpace(s.AccessToken) != s.AccessToken {
		errs = append(errs, synclayer.FieldErrorf("access_token", "has spaces around it: copy the private app's access token exactly"))
	}
	errs = append(errs, s.OAuth.check(s.AccessToken, env)...)
	if s.AccessToken == "" && s.OAuth == nil && env.Mount == nil {
		errs = append(errs, synclayer.FieldErrorf("access_token", "is not set, so there is nowhere to send to: set it to a HubSpot private app access token, e.g. access_token: \"${HUBSPOT_ACCESS_TOKEN}\" (the built-in simulator runs only inside synclayer serve)"))
	}
	var reconcile time.Duration
	if s.Webhook != nil {
		var err error
		if reconcile, err = s.Webhook.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	d := &Destination{name: name, log: log, webhook: s.Webhook, publicURL: env.PublicURL, reconcile: reconcile}
	if s.AccessToken == "" && s.OAuth == nil {
		o := hubspotsim.Options{AccessToken: simulatorToken}
		if n := s.SimulatorRateLimit; n > 0 {
			o.Limit = hubspotsim.Limit{Max: n, Interval: time.Second}
		}
		d.sim = hubspotsim.New(o)
		base := strings.TrimRight(env.Mount(d.sim), "/")
		s.AccessToken, s.BaseURL = simulatorToken, base
		log.Warn(fmt.Sprintf("NO HUBSPOT ACCESS TOKEN CONFIGURED for destinations.%s: deliveries go to the built-in HubSpot SIMULATOR, not to HubSpot. "+
			"Set destinations.%s.access_token (e.g. \"${HUBSPOT_ACCESS_TOKEN}\") to sync for real. Simulated API (kept in memory: a restart empties it): %s/crm/v3/objects/contacts; simulated subscription %s",
			name, name, base, hubspotsim.DefaultSubscription))
	}
	d.client = New(Config{AccessToken: s.AccessToken, OAuth: s.OAuth.config(name, env), BaseURL: s.BaseURL, Logger: log.With("destination", name),
		OnRateLimitWait: env.OnRateLimitWait, Transport: env.Transport})
	if err := s.OAuth.load(d.client, env); err != nil {
		return nil, err
	}
	return d, nil
}

// Name is the destination's config name.
func (d *Destination) Name() string { return d.name }

// Type is "hubspot".
func (d *Destination) Type() string { return Type.Type }

// Client is the account's API client.
func (d *Destination) Client() *Client { return d.client }

// Simulator is the built-in simulator, or nil when a real token is set.
func (d *Destination) Simulator() *hubspotsim.Server { return d.sim }

// Simulated reports whether deliveries go to the built-in simulator.
func (d *Destination) Simulated() bool { return d.sim != nil }

// RateBudgets returns what HubSpot's rate-limit headers last said.
func (d *Destination) RateBudgets() []synclayer.RateBudget { return d.client.RateBudgets() }
