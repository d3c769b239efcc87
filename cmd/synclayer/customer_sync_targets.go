package main

import (
	"encoding/json"
	"maps"
	"os"
	"slices"

	"synclayer"
	"synclayer/skill"
)

// CustomerSyncTarget is one destination of customer-sync in the nested
// shape: its own mapping and its own options (list_id, audience_id, ...).
type CustomerSyncTarget struct {
	FieldMapping map[string]string `yaml:"field_mapping,omitempty" json:"field_mapping,omitempty"`
	Options      map[string]any    `yaml:"options,omitempty" json:"options,omitempty"`
}

// commonOptions are the option keys the skill reads itself; every other
// key under options is the destination's.
var commonOptions = []string{"sync_mode", "delete_behavior", "consent_sources", "consent_source", "default_region", "clear_unmapped", "batch", "customer_stage_on_first_order"}

// optionsShape is CustomerSyncOptions without its methods, to decode and
// encode the shared keys.
type optionsShape CustomerSyncOptions

// UnmarshalYAML reads the shared options into their fields and keeps the
// rest, as written, for the destination.
func (o *CustomerSyncOptions) UnmarshalYAML(b []byte) error {
	var shape optionsShape
	extra, err := decodeOptionsYAML(b, commonOptions, &shape)
	if err != nil {
		return err
	}
	*o = CustomerSyncOptions(shape)
	o.Extra = extra
	return nil
}

// MarshalYAML writes the shared and the destination's options as one block.
func (o CustomerSyncOptions) MarshalYAML() (any, error) {
	return encodeOptionsYAML(optionsShape(o), o.Extra)
}

// UnmarshalJSON is UnmarshalYAML for the admin API.
func (o *CustomerSyncOptions) UnmarshalJSON(b []byte) error {
	var shape optionsShape
	extra, err := decodeOptionsJSON(b, commonOptions, &shape)
	if err != nil {
		return err
	}
	*o = CustomerSyncOptions(shape)
	o.Extra = extra
	return nil
}

// MarshalJSON is MarshalYAML for the admin API.
func (o CustomerSyncOptions) MarshalJSON() ([]byte, error) {
	return encodeOptionsJSON(optionsShape(o), o.Extra)
}

// contactTarget is one destination customer-sync runs on, resolved from
// either shape.
type contactTarget struct {
	name    string // the destination's name under destinations
	key     string // where its mapping and options are in the config
	mapping map[string]string
	options map[string]any
}

// targets lists the destinations cs runs on, by name. The flat shape is
// one, destination: (default brevo), with the skill's own mapping and
// options; the nested shape names each.
func (c *Config) targets(cs *CustomerSyncConfig) []contactTarget {
	const key = "skills.customer-sync"
	if len(cs.Destinations) == 0 {
		return []contactTarget{{name: orDefault(cs.Destination, "brevo"), key: key, mapping: cs.FieldMapping, options: cs.Options.Extra}}
	}
	var out []contactTarget
	for _, name := range sortedNames(cs.Destinations) {
		t := cs.Destinations[name]
		if t == nil {
			t = &CustomerSyncTarget{}
		}
		opts := maps.Clone(cs.Options.Extra)
		if opts == nil {
			opts = map[string]any{}
		}
		maps.Copy(opts, t.Options)
		out = append(out, contactTarget{name: name, key: key + ".destinations." + name, mapping: t.FieldMapping, options: opts})
	}
	return out
}

// finishTargets checks each destination of cs: that it is configured,
// that it keeps contacts, and that it accepts the mapping and options.
func (c *Config) finishTargets(e *configErrors, cs *CustomerSyncConfig) {
	if cs.Destination != "" && len(cs.Destinations) > 0 {
		e.add("skills.customer-sync.destination", "give either destination (one) or destinations (several), not both")
		return
	}
	for _, t := range c.targets(cs) {
		for _, k := range sortedNames(t.options) {
			if slices.Contains(commonOptions, k) {
				e.add(t.key+".options."+k, "is an option of the whole skill: set it under skills.customer-sync.options")
			}
		}
		if _, ok := c.Destinations[t.name]; !ok {
			where := t.key
			if len(cs.Destinations) == 0 {
				where += ".destination"
			}
			e.add(where, "destination %q is not configured under destinations", t.name)
			continue
		}
		canonicalMapping(e, t.key+".field_mapping", t.mapping, c.carriesAttributes(cs.Source))
		d, err := c.openDestination(t.name, checkEnv())
		if err != nil {
			continue // reported at destinations.<name>
		}
		if _, err := c.contactSync(d, cs, t); err != nil {
			addFieldErrors(e, t.key, err)
		}
	}
}

// contactSync builds t's side of customer-sync on d.
func (c *Config) contactSync(d synclayer.Destination, cs *CustomerSyncConfig, t contactTarget) (synclayer.ContactSync, error) {
	cd, ok := d.(synclayer.ContactDestination)
	if !ok {
		return nil, synclayer.FieldErrorf("destination", "%s (type %s) does not keep contacts, so customer-sync cannot run on it", d.Name(), d.Type())
	}
	var opts json.RawMessage
	if len(t.options) > 0 {
		opts, _ = json.Marshal(t.options)
	}
	return cd.ContactSync(synclayer.ContactSyncConfig{Mapping: t.mapping, Options: opts, HardDelete: cs.Options.DeleteBehavior == "hard",
		ClearUnmapped: cs.Options.ClearUnmapped})
}

// implicitDestinations adds an empty brevo block (the built-in simulator
// without a key) when the config names Brevo without configuring it, as
// a config written before destinations were named does.
func (c *Config) implicitDestinations() {
	if c.Destinations == nil {
		c.Destinations = map[string]*DestinationSection{}
	}
	if _, ok := c.Destinations["brevo"]; ok {
		return
	}
	need := c.needsBrevo()
	if cs := c.Skills.CustomerSync; cs != nil && len(cs.Destinations) == 0 && orDefault(cs.Destination, "brevo") == "brevo" {
		need = true
	}
	if need {
		settings := map[string]any{}
		if k := os.Getenv("BREVO_API_KEY"); k != "" {
			settings["api_key"] = k // as the built-in defaults take it
		}
		c.Destinations["brevo"] = &DestinationSection{Settings: settings}
	}
}

// needsBrevo reports whether a skill is enabled on the destination named
// brevo (order-events, product-catalog, cart-events), or a workflow's
// contact actions act on it.
func (c *Config) needsBrevo() bool {
	for _, s := range c.commerceSkills() {
		if s.enabled() && slices.ContainsFunc(s.targets(), func(t skillTarget) bool { return t.name == "brevo" }) {
			return true
		}
	}
	if cc := c.Skills.CartEvents; cc.enabled() && slices.ContainsFunc(cc.targets(), func(t skillTarget) bool { return t.name == "brevo" }) {
		return true
	}
	for _, w := range c.Workflows {
		if w != nil && w.actsOnBrevo() {
			return true
		}
	}
	return false
}

// contactQueue is customer-sync's queue for destination name.
func contactQueue(name string) string { return synclayer.Queue(skill.CustomerSyncName, name) }
