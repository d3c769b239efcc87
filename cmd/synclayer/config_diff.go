package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/goccy/go-yaml"
)

// diffConfig compares two stored configs key by key and returns one line
// per difference, sorted by key: "~ key: old → new", "+ key: new" for a
// key only b has, "- key: old" for one only a has. Values are JSON, so
// "5" and 5 differ visibly. Keys read like the config reference:
// skills.customer-sync.options.list_id, sources.custom.previous_secrets[0].
func diffConfig(a, b string) ([]string, error) {
	fa, err := flattenYAML(a)
	if err != nil {
		return nil, err
	}
	fb, err := flattenYAML(b)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		va, ina := fa[k]
		vb, inb := fb[k]
		switch {
		case ina && !inb:
			out = append(out, fmt.Sprintf("- %s: %s", k, va))
		case !ina && inb:
			out = append(out, fmt.Sprintf("+ %s: %s", k, vb))
		case va != vb:
			out = append(out, fmt.Sprintf("~ %s: %s → %s", k, va, vb))
		}
	}
	return out, nil
}

// flattenYAML maps each leaf of a YAML document to its JSON value by key.
func flattenYAML(doc string) (map[string]string, error) {
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		return nil, fmt.Errorf("decode stored config: %w", err)
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 0 && prefix != "" {
				out[prefix] = "{}"
			}
			for k, x := range t {
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(k, x)
			}
		case []any:
			if len(t) == 0 {
				out[prefix] = "[]"
			}
			for i, x := range t {
				walk(fmt.Sprintf("%s[%d]", prefix, i), x)
			}
		default:
			b, _ := json.Marshal(t)
			out[prefix] = string(b)
		}
	}
	walk("", v)
	return out, nil
}
