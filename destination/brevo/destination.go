package brevo

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/weakset"
)

// Type is Brevo in the program's registry of destinations.
// webhook.token is a secret too: whoever holds it can post unsubscribes
// and attribute changes in Brevo's name.
var Type = synclayer.DestinationType{Type: "brevo", Open: Open, SecretKeys: []string{"api_key", "webhook.token"}}

// Settings is a destinations block of type brevo.
type Settings struct {
	APIKey  string `json:"api_key"`  // empty: the built-in simulator
	BaseURL string `json:"base_url"` // default DefaultBaseURL
	// SimulatorRateLimit is the built-in simulator's contacts limit per second.
	SimulatorRateLimit int `json:"simulator_rate_limit"`
	// Webhook, when set, serves Brevo's marketing webhooks (unsubscribes,
	// hard bounces, spam complaints, contact changes) back into synclayer,
	// and reconciles the opt-outs whose webhook was lost (reconcile.go).
	Webhook *WebhookSettings `json:"webhook"`
}

// Destination is one Brevo account.
type Destination struct {
	name    string
	client  *Client
	sim     *brevosim.Server
	log     *slog.Logger
	webhook WebhookSettings          // zero when the section configures none
	syncs   weakset.Set[ContactSync] // the contact syncs built on this account, read by the webhook

	reconcile     time.Duration // webhook.reconcile_interval in effect; 0 for none
	reconcilePage int           // contacts per page of Reconcile's reads
}

var (
	_ synclayer.ContactDestination = (*Destination)(nil)
	_ synclayer.InboundDestination = (*Destination)(nil)
	_ synclayer.WebhookRegistrar   = (*Destination)(nil)
	_ synclayer.Reconciler         = (*Destination)(nil)
)

// Open builds a Brevo destination from its config section. With no API
// key it runs the built-in simulator, mounted on the server, and says so
// loudly; a command without a server then has nowhere to send to.
func Open(name string, section json.RawMessage, env synclayer.DestinationEnv) (synclayer.Destination, error) {
	var s Settings
	if err := synclayer.DecodeSettings(section, &s, "Brevo setting (api_key, base_url, simulator_rate_limit, webhook)"); err != nil {
		return nil, err
	}
	var reconcile time.Duration
	if s.Webhook != nil {
		var err error
		if reconcile, err = s.Webhook.validate(); err != nil {
			return nil, err
		}
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Destination{name: name, log: log, reconcile: reconcile, reconcilePage: reconcilePage}
	if s.Webhook != nil {
		d.webhook = *s.Webhook
	}
	if s.APIKey == "" {
		if env.Mount == nil {
			return nil, synclayer.FieldErrorf("api_key", "is not set, so there is nowhere to send to: set it, e.g. api_key: \"${BREVO_API_KEY}\" (the built-in simulator runs only inside synclayer serve)")
		}
		if s.SimulatorRateLimit < 0 {
			return nil, synclayer.FieldErrorf("simulator_rate_limit", "must not be negative")
		}
		d.sim = brevosim.New(brevosim.Options{APIKey: "simulator", RateLimit: s.SimulatorRateLimit})
		mux := http.NewServeMux()
		mux.HandleFunc("GET /contacts", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"contacts": d.sim.Contacts()})
		})
		mux.Handle("/", d.sim)
		base := env.Mount(mux)
		s.APIKey, s.BaseURL = "simulator", base+"/v3"
		log.Warn(fmt.Sprintf("NO BREVO API KEY CONFIGURED for destinations.%s: deliveries go to the built-in Brevo SIMULATOR, not to Brevo. "+
			"Set destinations.%s.api_key (e.g. \"${BREVO_API_KEY}\") to sync for real. Simulated contacts (kept in memory: a restart empties them): GET %s/contacts", name, name, base))
	}
	if s.BaseURL == "" {
		s.BaseURL = DefaultBaseURL
	}
	if !strings.HasPrefix(s.BaseURL, "http://") && !strings.HasPrefix(s.BaseURL, "https://") {
		return nil, synclayer.FieldErrorf("base_url", "must be an http:// or https:// URL, such as %s", DefaultBaseURL)
	}
	d.client = New(Config{APIKey: s.APIKey, BaseURL: s.BaseURL, Logger: log.With("destination", name), OnRateLimitWait: env.OnRateLimitWait, Transport: env.Transport})
	return d, nil
}

func (d *Destination) Name() string { return d.name }
func (d *Destination) Type() string { return Type.Type }

// Client is the account's API client, for the skills that are Brevo's
// alone for now (order-events, product-catalog, cart-events, batch).
func (d *Destination) Client() *Client { return d.client }

// Simulator is the built-in simulator, or nil when a real key is set.
func (d *Destination) Simulator() *brevosim.Server { return d.sim }

