package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"synclayer"
)

// FieldConfig is one block under fields: which systems own the field.
// A change from any other system is not applied; it is kept in the
// contact's trace as a conflict and counted in the health report.
type FieldConfig struct {
	// Owner is the system, or the systems, that may change the field: a
	// source (shopify), a destination that reports changes back (brevo),
	// manual (the trigger CLI and API) or workflows (set_attribute).
	// Several owners each may change it; the newer change wins.
	Owner StringList `yaml:"owner"`
}

// fieldSystems are the names an owner may be besides sources and
// destinations: the trigger CLI and API, and workflow rules.
var fieldSystems = []string{synclayer.ManualSource, "workflows"}

// finishFields checks fields: each key a canonical field (aliases
// rewritten), each owner a configured system, and no aggregate that
// order-events computes given to another owner.
func (c *Config) finishFields(e *configErrors) {
	if len(c.Fields) == 0 {
		return
	}
	for _, name := range sortedNames(c.Fields) {
		key := "fields." + name
		fc := c.Fields[name]
		field := name
		if to, ok := mappingAliases[name]; ok && !slices.Contains(canonicalFields, name) {
			if _, dup := c.Fields[to]; dup {
				e.add(key, "is %s written again: keep one of the two", to)
				continue
			}
			field = to
		}
		if !slices.Contains(canonicalFields, field) {
			if f := synclayer.MisspeltField(name); f != "" {
				e.add(key, "is not a field synclayer knows; did you mean %s?", f)
			} else {
				e.add(key, "is not a field synclayer knows; the fields are %s", strings.Join(canonicalFields, ", "))
			}
			continue
		}
		if fc == nil || len(fc.Owner) == 0 {
			e.add(key+".owner", "is required: the system that owns %s, such as owner: shopify, or a list of them", field)
			continue
		}
		if slices.Contains(synclayer.AggregateFields, field) && c.Skills.OrderEvents != nil && c.Skills.OrderEvents.Enabled {
			e.add(key, "is computed by order-events from the orders it stores, so it has no other owner; leave it out of fields:")
			continue
		}
		for i, o := range fc.Owner {
			_, src := c.sources()[o]
			_, dest := c.Destinations[o]
			if !src && !dest && !slices.Contains(fieldSystems, o) {
				e.add(fmt.Sprintf("%s.owner[%d]", key, i), "%q is not a configured source or destination (nor %s)", o, strings.Join(fieldSystems, " or "))
			}
		}
		if field != name {
			delete(c.Fields, name)
			c.Fields[field] = fc
		}
	}
}

// fieldOwners are the owners fields: gives, by canonical field, for
// ingest.
func (c *Config) fieldOwners() map[string][]string {
	if len(c.Fields) == 0 {
		return nil
	}
	out := make(map[string][]string, len(c.Fields))
	for _, name := range slices.Sorted(maps.Keys(c.Fields)) {
		if fc := c.Fields[name]; fc != nil && len(fc.Owner) > 0 {
			out[name] = slices.Clone([]string(fc.Owner))
		}
	}
	return out
}

// customerStageOnFirstOrder is customer-sync's
// options.customer_stage_on_first_order: on unless set to false.
func (c *Config) customerStageOnFirstOrder() bool {
	cs := c.Skills.CustomerSync
	return cs == nil || cs.Options.CustomerStageOnFirstOrder == nil || *cs.Options.CustomerStageOnFirstOrder
}
