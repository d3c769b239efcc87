package main

import (
	"fmt"
	"net/url"
	"slices"

	"github.com/goccy/go-yaml"
)

// envField is a config string that takes ${VAR} from the environment.
type envField struct {
	key    string
	value  *string
	secret bool // never stored or shown: its reference, or [REDACTED]
}

// envFields lists every key marked env, in one place, so that expanding
// them (finish) and taking the secrets back out (versionYAML) cannot
// disagree on which keys they are.
func (c *Config) envFields() []envField {
	n := &c.Notifications
	out := []envField{
		{key: "server.listen", value: &c.Server.Listen},
		{key: "server.public_url", value: &c.Server.PublicURL},
		{key: "storage.dsn", value: &c.Storage.DSN},
		{key: "telemetry.otlp_endpoint", value: &c.Telemetry.OTLPEndpoint},
		{key: "notifications.webhook_url", value: &n.WebhookURL},
		{key: "notifications.secret", value: &n.Secret, secret: true},
		{key: "notifications.slack_webhook_url", value: &n.SlackWebhookURL, secret: true},
	}
	for _, name := range sortedNames(c.sources()) {
		s, key := c.sources()[name], "sources."+name
		out = append(out, envField{key: key + ".secret", value: &s.Secret, secret: true}, envField{key: key + ".secret_file", value: &s.SecretFile})
		for i := range s.PreviousSecrets {
			out = append(out, envField{key: fmt.Sprintf("%s.previous_secrets[%d]", key, i), value: &s.PreviousSecrets[i], secret: true})
		}
	}
	return append(out, c.workflowEnvFields()...)
}

// redacted stands for a secret written literally in the file (or taken
// from the environment by the built-in defaults): there is no reference
// to keep, and the value must not be stored.
const redacted = "[REDACTED]"

// versionYAML returns the effective config as the history stores it: the
// whole config after defaults and the chosen environment, with every env
// key as written (${VAR}) and every other secret [REDACTED], and a
// password in a literal storage.dsn removed. Equal configs give equal
// text, since struct fields keep their order and map keys are sorted.
func (c *Config) versionYAML() (string, error) {
	cp := *c
	cp.Environments = nil
	cp.Workflows = cloneWorkflows(c.Workflows)
	cp.Sources = map[string]*SourceConfig{}
	for name, s := range c.sources() {
		sc := *s
		sc.PreviousSecrets = slices.Clone(s.PreviousSecrets)
		if s.Settings != nil {
			t, _ := sourceType(s.typeOf(name))
			sc.Settings = redactSettings(s.Settings, "", func(key string, v any) any {
				if ref, ok := c.refs["sources."+name+"."+key]; ok {
					return ref
				}
				if str, ok := v.(string); ok && str != "" && slices.Contains(t.SecretKeys, key) {
					return redacted
				}
				return v
			})
		}
		cp.Sources[name] = &sc
	}
	c.redactDestinations(&cp)
	for _, f := range cp.envFields() {
		switch ref, ok := c.refs[f.key]; {
		case ok:
			*f.value = ref
		case f.secret && *f.value != "":
			*f.value = redacted
		}
	}
	if _, ok := c.refs["storage.dsn"]; !ok {
		cp.Storage.DSN = withoutPassword(cp.Storage.DSN)
	}
	b, err := yaml.Marshal(&cp)
	if err != nil {
		return "", fmt.Errorf("encode config: %w", err)
	}
	return string(b), nil
}

// withoutPassword redacts the password of a postgres:// URL.
func withoutPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); !ok {
		return dsn
	}
	u.User = url.UserPassword(u.User.Username(), "REDACTED")
	return u.String()
}

// withCustomerSync returns a copy of c running cs, for the version an
// admin change records: the rest of the config is what runs.
func (c *Config) withCustomerSync(cs *CustomerSyncConfig) *Config {
	cp := *c
	cp.Skills.CustomerSync = cs
	return &cp
}

// skillsOf reads the skills block of a stored version. Only skills change
// at runtime; the rest of a version is history, applied by a restart.
func skillsOf(doc string) (SkillsConfig, error) {
	var v struct {
		Skills SkillsConfig `yaml:"skills"`
	}
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		return SkillsConfig{}, fmt.Errorf("decode stored config: %w", err)
	}
	return v.Skills, nil
}
