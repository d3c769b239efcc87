package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/goccy/go-yaml"

	"synclayer"
)

// A skill's options block holds the options the skill reads itself, in a
// typed struct, and the destination's own options (list_id, audience_id,
// store_id, ...), kept as written for the destination to read and check.
// These helpers split and join the two, in YAML and in JSON.

func splitOptions(all map[string]any, shared []string) (common, extra map[string]any) {
	common = map[string]any{}
	for k, v := range all {
		if slices.Contains(shared, k) {
			common[k] = v
			continue
		}
		if extra == nil {
			extra = map[string]any{}
		}
		extra[k] = v
	}
	return common, extra
}

// decodeOptionsYAML decodes the shared keys of b into shape, strictly, and
// returns the rest.
func decodeOptionsYAML(b []byte, shared []string, shape any) (map[string]any, error) {
	var all map[string]any
	if err := yaml.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("must be a mapping of options")
	}
	common, extra := splitOptions(all, shared)
	cb, _ := yaml.Marshal(common)
	if err := yaml.UnmarshalWithOptions(cb, shape, yaml.Strict(), durationOption); err != nil {
		return nil, err
	}
	return extra, nil
}

// encodeOptionsYAML writes shape's keys and extra as one block.
func encodeOptionsYAML(shape any, extra map[string]any) (any, error) {
	b, err := yaml.Marshal(shape)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, extra)
	return out, nil
}

// decodeOptionsJSON is decodeOptionsYAML for the admin API.
func decodeOptionsJSON(b []byte, shared []string, shape any) (map[string]any, error) {
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, synclayer.FieldErrorf("options", "must be an object of options")
	}
	common, extra := splitOptions(all, shared)
	cb, _ := json.Marshal(common)
	if err := json.Unmarshal(cb, shape); err != nil {
		return nil, synclayer.FieldErrorf("options", "%s", err.Error())
	}
	return extra, nil
}

// encodeOptionsJSON is encodeOptionsYAML for the admin API.
func encodeOptionsJSON(shape any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(shape)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, extra)
	return json.Marshal(out)
}

// SkillTarget is one destination of a commerce skill in the nested shape:
// the destination's own options (a Mailchimp store_id, ...).
type SkillTarget struct {
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

// skillTarget is one destination a commerce skill runs on.
type skillTarget struct {
	name    string         // the destination's name under destinations
	key     string         // the config key its options are under
	options map[string]any // the destination's own options
}

// skillTargets resolves a commerce skill's destinations from either
// shape: destination (one, default brevo) with the skill's own extra
// options, or destinations (several) each with its options over them.
func skillTargets(key, destination string, destinations map[string]*SkillTarget, extra map[string]any) []skillTarget {
	if len(destinations) == 0 {
		return []skillTarget{{name: orDefault(destination, "brevo"), key: key, options: extra}}
	}
	var out []skillTarget
	for _, name := range sortedNames(destinations) {
		opts := maps.Clone(extra)
		if opts == nil {
			opts = map[string]any{}
		}
		if t := destinations[name]; t != nil {
			maps.Copy(opts, t.Options)
		}
		out = append(out, skillTarget{name: name, key: key + ".destinations." + name, options: opts})
	}
	return out
}

// checkTargets checks that each target is a configured destination, that
// it offers the skill (open returns an error when it does not), and that
// it accepts its options; each problem at its key. shared are the
// skill's own option keys, which belong on the whole skill.
func (c *Config) checkTargets(e *configErrors, skillKey, destination string, nested bool, targets []skillTarget, shared []string,
	open func(d synclayer.Destination, options json.RawMessage) error) {
	if destination != "" && nested {
		e.add(skillKey+".destination", "give either destination (one) or destinations (several), not both")
		return
	}
	for _, t := range targets {
		for _, k := range sortedNames(t.options) {
			if slices.Contains(shared, k) && nested {
				e.add(t.key+".options."+k, "is an option of the whole skill: set it under %s.options", skillKey)
			}
		}
		if _, ok := c.Destinations[t.name]; !ok {
			where := t.key
			if !nested {
				where += ".destination"
			}
			e.add(where, "destination %q is not configured under destinations", t.name)
			continue
		}
		d, err := c.openDestination(t.name, checkEnv())
		if err != nil {
			continue // reported at destinations.<name>
		}
		if err := open(d, optionsJSON(t.options)); err != nil {
			addFieldErrors(e, t.key, err)
		}
	}
}

func optionsJSON(opts map[string]any) json.RawMessage {
	if len(opts) == 0 {
		return nil
	}
	b, _ := json.Marshal(opts)
	return b
}
