package main

import (
	"fmt"
	"strings"

	"synclayer"
	"synclayer/source/custom"
	"synclayer/source/shopify"
	"synclayer/source/woocommerce"
)

// sourceTypes is the registry of the platforms synclayer takes events
// from. Adding a source is its package and one line here.
var sourceTypes = []synclayer.SourceType{
	shopify.Type,
	woocommerce.Type,
	custom.Type,
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
	sc, ok := c.Sources[name]
	if !ok || sc == nil {
		return nil, fmt.Errorf("source %q is not configured under sources", name)
	}
	t, ok := sourceType(sc.typeOf(name))
	if !ok {
		return nil, fmt.Errorf("sources.%s: %q is not a source type; synclayer has %s", name, sc.typeOf(name), sourceTypeNames())
	}
	return t.Open(secrets, synclayer.SourceSettings{Tolerance: sc.Tolerance})
}
