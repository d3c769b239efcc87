package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/goccy/go-yaml"

	"synclayer"
	"synclayer/source/bigcommerce"
	"synclayer/source/custom"
	"synclayer/source/facebook"
	"synclayer/source/form"
	"synclayer/source/freshdesk"
	"synclayer/source/helpscout"
	"synclayer/source/intercom"
	"synclayer/source/magento"
	"synclayer/source/shopify"
	"synclayer/source/stripe"
	"synclayer/source/woocommerce"
	"synclayer/source/zendesk"
)

// sourceTypes is the registry of the platforms synclayer takes events
// from. Adding a source is its package and one line here.
var sourceTypes = []synclayer.SourceType{
	shopify.Type,
	woocommerce.Type,
	custom.Type,
	zendesk.Type,
	stripe.Type,
	form.Type,
	facebook.Type,
	freshdesk.Type,
	intercom.Type,
	helpscout.Type,
	bigcommerce.Type,
	magento.Type,
}

func sourceType(name string) (synclayer.SourceType, bool) {
	for _, t := range sourceTypes {
		if t.Type == name {
			return t, true
		}
	}
	return synclayer.SourceType{}, false
}

func sourceTypeNames() string {
	names := make([]string, len(sourceTypes))
	for i, t := range sourceTypes {
		names[i] = t.Type
	}
	return strings.Join(names, ", ")
}

// typeOf is the block's platform: type:, or else its name, so that
// `shopify:` is a Shopify store and `shopify-eu: {type: shopify}` another.
func (s *SourceConfig) typeOf(name string) string {
	if s.Type != "" {
		return s.Type
	}
	return name
}

// openSource builds the named source with its accepted secrets. Its
// webhooks arrive at /webhooks/<name>, and its events, contacts' source
// IDs, stats and trace lines carry the name.
func (c *Config) openSource(name string, secrets []string) (synclayer.Source, error) {
	return c.openSourceShared(name, secrets, nil)
}

// openSourceShared is openSource for the server, with the store's shared
// keys (SourceSettings.Shared).
func (c *Config) openSourceShared(name string, secrets []string, shared synclayer.SharedKeys) (synclayer.Source, error) {
	sc, ok := c.Sources[name]
	if !ok || sc == nil {
		return nil, fmt.Errorf("source %q is not configured under sources", name)
	}
	t, ok := sourceType(sc.typeOf(name))
	if !ok {
		return nil, fmt.Errorf("sources.%s: %q is not a source type; synclayer has %s", name, sc.typeOf(name), sourceTypeNames())
	}
	st := synclayer.SourceSettings{Name: name, Tolerance: sc.Tolerance, Channels: channels, Shared: shared}
	if len(sc.Settings) > 0 {
		raw, err := json.Marshal(sc.Settings)
		if err != nil {
			return nil, fmt.Errorf("sources.%s: %w", name, err)
		}
		st.Section = raw
	}
	return t.Open(secrets, st)
}

// sourceSecrets are the values of every source's secret settings, for
// the log's redaction (the signing secrets are apart: allSecrets).
func (c *Config) sourceSecrets() []string {
	var out []string
	for name, sc := range c.sources() {
		t, _ := sourceType(sc.typeOf(name))
		for _, k := range t.SecretKeys {
			if s := settingAt(sc.Settings, k); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// commonSourceKeys are the keys every source block has; the others are
// the source package's own (SourceConfig.Settings).
var commonSourceKeys = []string{"type", "secret", "secret_file", "previous_secrets", "tolerance", "rate_limit"}

// UnmarshalYAML reads the keys every source has into their fields and
// keeps the rest, as written, for the source's package, which refuses a
// key it does not know.
func (s *SourceConfig) UnmarshalYAML(b []byte) error {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return errors.New("must be a mapping of settings, such as { secret: \"${SHOPIFY_WEBHOOK_SECRET}\" }")
	}
	// Decoded over what s holds, so an environment's block overrides the
	// top level's key by key.
	type common SourceConfig // without this method
	c := common(*s)
	if err := yaml.UnmarshalWithOptions(b, &c, durationOption); err != nil {
		return err
	}
	settings := maps.Clone(s.Settings)
	*s = SourceConfig(c)
	for _, k := range commonSourceKeys {
		delete(m, k)
	}
	for k, v := range m {
		if settings == nil {
			settings = map[string]any{}
		}
		settings[k] = v
	}
	s.Settings = settings
	return nil
}

// MarshalYAML writes the block back as it was read: the common keys,
// then the package's own.
func (s SourceConfig) MarshalYAML() (any, error) {
	type common SourceConfig
	b, err := yaml.Marshal(common(s))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	for k, v := range s.Settings {
		out[k] = v
	}
	return out, nil
}
