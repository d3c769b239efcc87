package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/hubspot"
	"synclayer/destination/klaviyo"
	"synclayer/destination/mailchimp"
	"synclayer/destination/pipedrive"
)

// destinationTypes is the registry of the platforms synclayer writes to.
// Adding a destination is its package and one line here.
var destinationTypes = []synclayer.DestinationType{
	brevo.Type,
	klaviyo.Type,
	mailchimp.Type,
	hubspot.Type,
	pipedrive.Type,
}

func destinationType(name string) (synclayer.DestinationType, bool) {
	for _, t := range destinationTypes {
		if t.Type == name {
			return t, true
		}
	}
	return synclayer.DestinationType{}, false
}

func destinationTypeNames() string {
	names := make([]string, len(destinationTypes))
	for i, t := range destinationTypes {
		names[i] = t.Type
	}
	return strings.Join(names, ", ")
}

// DestinationSection is one block under destinations: its type (by
// default the block's name, so `brevo:` is a Brevo account) and the
// settings the destination's package reads. Two accounts of one platform
// are two blocks of one type: `brevo-eu: {type: brevo, ...}`.
type DestinationSection struct {
	Type     string
	Settings map[string]any
}

// UnmarshalYAML takes the block as a mapping, type: apart.
func (d *DestinationSection) UnmarshalYAML(b []byte) error {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return errors.New("must be a mapping of settings, such as { api_key: \"${BREVO_API_KEY}\" }")
	}
	if t, ok := m["type"]; ok {
		s, ok := t.(string)
		if !ok {
			return errors.New("type must be a destination type: " + destinationTypeNames())
		}
		d.Type = s
		delete(m, "type")
	}
	d.Settings = m
	return nil
}

// MarshalYAML writes the block back as it was read.
func (d DestinationSection) MarshalYAML() (any, error) {
	out := map[string]any{}
	for k, v := range d.Settings {
		out[k] = v
	}
	if d.Type != "" {
		out["type"] = d.Type
	}
	return out, nil
}

// typeOf is the block's platform: type:, or else its name.
func (d *DestinationSection) typeOf(name string) string {
	if d.Type != "" {
		return d.Type
	}
	return name
}

// finishDestinations expands each block's ${VAR} references and checks
// that its type is known and that its package accepts its settings, each
// problem at its key and line.
func (c *Config) finishDestinations(e *configErrors) {
	for _, name := range sortedNames(c.Destinations) {
		sec, key := c.Destinations[name], "destinations."+name
		if sec == nil {
			sec = &DestinationSection{}
			c.Destinations[name] = sec
		}
		expandSettings(e, key, sec.Settings)
		if _, ok := destinationType(sec.typeOf(name)); !ok {
			e.add(key+".type", "%q is not a destination type; synclayer has %s", sec.typeOf(name), destinationTypeNames())
			continue
		}
		if _, err := c.openDestination(name, checkEnv()); err != nil {
			addFieldErrors(e, key, err)
		}
	}
}

// expandSettings expands the ${VAR} references of a block's strings,
// nested blocks (webhook: {token: ...}) too.
func expandSettings(e *configErrors, key string, settings map[string]any) {
	for _, k := range sortedNames(settings) {
		switch v := settings[k].(type) {
		case string:
			e.expand(key+"."+k, &v)
			settings[k] = v
		case map[string]any:
			expandSettings(e, key+"."+k, v)
		}
	}
}

// checkEnv opens destinations to validate their settings only: a block
// without credentials gets a simulator that is never served.
func checkEnv() synclayer.DestinationEnv {
	return synclayer.DestinationEnv{Logger: slog.New(slog.DiscardHandler), Mount: func(http.Handler) string { return "http://127.0.0.1:0/simulator" }}
}

// openDestination builds the named destination from its block.
func (c *Config) openDestination(name string, env synclayer.DestinationEnv) (synclayer.Destination, error) {
	sec, ok := c.Destinations[name]
	if !ok {
		return nil, fmt.Errorf("destination %q is not configured under destinations", name)
	}
	t, ok := destinationType(sec.typeOf(name))
	if !ok {
		return nil, fmt.Errorf("destinations.%s: %q is not a destination type; synclayer has %s", name, sec.typeOf(name), destinationTypeNames())
	}
	raw, err := json.Marshal(sec.Settings)
	if err != nil {
		return nil, fmt.Errorf("destinations.%s: %w", name, err)
	}
	return t.Open(name, raw, env)
}

// destinationSecrets are the values of every destination's secret keys,
// for the log's redaction.
func (c *Config) destinationSecrets() []string {
	var out []string
	for name, sec := range c.Destinations {
		t, _ := destinationType(sec.typeOf(name))
		for _, k := range t.SecretKeys {
			if s := settingAt(sec.Settings, k); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// redactDestinations puts back each ${VAR} reference as written and
// redacts every other secret, for the config history.
func (c *Config) redactDestinations(cp *Config) {
	cp.Destinations = map[string]*DestinationSection{}
	for name, sec := range c.Destinations {
		t, _ := destinationType(sec.typeOf(name))
		out := &DestinationSection{Type: sec.Type, Settings: map[string]any{}}
		out.Settings = redactSettings(sec.Settings, "", func(key string, v any) any {
			if ref, ok := c.refs["destinations."+name+"."+key]; ok {
				return ref
			}
			if s, ok := v.(string); ok && s != "" && slices.Contains(t.SecretKeys, key) {
				return redacted
			}
			return v
		})
		cp.Destinations[name] = out
	}
}

// addFieldErrors adds err's problems under prefix: each *synclayer.Error
// with a Field at its own key, anything else at prefix.
func addFieldErrors(e *configErrors, prefix string, err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, err := range errs {
		var fe *synclayer.Error
		if errors.As(err, &fe) && fe.Field != "" {
			e.add(prefix+"."+fe.Field, "%s", fe.Message)
		} else if errors.As(err, &fe) {
			e.add(prefix, "%s", fe.Message)
		} else {
			e.add(prefix, "%s", err.Error())
		}
	}
}

// settingAt is the string at a dotted key of a destination's settings
// ("webhook.token"), or "".
func settingAt(settings map[string]any, key string) string {
	var v any = settings
	for part := range strings.SplitSeq(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	s, _ := v.(string)
	return s
}

// redactSettings copies settings, nested blocks too, with each value
// replaced by what keep says for its dotted key.
func redactSettings(settings map[string]any, prefix string, keep func(key string, v any) any) map[string]any {
	out := make(map[string]any, len(settings))
	for k, v := range settings {
		if m, ok := v.(map[string]any); ok {
			out[k] = redactSettings(m, prefix+k+".", keep)
			continue
		}
		out[k] = keep(prefix+k, v)
	}
	return out
}
