package mailchimp

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"synclayer"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/weakset"
)

// Type is the "mailchimp" destination type for the program's registry.
// webhook.secret is a secret too: whoever holds it can post unsubscribes
// and profile changes as Mailchimp.
var Type = synclayer.DestinationType{Type: "mailchimp", Open: Open, SecretKeys: []string{"api_key", "webhook.secret"}}

// SimulatorAudience is the audience the built-in simulator starts with.
const SimulatorAudience = "a1b2c3d4e5"

// simulatorKey is the key the client and the built-in simulator share.
const simulatorKey = "simulator-us0"

// Settings is a mailchimp config section.
type Settings struct {
	APIKey             string `json:"api_key"`
	BaseURL            string `json:"base_url"`        // default https://<dc>.api.mailchimp.com/3.0 from the key
	MaxConnections     int    `json:"max_connections"` // default 10, Mailchimp's limit per key
	SimulatorRateLimit int    `json:"simulator_rate_limit"`
	// AudienceID is the audience (list ID) workflow rules' contact
	// actions act on; optional (customer-sync names its audience in its
	// own options). Without it CheckAction refuses every action. The
	// webhook is registered on it too, beside the customer-sync audiences.
	AudienceID string `json:"audience_id"`
	// Webhook, when set, serves Mailchimp's audience webhooks
	// (unsubscribes, cleaned addresses, signups, profile edits) at
	// /webhooks/<destination name>; see webhook.go.
	Webhook *WebhookSettings `json:"webhook"`
}

// Destination is one configured Mailchimp account.
type Destination struct {
	name     string
	audience string // Settings.AudienceID, for workflow actions
	client   *Client
	sim      *mailchimpsim.Server
	log      *slog.Logger
	webhook  WebhookSettings          // zero when the section configures none
	syncs    weakset.Set[ContactSync] // the contact syncs built on this account, read by the webhook
}

var (
	_ synclayer.ContactDestination = (*Destination)(nil)
	_ synclayer.InboundDestination = (*Destination)(nil)
	_ synclayer.WebhookRegistrar   = (*Destination)(nil)
)

// Open builds a destination from its config section. With no api_key it
// serves the built-in simulator through env.Mount, and says so loudly;
// with no Mount either (a command that runs no server), it is an error on
// api_key. The simulator's simulator_rate_limit is its limit of
// simultaneous connections.
func Open(name string, section json.RawMessage, env synclayer.DestinationEnv) (synclayer.Destination, error) {
	var st Settings
	if err := decodeStrict(section, &st); err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("destination", name)
	if st.MaxConnections < 0 {
		return nil, synclayer.FieldErrorf("max_connections", "must be positive (Mailchimp allows 10 simultaneous connections per key)")
	}
	d := &Destination{name: name, audience: strings.TrimSpace(st.AudienceID), log: log}
	if st.Webhook != nil {
		if err := st.Webhook.validate(); err != nil {
			return nil, err
		}
		d.webhook = *st.Webhook
	}
	if st.APIKey == "" {
		if env.Mount == nil {
			return nil, synclayer.FieldErrorf("api_key", "is required: set it to your Mailchimp API key (e.g. \"${MAILCHIMP_API_KEY}\"); the key ends in your data centre, like -us21")
		}
		limit := st.SimulatorRateLimit
		if limit == 0 {
			limit = mailchimpsim.DefaultConnectionLimit
		}
		d.sim = mailchimpsim.New(mailchimpsim.Options{APIKey: simulatorKey, ConnectionLimit: limit})
		d.sim.AddAudience(SimulatorAudience)
		st.APIKey, st.BaseURL = simulatorKey, strings.TrimRight(env.Mount(d.sim), "/")+"/3.0"
		log.Warn("NO MAILCHIMP API KEY CONFIGURED: deliveries go to the built-in Mailchimp SIMULATOR, not to Mailchimp. " +
			"Set destinations." + name + ".api_key (e.g. \"${MAILCHIMP_API_KEY}\") to sync for real. Simulated audience (kept in memory: a restart empties it): " + SimulatorAudience)
	}
	c, err := New(Config{APIKey: st.APIKey, BaseURL: st.BaseURL, MaxConnections: st.MaxConnections,
		Logger: log, OnRateLimitWait: env.OnRateLimitWait, Transport: env.Transport})
	if err != nil {
		return nil, synclayer.FieldErrorf("api_key", "%v", err)
	}
	d.client = c
	return d, nil
}

// Name is the config name.
func (d *Destination) Name() string { return d.name }

// Type is "mailchimp".
func (d *Destination) Type() string { return "mailchimp" }

// Client is the destination's API client.
func (d *Destination) Client() *Client { return d.client }

// Simulator is the built-in simulator deliveries go to, or nil when a
// real API key is configured.
func (d *Destination) Simulator() *mailchimpsim.Server { return d.sim }

// decodeStrict decodes section into v, refusing unknown keys by name.
func decodeStrict(section json.RawMessage, v any) error {
	if len(bytes.TrimSpace(section)) == 0 || string(bytes.TrimSpace(section)) == "null" {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(section, &keys); err != nil {
		return synclayer.Errorf(synclayer.EINVALID, "the mailchimp section is not an object: %v", err)
	}
	known := jsonKeys(v)
	var errs []error
	for k := range keys {
		if !known[k] {
			errs = append(errs, synclayer.FieldErrorf(k, "is not a Mailchimp setting; the settings are %s", strings.Join(sortedKeys(known), ", ")))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	dec := json.NewDecoder(bytes.NewReader(section))
	if err := dec.Decode(v); err != nil {
		var se *synclayer.Error
		if errors.As(err, &se) { // a block that names its own keys (webhook.secret)
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return synclayer.FieldErrorf(te.Field, "must be a %s", te.Type)
		}
		return synclayer.Errorf(synclayer.EINVALID, "decode the mailchimp section: %v", err)
	}
	return nil
}

// jsonKeys returns the json tag names of struct pointer v's fields.
func jsonKeys(v any) map[string]bool {
	out := map[string]bool{}
	b, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
