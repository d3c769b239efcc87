package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A config file overlays the built-in defaults instead of replacing them.
// Writing a file with only destinations.brevo.api_key used to give a
// server with no sources and no skills, answering every webhook 404; the
// customer-sync spec's own example (no sources: block) failed to load.
// Now what the file leaves out is what the quick start runs:
//
//   - no skills: block: customer-sync runs, over the file's sources, or
//     the three built-in ones when it has none;
//   - a source an enabled skill names but sources: does not configure gets
//     a secret generated under the data directory, and a warning saying
//     where it is and how to set the platform's real one;
//   - storage.driver follows a postgres:// storage.dsn;
//   - SYNCLAYER_* variables override the file (env.go), so a container
//     runs from the environment alone.

// defaultSources are the sources the quick start serves.
var defaultSources = []string{"shopify", "woocommerce", "custom"}

// overlayDefaults fills in, for a parsed file, what the file leaves out.
func (c *Config) overlayDefaults() {
	c.fromVariables()
	if c.Skills == (SkillsConfig{}) {
		names := sortedNames(c.sources())
		if len(names) == 0 {
			names = defaultSources
		}
		cs := &CustomerSyncConfig{Enabled: true, Source: StringList(names)}
		if c.brevoSimulated() {
			// The built-in simulator's list, as in the quick start. A real
			// account's lists are its own: without list_id, contacts join
			// none until options.list_id names one.
			cs.Options.Extra = map[string]any{"list_id": 5}
		}
		c.Skills.CustomerSync = cs
		c.defaulted = append(c.defaulted, "skills.customer-sync")
	}
	if c.Storage.Driver == "" && isPostgresDSN(c.Storage.DSN) {
		c.Storage.Driver = "postgres"
	}
	c.implicitSources()
}

// brevoSimulated reports whether the destination named brevo would run
// on the built-in simulator: no block, or one without an API key, and no
// BREVO_API_KEY to take one from.
func (c *Config) brevoSimulated() bool {
	if sec := c.Destinations["brevo"]; sec != nil {
		if k, _ := sec.Settings["api_key"].(string); k != "" {
			return false
		}
	}
	return os.Getenv("BREVO_API_KEY") == ""
}

// implicitSources configures, with a generated secret, each source an
// enabled skill names that sources: lacks, when its name is a platform
// synclayer knows. Any other name is left for finish to report.
func (c *Config) implicitSources() {
	var named []string
	if cs := c.Skills.CustomerSync; cs != nil && cs.Enabled {
		named = append(named, cs.Source...)
	}
	for _, s := range c.commerceSkills() {
		if s.enabled() {
			named = append(named, s.cfg.Source...)
		}
	}
	if cc := c.Skills.CartEvents; cc.enabled() {
		named = append(named, cc.Source...)
	}
	for _, name := range named {
		if _, ok := c.sources()[name]; ok || name == "manual" {
			continue
		}
		if _, ok := sourceType(name); !ok {
			continue
		}
		if c.Sources == nil {
			c.Sources = map[string]*SourceConfig{}
		}
		c.Sources[name] = generatedSource(c.dataDir(), name)
		c.defaulted = append(c.defaulted, "sources."+name)
	}
}

// generatedSource is a source whose secret is generated into dir/secrets
// at first start, unless its <NAME>_WEBHOOK_SECRET variable is set.
func generatedSource(dir, name string) *SourceConfig {
	return &SourceConfig{
		Secret:     os.Getenv(secretVar(name)),
		SecretFile: dir + "/secrets/" + name + "_webhook_secret",
		generate:   true,
	}
}

// secretVar is the variable a source's secret is read from by default.
func secretVar(name string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name)) + "_WEBHOOK_SECRET"
}

// dataDir is the directory generated files go in: the SQLite file's, or
// ./data on PostgreSQL.
func (c *Config) dataDir() string {
	if (c.Storage.Driver == "" || c.Storage.Driver == "sqlite") && c.Storage.DSN != "" {
		return filepath.Dir(c.Storage.DSN)
	}
	return "data"
}

