package klaviyo

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
	"synclayer/destination/klaviyo/klaviyosim"
)

// Type is Klaviyo in the program's registry of destinations.
var Type = synclayer.DestinationType{Type: "klaviyo", Open: Open, SecretKeys: []string{"api_key"}}

// Settings is a destinations block of type klaviyo.
type Settings struct {
	APIKey   string `json:"api_key"`  // a private key; empty: the built-in simulator
	BaseURL  string `json:"base_url"` // default DefaultBaseURL
	Revision string `json:"revision"` // default Revision
	// SimulatorRateLimit, when positive, is the built-in simulator's burst
	// limit per second on every bucket (steady: 60 times it per minute).
	SimulatorRateLimit int `json:"simulator_rate_limit"`
	// ReconcileInterval is how often Reconcile reads the opt-outs made
	// inside Klaviyo: nil (unset) is DefaultReconcileInterval, 0 ("off")
	// turns it off.
	ReconcileInterval *Interval `json:"reconcile_interval"`
}

const settingNames = "Klaviyo setting; the settings are api_key, base_url, revision, simulator_rate_limit and reconcile_interval"

// simulatorKey is the API key the built-in simulator requires.
const simulatorKey = "simulator"

var revisionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.[a-z0-9]+)?$`)

// Destination is one Klaviyo account.
type Destination struct {
	name   string
	client *Client
	sim    *klaviyosim.Server
	log    *slog.Logger
	// reconcile is reconcile_interval, 0 when off; pages (0: the
	// maximum) are Reconcile's page sizes, for tests.
	reconcile time.Duration
	pages     int
}

var (
	_ synclayer.ContactDestination = (*Destination)(nil)
	_ synclayer.Reconciler         = (*Destination)(nil)
)

// Open builds a Klaviyo destination from its config section. With no API
// key it runs the built-in simulator, mounted on the server, and says so
// loudly; a command without a server (env.Mount nil) then has nowhere to
// send to, which is an error on api_key.
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
	if s.Revision != "" && !revisionPattern.MatchString(s.Revision) {
		errs = append(errs, synclayer.FieldErrorf("revision", "must be a Klaviyo API revision such as %q (YYYY-MM-DD, or YYYY-MM-DD.pre for a beta)", Revision))
	}
	if s.SimulatorRateLimit < 0 {
		errs = append(errs, synclayer.FieldErrorf("simulator_rate_limit", "must not be negative; leave it out for Klaviyo's documented limits"))
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, synclayer.FieldErrorf("base_url", "must be an http:// or https:// URL, such as %s", DefaultBaseURL))
		}
	}
	reconcile, err := s.reconcileInterval()
	if err != nil {
		errs = append(errs, err)
	}
	if s.APIKey == "" && env.Mount == nil {
		errs = append(errs, synclayer.FieldErrorf("api_key", "is not set, so there is nowhere to send to: set it to a Klaviyo private API key, e.g. api_key: \"${KLAVIYO_API_KEY}\" (the built-in simulator runs only inside synclayer serve)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	d := &Destination{name: name, log: log, reconcile: reconcile}
	if s.APIKey == "" {
		o := klaviyosim.Options{APIKey: simulatorKey}
		if n := s.SimulatorRateLimit; n > 0 {
			o.Limits = map[string]klaviyosim.Limit{}
			for b := range klaviyosim.DefaultLimits {
				o.Limits[b] = klaviyosim.Limit{Burst: n, Steady: 60 * n}
			}
		}
		d.sim = klaviyosim.New(o)
		base := strings.TrimRight(env.Mount(d.sim), "/")
		s.APIKey, s.BaseURL = simulatorKey, base
		log.Warn(fmt.Sprintf("NO KLAVIYO API KEY CONFIGURED for destinations.%s: deliveries go to the built-in Klaviyo SIMULATOR, not to Klaviyo. "+
			"Set destinations.%s.api_key (e.g. \"${KLAVIYO_API_KEY}\") to sync for real. Simulated API (kept in memory: a restart empties it): %s/api/profiles", name, name, base))
	}
	cfg := Config{APIKey: s.APIKey, BaseURL: s.BaseURL, Revision: s.Revision, Logger: log.With("destination", name), OnRateLimitWait: env.OnRateLimitWait, Transport: env.Transport}
	if d.sim != nil && s.SimulatorRateLimit > 0 {
		cfg.Limits = map[string]Limit{}
		for b := range Buckets {
			cfg.Limits[b] = Limit{Burst: s.SimulatorRateLimit, Steady: 60 * s.SimulatorRateLimit}
		}
	}
	d.client = New(cfg)
	return d, nil
}

// Name is the destination's config name.
func (d *Destination) Name() string { return d.name }

// Type is "klaviyo".
func (d *Destination) Type() string { return Type.Type }

// Client is the account's API client.
func (d *Destination) Client() *Client { return d.client }

// Simulator is the built-in simulator, or nil when a real key is set.
func (d *Destination) Simulator() *klaviyosim.Server { return d.sim }
