package pipedrive

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"synclayer"
	"synclayer/destination/pipedrive/pipedrivesim"
)

// Type is Pipedrive in the program's registry of destinations.
var Type = synclayer.DestinationType{Type: "pipedrive", Open: Open, SecretKeys: []string{"api_token", "webhook.password"}}

// Settings is a destinations block of type pipedrive.
type Settings struct {
	// APIToken is a user's personal API token; empty: the built-in
	// simulator.
	APIToken string `json:"api_token"`
	// CompanyDomain is the company's subdomain, the acme of
	// acme.pipedrive.com; BaseURL, instead, is the whole API root.
	CompanyDomain string `json:"company_domain"`
	BaseURL       string `json:"base_url"`
	// SimulatorRateLimit, when positive, is the built-in simulator's
	// budget: that many requests a second.
	SimulatorRateLimit int `json:"simulator_rate_limit"`
	// Webhook, when set, takes Pipedrive's webhooks at /webhooks/<name>
	// (webhook.go, inbound.go).
	Webhook *WebhookSettings `json:"webhook"`
}

const settingNames = "Pipedrive setting; the settings are api_token, company_domain, base_url, simulator_rate_limit and webhook"

const simulatorToken = "simulator-api-token"

var domainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Destination is one Pipedrive company, as one user's API token sees it.
type Destination struct {
	name   string
	client *Client
	sim    *pipedrivesim.Server
	log    *slog.Logger
	owners synclayer.OwnerCache

	webhook   *WebhookSettings // nil: no webhooks
	publicURL func() string    // server.public_url, for the webhook's URL
}

var _ synclayer.ContactDestination = (*Destination)(nil)

// Open builds a Pipedrive destination from its config section. With no
// API token it runs the built-in simulator, mounted on the server, and
// says so loudly; without a server (env.Mount nil) that is an error on
// api_token.
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
		errs = append(errs, synclayer.FieldErrorf("simulator_rate_limit", "must not be negative; leave it out for Pipedrive's documented limits"))
	}
	if s.CompanyDomain != "" && s.BaseURL != "" {
		errs = append(errs, synclayer.FieldErrorf("base_url", "is set with company_domain: set one of them"))
	}
	if d := s.CompanyDomain; d != "" && !domainPattern.MatchString(d) {
		errs = append(errs, synclayer.FieldErrorf("company_domain", "must be the company's Pipedrive subdomain, the acme of https://acme.pipedrive.com, in lowercase"))
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, synclayer.FieldErrorf("base_url", "must be an http:// or https:// URL, such as https://acme.pipedrive.com"))
		}
	}
	if s.APIToken != "" && strings.TrimSpace(s.APIToken) != s.APIToken {
		errs = append(errs, synclayer.FieldErrorf("api_token", "has spaces around it: copy the personal API token exactly"))
	}
	if s.APIToken != "" && s.CompanyDomain == "" && s.BaseURL == "" {
		errs = append(errs, synclayer.FieldErrorf("company_domain", "is not set: set it to the company's Pipedrive subdomain (acme for https://acme.pipedrive.com)"))
	}
	if s.APIToken == "" && env.Mount == nil {
		errs = append(errs, synclayer.FieldErrorf("api_token", "is not set, so there is nowhere to send to: set it to a Pipedrive personal API token, e.g. api_token: \"${PIPEDRIVE_API_TOKEN}\" (the built-in simulator runs only inside synclayer serve)"))
	}
	if s.Webhook != nil {
		if err := s.Webhook.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	d := &Destination{name: name, log: log, webhook: s.Webhook, publicURL: env.PublicURL}
	if s.CompanyDomain != "" {
		s.BaseURL = "https://" + s.CompanyDomain + ".pipedrive.com"
	}
	if s.APIToken == "" {
		o := pipedrivesim.Options{APIToken: simulatorToken}
		if n := s.SimulatorRateLimit; n > 0 {
			o.Limit = pipedrivesim.Limit{Max: n, Window: time.Second}
		}
		d.sim = pipedrivesim.New(o)
		base := strings.TrimRight(env.Mount(d.sim), "/")
		s.APIToken, s.BaseURL = simulatorToken, base
		log.Warn(fmt.Sprintf("NO PIPEDRIVE API TOKEN CONFIGURED for destinations.%s: deliveries go to the built-in Pipedrive SIMULATOR, not to Pipedrive. "+
			"Set destinations.%s.api_token (e.g. \"${PIPEDRIVE_API_TOKEN}\") and company_domain to sync for real. Simulated API (kept in memory: a restart empties it): %s/api/v2/persons",
			name, name, base))
	}
	d.client = New(Config{APIToken: s.APIToken, BaseURL: s.BaseURL, Logger: log.With("destination", name),
		OnRateLimitWait: env.OnRateLimitWait, Transport: env.Transport, Shared: env.Shared, Name: name})
	return d, nil
}

// Name is the destination's config name.
func (d *Destination) Name() string { return d.name }

// Type is "pipedrive".
func (d *Destination) Type() string { return Type.Type }

// Client is the company's API client.
func (d *Destination) Client() *Client { return d.client }

// Simulator is the built-in simulator, or nil when a real token is set.
func (d *Destination) Simulator() *pipedrivesim.Server { return d.sim }

// Simulated reports whether deliveries go to the built-in simulator.
func (d *Destination) Simulated() bool { return d.sim != nil }

// RateBudgets returns what Pipedrive's rate-limit headers last said.
func (d *Destination) RateBudgets() []synclayer.RateBudget { return d.client.RateBudgets() }