// generatedSecretWarnings are the log lines for sources that run on a
// generated secret: fine for the simulator and curl, never what the real
// platform signs with.
func (c *Config) generatedSecretWarnings() []string {
	var out []string
	for _, name := range sortedNames(c.sources()) {
		s := c.sources()[name]
		if !s.generate || s.Secret != "" {
			continue
		}
		real := "the platform's own signing secret"
		switch s.typeOf(name) {
		case "shopify":
			real = "your Shopify app's client secret (Shopify signs every webhook with it)"
		case "woocommerce":
			real = "the secret you typed in the WooCommerce webhook's settings"
		case "custom":
			real = "a secret you share with the sender"
		}
		out = append(out, fmt.Sprintf("source %s verifies webhooks with a secret synclayer generated in %s; for a live shop set %s: export %s=… or sources.%s.secret: \"${%s}\"",
			name, s.SecretFile, real, secretVar(name), name, secretVar(name)))
	}
	return out
}

// defaultedKeys says which keys the defaults filled in, for the log.
func (c *Config) defaultedKeys() string {
	return strings.Join(slices.Compact(slices.Sorted(slices.Values(c.defaulted))), ", ")
}

// literalSecrets lists the secrets written into the file as they are,
// rather than as ${VAR} references or a secret_file: a config file gets
// committed, copied and pasted into tickets, and the secret with it.
func (c *Config) literalSecrets(e *configErrors) []string {
	var out []string
	warn := func(key, hint string) {
		if _, ref := c.refs[key]; ref {
			return
		}
		if line := e.lineOf(key); line > 0 {
			out = append(out, fmt.Sprintf("line %d: %s is written in the config file as it is; anyone who reads the file has it. Set it from the environment instead: %s", line, key, hint))
		}
	}
	for _, f := range c.envFields() {
		if f.secret && *f.value != "" {
			warn(f.key, fmt.Sprintf("%s: \"${%s}\"", lastKey(f.key), varFor(f.key)))
		}
	}
	for _, name := range sortedNames(c.sources()) {
		sc := c.Sources[name]
		t, _ := sourceType(sc.typeOf(name))
		for _, k := range t.SecretKeys {
			if s := settingAt(sc.Settings, k); s != "" {
				key := "sources." + name + "." + k
				warn(key, fmt.Sprintf("%s: \"${%s}\"", k, varFor(key)))
			}
		}
	}
	for _, name := range sortedNames(c.Destinations) {
		sec := c.Destinations[name]
		t, _ := destinationType(sec.typeOf(name))
		for _, k := range t.SecretKeys {
			if s := settingAt(sec.Settings, k); s != "" {
				key := "destinations." + name + "." + k
				warn(key, fmt.Sprintf("%s: \"${%s}\"", k, varFor(key)))
			}
		}
	}
	if withoutPassword(c.Storage.DSN) != c.Storage.DSN {
		warn("storage.dsn", "dsn: \"${DATABASE_URL}\", or a password in ~/.pgpass or PGPASSWORD")
	}
	return out
}

func lastKey(key string) string {
	if i := strings.LastIndex(key, "."); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.Index(key, "["); i >= 0 {
		key = key[:i]
	}
	return key
}

// varFor suggests a variable name for a key: sources.shopify.secret →
// SHOPIFY_WEBHOOK_SECRET, destinations.brevo.api_key → BREVO_API_KEY.
func varFor(key string) string {
	parts := strings.Split(key, ".")
	up := func(s string) string {
		return strings.ToUpper(strings.NewReplacer("-", "_", "[", "_", "]", "").Replace(s))
	}
	switch {
	case len(parts) == 3 && parts[0] == "sources" && parts[2] == "secret":
		return secretVar(parts[1])
	case len(parts) == 3 && parts[0] == "destinations":
		return up(parts[1] + "_" + parts[2])
	}
	return up(strings.Join(parts, "_"))
}