// ContactOptions is the Brevo part of customer-sync's options.
type ContactOptions struct {
	ListID int64 `json:"list_id"` // the list contacts with marketing consent join
	// ImportListID is the list batch imports put contacts without
	// marketing consent in, which campaigns must not target.
	ImportListID     int64 `json:"import_list_id"`
	CreateAttributes *bool `json:"create_attributes"` // create missing attributes at start; default true
}

// ContactSync builds customer-sync on this account. The mapping's values
// are Brevo attribute names, upper case, and it must map email, since
// Brevo identifies contacts by it. The destination keeps sight of it while
// it is in use, so the webhook knows which list additions are opt-ins to a
// synced list and which attributes map back to canonical fields.
func (d *Destination) ContactSync(cfg synclayer.ContactSyncConfig) (synclayer.ContactSync, error) {
	var o ContactOptions
	if len(cfg.Options) > 0 {
		if err := synclayer.DecodeSettings(cfg.Options, &o, "Brevo option (list_id, import_list_id, create_attributes)"); err != nil {
			var e *synclayer.Error
			if errors.As(err, &e) && e.Field != "" {
				e.Field = "options." + e.Field
			}
			return nil, err
		}
	}
	mapping := cfg.Mapping
	if len(mapping) == 0 {
		mapping = DefaultMapping
	}
	var errs []error
	if _, ok := mapping["email"]; !ok {
		errs = append(errs, synclayer.FieldErrorf("field_mapping", "must map email (email: email), since Brevo identifies contacts by it"))
	}
	for _, field := range sortedKeys(mapping) {
		attr := mapping[field]
		switch {
		case attr == "":
			errs = append(errs, synclayer.FieldErrorf("field_mapping."+field, "names no Brevo attribute"))
		case !strings.EqualFold(attr, "email") && strings.ToUpper(attr) != attr:
			errs = append(errs, synclayer.FieldErrorf("field_mapping."+field, "Brevo attribute names are upper case: use %q", strings.ToUpper(attr)))
		}
	}
	switch {
	case o.ListID < 0:
		errs = append(errs, synclayer.FieldErrorf("options.list_id", "must be a positive Brevo list ID"))
	case o.ImportListID < 0:
		errs = append(errs, synclayer.FieldErrorf("options.import_list_id", "must be a positive Brevo list ID"))
	case o.ImportListID > 0 && o.ImportListID == o.ListID:
		errs = append(errs, synclayer.FieldErrorf("options.import_list_id", "must differ from list_id: it holds the contacts without marketing consent, which campaigns must not target"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cs := &ContactSync{Client: d.client, FieldMapping: mapping, ListID: o.ListID, ImportListID: o.ImportListID,
		NoCreate: o.CreateAttributes != nil && !*o.CreateAttributes, HardDelete: cfg.HardDelete, ClearUnmapped: cfg.ClearUnmapped, Destination: d.name, Logger: cfg.Logger}
	d.syncs.Add(cs)
	return cs, nil
}

// DefaultMapping is customer-sync's mapping on Brevo when the config gives none.
var DefaultMapping = map[string]string{
	"email": "email", "firstName": "FIRSTNAME", "lastName": "LASTNAME", "phone": "SMS",
	"totalOrders": "TOTAL_ORDERS", "totalSpent": "TOTAL_SPENT", "lastOrderDate": "LAST_ORDER_DATE",
	"customerTier": "CUSTOMER_TIER", "tags": "TAGS",
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	_ synclayer.OrderDestination   = (*Destination)(nil)
	_ synclayer.ProductDestination = (*Destination)(nil)
	_ synclayer.CartDestination    = (*Destination)(nil)
)

// OrderSync is order-events on this account: POST /orders/status. It
// takes no options.
func (d *Destination) OrderSync(cfg synclayer.SkillConfig) (synclayer.OrderSync, error) {
	if err := noOptions(cfg.Options); err != nil {
		return nil, err
	}
	return orderSync{d.client}, nil
}

// ProductSync is product-catalog on this account: POST /products and POST
// /categories. It takes no options.
func (d *Destination) ProductSync(cfg synclayer.SkillConfig) (synclayer.ProductSync, error) {
	if err := noOptions(cfg.Options); err != nil {
		return nil, err
	}
	return productSync{d.client}, nil
}

// CartSync is cart-events on this account: the cart_abandoned event. It
// takes no options.
func (d *Destination) CartSync(cfg synclayer.SkillConfig) (synclayer.CartSync, error) {
	if err := noOptions(cfg.Options); err != nil {
		return nil, err
	}
	return cartSync{d.client}, nil
}

func noOptions(raw json.RawMessage) error {
	var none struct{}
	if err := synclayer.DecodeSettings(raw, &none, "Brevo option of this skill (it takes none)"); err != nil {
		var e *synclayer.Error
		if errors.As(err, &e) && e.Field != "" {
			e.Field = "options." + e.Field
		}
		return err
	}
	return nil
}
