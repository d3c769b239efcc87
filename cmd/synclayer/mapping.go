package main

import (
	"slices"
	"strings"

	"synclayer"
)

// canonicalFields are the keys a customer-sync field_mapping is written in.
var canonicalFields = synclayer.CanonicalFields

// mappingAliases are other spellings of canonical fields that configs are
// written with: the spec's own examples use snake_case (first_name,
// total_orders), and store exports their platform's names. They used to be
// taken for custom attributes no source sends, so they validated and then
// sent nothing.
var mappingAliases = map[string]string{
	"orders_count": synclayer.FieldTotalOrders,
	"phone_number": synclayer.FieldPhone,
}

func init() {
	for _, f := range canonicalFields {
		mappingAliases[snakeCase(f)] = f
	}
}

func snakeCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// canonicalMapping rewrites mapping's aliases to their canonical names in
// place, and reports each key no source of the skill can fill: a near miss
// of a canonical field, or, when no source of the skill is the custom one
// (the only source that carries custom attributes), any other name.
func canonicalMapping(e *configErrors, key string, mapping map[string]string, customAttributes bool) {
	for _, k := range sortedNames(mapping) {
		if slices.Contains(canonicalFields, k) {
			continue
		}
		if to, ok := mappingAliases[k]; ok {
			if _, dup := mapping[to]; dup {
				e.add(key+"."+k, "is %s written again: keep one of the two", to)
				continue
			}
			mapping[to] = mapping[k]
			delete(mapping, k)
			continue
		}
		if f := synclayer.MisspeltField(k); f != "" {
			e.add(key+"."+k, "is not a field synclayer knows; did you mean %s?", f)
			continue
		}
		if !customAttributes {
			e.add(key+"."+k, "no source of this skill sends %q: the keys are canonical fields (%s), or custom attributes, which only the custom source carries",
				k, strings.Join(canonicalFields, ", "))
		}
	}
}

// carriesAttributes reports whether any of the sources is of the custom
// type, whose events carry custom attributes by name.
func (c *Config) carriesAttributes(sources []string) bool {
	for _, name := range sources {
		if s, ok := c.sources()[name]; ok && s.typeOf(name) == "custom" {
			return true
		}
	}
	return false
}
