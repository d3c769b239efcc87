package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"synclayer"
	"synclayer/skill"
	"synclayer/workflow"
)

// Config is synclayer.yaml. Strings marked "env" take ${VAR} from the
// environment; nothing else is expanded.
type Config struct {
	Server        ServerConfig                   `yaml:"server"`
	Storage       StorageConfig                  `yaml:"storage"`
	Sources       map[string]*SourceConfig       `yaml:"sources"`                // sources.go
	Destinations  map[string]*DestinationSection `yaml:"destinations,omitempty"` // destinations.go
	Notifications NotificationsConfig            `yaml:"notifications"`
	Skills        SkillsConfig                   `yaml:"skills"`
	Queue         QueueConfig                    `yaml:"queue"`
	Log           LogConfig                      `yaml:"log"`
	Telemetry     TelemetryConfig                `yaml:"telemetry,omitzero"`
	Workflows     []*WorkflowConfig              `yaml:"workflows,omitempty"` // workflows.go
	Fields        map[string]*FieldConfig        `yaml:"fields,omitempty"`    // fields.go
	// Environments overlay the keys above, one chosen with --env; see
	// config_env.go. Parsing applies the chosen one and drops the rest.
	Environments map[string]*EnvironmentConfig `yaml:"environments,omitempty"`

	// path is the file the config came from; "" for built-in defaults.
	path string
	// env is the environment chosen with --env; "" for none.
	env string
	// refs holds, by key, each env value as written (with its ${VAR}), so
	// the config history stores references and never the secrets.
	refs map[string]string
	// workflows is Workflows compiled by finishWorkflows; nil without rules.
	workflows *workflow.Rules
	// defaulted lists the keys the built-in defaults filled in for a file
	// that left them out (config_compose.go).
	defaulted []string
	// vars holds, by key, the SYNCLAYER_* variable that set it
	// (config_vars.go), so errors name the variable, not a line.
	// warnings are problems that do not stop the config: secrets written
	// in the file as they are. serve logs them; config validate prints them.
	warnings []string
	vars     map[string]string
	varErrs  [][2]string // key and problem of a variable that did not parse
	// shapeErrs are the file's unknown keys and wrong kinds (config_shape.go),
	// reported by finish with everything else.
	shapeErrs *configErrors
}

type ServerConfig struct {
	Listen       string `yaml:"listen"`         // env
	MaxBodyBytes int64  `yaml:"max_body_bytes"` // webhook body cap
	MetricsAuth  bool   `yaml:"metrics_auth"`   // GET /metrics needs a viewer key
	// PublicURL is where the outside world reaches synclayer (env), said
	// wherever synclayer tells another system its address; TrustedProxies
	// may set X-Forwarded-* (proxy.go); TLS serves HTTPS (tls.go). All three
	// are omitted from a stored version when unset, so that upgrading does
	// not record a new one.
	PublicURL      string     `yaml:"public_url,omitempty"`
	TrustedProxies []string   `yaml:"trusted_proxies,omitempty"`
	TLS            *TLSConfig `yaml:"tls,omitempty"`
}

type StorageConfig struct {
	Driver string `yaml:"driver"` // sqlite or postgres
	DSN    string `yaml:"dsn"`    // env
	// Retention is how long events and trace entries are kept (prune.go),
	// a duration such as 90d (the default), or off (also 0) to keep
	// everything. finish reads it into retention.
	Retention string `yaml:"retention,omitempty"`

	retention time.Duration // 0: off
}

// DefaultRetention is storage.retention when the config says nothing;
// MinRetention the shortest it may be: an event's dedupe key goes with
// it, and platforms redeliver for days (Stripe for up to three), so a
// shorter one could take a late duplicate for a new webhook. Below
// MonthRetention the monthly
// health report (sent on the 1st, shown on the dashboard whatever
// notifications.reports says), which counts the failed events and each
// source's events of the month before, counts only those still kept: a
// warning says so.
const (
	DefaultRetention = 90 * day
	MinRetention     = 7 * day
	MonthRetention   = 32 * day
)

// finishStorage reads storage.retention: a duration of at least
// MinRetention, or off (0, and false, which YAML 1.1 reads off as) to keep
// everything.
func (c *Config) finishStorage(e *configErrors) {
	s := strings.TrimSpace(c.Storage.Retention)
	switch {
	case s == "":
		c.Storage.retention = DefaultRetention
	case strings.EqualFold(s, "off") || strings.EqualFold(s, "false") || s == "0":
		c.Storage.retention = 0
	default:
		d, err := parseDurationText(s)
		switch {
		case err != nil:
			e.add("storage.retention", "%q is not a duration; write it like 90d or 720h, or off to keep everything", s)
		case d < MinRetention:
			e.add("storage.retention", "%q is too short: an event's dedupe key is pruned with it and platforms redeliver for days, so keep them at least 7d; write it like 90d, or off to keep everything", s)
		default:
			c.Storage.retention = d
			if d < MonthRetention {
				msg := fmt.Sprintf("storage.retention: %s is shorter than a month: the monthly health report counts only the failed events and source traffic still kept; 32d or more keeps it whole", s)
				if line := e.line("storage.retention"); line > 0 {
					msg = fmt.Sprintf("line %d: %s", line, msg)
				}
				c.warnings = append(c.warnings, msg)
			}
		}
	}
}

// SourceConfig holds a source's signing secret. PreviousSecrets stay valid
// during a rotation (Shopify signs with the old secret for up to an hour).
type SourceConfig struct {
	Type            string        `yaml:"type,omitempty"`   // the platform; default the block's name
	Secret          string        `yaml:"secret"`           // env
	SecretFile      string        `yaml:"secret_file"`      // read at start; env
	PreviousSecrets []string      `yaml:"previous_secrets"` // env
	Tolerance       time.Duration `yaml:"tolerance"`        // for sources that sign a timestamp (custom): default 5m
	// RateLimit caps the source's webhooks per second (twice that at
	// once); 0 is no cap. Above it the platform gets 429 and retries.
	RateLimit float64 `yaml:"rate_limit,omitempty"`
	// Settings are the block's other keys, which the source's own package
	// reads (SourceSettings.Section): sources.go.
	Settings map[string]any `yaml:"-"`

	generate bool // built-in defaults: create SecretFile when missing
}

type SkillsConfig struct {
	CustomerSync   *CustomerSyncConfig  `yaml:"customer-sync,omitempty"`
	OrderEvents    *CommerceSkillConfig `yaml:"order-events,omitempty"`    // commerce.go
	ProductCatalog *CommerceSkillConfig `yaml:"product-catalog,omitempty"` // commerce.go
	CartEvents     *CartEventsConfig    `yaml:"cart-events,omitempty"`     // carts.go
}

// CustomerSyncConfig is skills.customer-sync. The admin API reads and
// writes it as JSON in the same shape, so the json tags repeat the yaml ones.
type CustomerSyncConfig struct {
	Enabled bool       `yaml:"enabled" json:"enabled,omitempty"`
	Owner   string     `yaml:"owner,omitempty" json:"owner,omitempty"` // who answers for the skill, named in Slack alerts
	Source  StringList `yaml:"source" json:"source,omitempty"`
	// Destination is the flat shape's one destination, with FieldMapping
	// and the destination's options in Options; default brevo.
	Destination  string              `yaml:"destination,omitempty" json:"destination,omitempty"`
	FieldMapping map[string]string   `yaml:"field_mapping" json:"field_mapping,omitempty"`
	Options      CustomerSyncOptions `yaml:"options" json:"options"`
	// Destinations is the nested shape: each destination named with its
	// own mapping and options (customer_sync_targets.go).
	Destinations map[string]*CustomerSyncTarget `yaml:"destinations,omitempty" json:"destinations,omitempty"`
	Debug        bool                           `yaml:"debug" json:"debug,omitempty"`
	LogLevel     string                         `yaml:"log_level" json:"log_level,omitempty"`
}

// CustomerSyncOptions are the options every destination shares; the
// flat shape's destination options (list_id, audience_id, ...) are kept
// in Extra, as written, for the destination to read.
type CustomerSyncOptions struct {
	SyncMode       string `yaml:"sync_mode" json:"sync_mode,omitempty"`             // realtime or batch (batch.go)
	DeleteBehavior string `yaml:"delete_behavior" json:"delete_behavior,omitempty"` // soft or hard
	// ConsentSources are the sources whose opt-ins count: default every
	// source of the skill and its destinations (for the consent they
	// report back); manual (the trigger command and API) only when listed.
	ConsentSources StringList `yaml:"consent_sources" json:"consent_sources,omitempty"`
	// ConsentSource is the name consent_sources had when it took one
	// source; read into ConsentSources.
	ConsentSource StringList `yaml:"consent_source" json:"consent_source,omitempty"`
	DefaultRegion string     `yaml:"default_region" json:"default_region,omitempty"` // phone region for numbers without +country
	ClearUnmapped bool       `yaml:"clear_unmapped" json:"clear_unmapped,omitempty"` // empty what a dropped mapping filled; default: left alone
	// CustomerStageOnFirstOrder: a contact's first paid order makes it a
	// lifecycleStage customer, as a change from the order's source
	// (unless the stage's owner in fields: says otherwise); nil is true.
	CustomerStageOnFirstOrder *bool `yaml:"customer_stage_on_first_order" json:"customer_stage_on_first_order,omitempty"`
	// Batch configures sync_mode: batch (batch.go).
	Batch BatchOptions `yaml:"batch,omitempty" json:"batch,omitzero"`

	Extra map[string]any `yaml:"-" json:"-"`
}

type QueueConfig struct {
	Concurrency int `yaml:"concurrency"`
	// MaxConcurrency caps how far each worker raises its concurrency while
	// the destination keeps up; 0: 4 × concurrency (queue.Config).
	MaxConcurrency int           `yaml:"max_concurrency,omitempty"`
	MaxAge         time.Duration `yaml:"max_age"`
	Lease          time.Duration `yaml:"lease"`
	Poll           time.Duration `yaml:"poll"`
}

type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
	// Access logs one line per HTTP request (access.go); default true.
	Access *bool `yaml:"access,omitempty"`
}

// StringList accepts one string or a list of them.
type StringList []string

func (l *StringList) UnmarshalYAML(b []byte) error {
	var one string
	if err := yaml.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := yaml.Unmarshal(b, &many); err != nil {
		return errors.New("must be a source name or a list of them")
	}
	*l = many
	return nil
}

// JSONShape names what UnmarshalJSON accepts, for errors.
func (StringList) JSONShape() string { return "a source name or a list of them" }

// UnmarshalJSON accepts one string or a list of them, as UnmarshalYAML does.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[StringList]()}
	}
	*l = many
	return nil
}

func jsonKind(b []byte) string {
	var v any
	_ = json.Unmarshal(b, &v)
	switch v.(type) {
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return "string"
}

// DefaultConfig is what runs with no config file: SQLite under ./data,
// every source with a generated secret under ./data/secrets (unless its
// *_WEBHOOK_SECRET variable is set), customer-sync on for all of them, and
// Brevo's built-in simulator unless BREVO_API_KEY is set. A config file
// overlays the same defaults (config_compose.go).
func DefaultConfig() *Config {
	c := &Config{}
	c.overlayDefaults()
	return c
}

// LoadConfig reads the config file at path, with environment env
// overlaid (see config_env.go; "" for none). With path "" it reads
// ./synclayer.yaml when that exists, and otherwise returns DefaultConfig.
// Every problem is reported with its key and line.
func LoadConfig(path, env string) (*Config, error) {
	if path == "" {
		path = os.Getenv("SYNCLAYER_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("synclayer.yaml"); err != nil {
			if env != "" {
				return nil, fmt.Errorf("--env %s: there is no config file to hold environments; give one with --config", env)
			}
			cfg := DefaultConfig()
			return cfg, cfg.finish(nil)
		}
		path = "synclayer.yaml"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseConfig(data, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.path = path
	return cfg, nil
}

// ParseConfig parses and validates a config document, with environment
// env overlaid ("" for none).
func ParseConfig(data []byte, env string) (*Config, error) {
	cfg := &Config{}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, errors.New(yaml.FormatError(err, false, true))
	}
	// Problems of shape (unknown keys, wrong kinds) are reported with the
	// rest: the pairs that hold them are taken out of a copy, which is
	// decoded and checked as usual, and every problem comes out at once.
	shape := &configErrors{file: file}
	if bad := checkShape(shape, file); len(bad) > 0 {
		pruneShape(file, bad) // the problems are recorded with their lines
		cfg.shapeErrs = shape
		for _, doc := range file.Docs {
			if doc.Body == nil {
				continue
			}
			if err := yaml.NodeToValue(doc.Body, cfg, yaml.Strict(), durationOption); err != nil {
				return nil, shape.err()
			}
		}
	} else if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.UnmarshalWithOptions(data, cfg, yaml.Strict(), durationOption); err != nil {
			return nil, durationIn(data, err)
		}
	}
	if err := cfg.overlay(file, env); err != nil {
		if cfg.shapeErrs != nil {
			return nil, shape.err()
		}
		return nil, err
	}
	cfg.overlayDefaults()
	return cfg, cfg.finish(file)
}

// configErrors collects problems, each with its key and line.
type configErrors struct {
	file  *ast.File
	env   string // a key set in this environment is looked up there first
	errs  []string
	lines []int             // each problem's line, 0 when it has none; err sorts by it
	keys  []string          // the key of each problem, for errors that name a field
	refs  map[string]string // env values as written, by key (see Config.refs)
	vars  map[string]string // the SYNCLAYER_* variable that set a key (Config.vars)
}

func (e *configErrors) add(key, format string, args ...any) {
	line := 0
	if _, ok := e.vars[key]; !ok {
		line = e.line(key)
	}
	e.addAt(line, key, format, args...)
}

// addAt records a problem at a known line (0 for none).
func (e *configErrors) addAt(line int, key, format string, args ...any) {
	e.keys = append(e.keys, key)
	msg := key + ": " + fmt.Sprintf(format, args...)
	if v, ok := e.vars[key]; ok {
		msg = fmt.Sprintf("%s (set by %s): %s", key, v, fmt.Sprintf(format, args...))
	} else if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	e.errs = append(e.errs, msg)
	e.lines = append(e.lines, line)
}

func (e *configErrors) line(key string) int {
	if e.env != "" {
		if n := e.lineOf("environments." + e.env + "." + key); n > 0 && e.setIn("environments."+e.env, key) {
			return n
		}
	}
	return e.lineOf(key)
}

// setIn reports whether the environment block at prefix sets the first
// part of key itself (such as storage), so its line is the right one.
func (e *configErrors) setIn(prefix, key string) bool {
	top, _, _ := strings.Cut(key, ".")
	top, _, _ = strings.Cut(top, "[")
	p, err := yaml.PathString("$." + quotePath(prefix+"."+top))
	if err != nil {
		return false
	}
	n, err := p.FilterFile(e.file)
	return err == nil && n != nil
}

func (e *configErrors) lineOf(key string) int {
	if e.file == nil {
		return 0
	}
	for k := key; k != ""; {
		p, err := yaml.PathString("$." + quotePath(k))
		if err == nil {
			if n, err := p.FilterFile(e.file); err == nil && n != nil {
				return n.GetToken().Position.Line
			}
		}
		i := strings.LastIndex(k, ".")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func quotePath(key string) string {
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if strings.ContainsAny(p, "-") {
			parts[i] = "'" + p + "'"
		}
	}
	return strings.Join(parts, ".")
}

// err is every problem, in the file's order: by line, and those without
// one (set by a variable, or about the whole file) last.
func (e *configErrors) err() error {
	if len(e.errs) == 0 {
		return nil
	}
	order := make([]int, len(e.errs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		la, lb := e.lines[a], e.lines[b]
		switch {
		case la == lb:
			return 0
		case la == 0:
			return 1
		case lb == 0:
			return -1
		}
		return la - lb
	})
	msgs := make([]string, 0, len(order))
	for _, i := range order {
		if !slices.Contains(msgs, e.errs[i]) {
			msgs = append(msgs, e.errs[i])
		}
	}
	return errors.New("invalid config:\n  " + strings.Join(msgs, "\n  "))
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${VAR} in *s from the environment. An unset variable is an
// error naming the key, since an empty secret would fail every request later.
func (e *configErrors) expand(key string, s *string) {
	if envRef.MatchString(*s) {
		if e.refs == nil {
			e.refs = map[string]string{}
		}
		e.refs[key] = *s
	}
	*s = envRef.ReplaceAllStringFunc(*s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			e.add(key, "environment variable %s is not set", name)
		}
		return v
	})
}

func (c *Config) finish(file *ast.File) error {
	// refs is shared with c from the start, so the ${VAR}s expanded later
	// (destinations, workflows) are kept as written too.
	e := &configErrors{file: file, env: c.env, refs: map[string]string{}}
	e.vars = c.vars
	if c.shapeErrs != nil {
		e.errs, e.lines, e.keys = append(e.errs, c.shapeErrs.errs...), append(e.lines, c.shapeErrs.lines...), append(e.keys, c.shapeErrs.keys...)
	}
	for _, ve := range c.varErrs {
		e.add(ve[0], "%s", ve[1])
	}
	if c.Server.Listen == "" {
		c.Server.Listen = "127.0.0.1:8080"
	}
	if c.Storage.Driver == "" {
		c.Storage.Driver = "sqlite"
	}
	if c.Storage.DSN == "" && c.Storage.Driver == "sqlite" {
		c.Storage.DSN = "data/synclayer.db"
	}
	for _, f := range c.envFields() {
		e.expand(f.key, f.value)
	}
	c.refs = e.refs
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 1 << 20
	}
	if c.Server.MaxBodyBytes < 1024 {
		e.add("server.max_body_bytes", "must be at least 1024")
	}
	c.finishServer(e)
	switch c.Storage.Driver {
	case "sqlite":
	case "postgres":
		if c.Storage.DSN == "" {
			e.add("storage.dsn", "is required for postgres, e.g. postgres://user@host:5432/db")
		}
	default:
		e.add("storage.driver", "must be sqlite or postgres, not %q", c.Storage.Driver)
	}
	for name, s := range c.sources() {
		key := "sources." + name
		if _, ok := sourceType(s.typeOf(name)); !ok {
			e.add(key+".type", "%q is not a source type; synclayer has %s", s.typeOf(name), sourceTypeNames())
		}
		if name == "manual" {
			e.add(key, "manual is the name of the CLI and API trigger; give this source another name")
		}
		if st, ok := sourceType(s.typeOf(name)); s.Secret == "" && s.SecretFile == "" && !(ok && st.SecretOptional) {
			e.add(key+".secret", "is required: set it from the environment, e.g. secret: \"${%s_WEBHOOK_SECRET}\"", strings.ToUpper(name))
		}
		if s.Tolerance < 0 {
			e.add(key+".tolerance", "must not be negative")
		}
		if s.RateLimit < 0 {
			e.add(key+".rate_limit", "must not be negative (0 is no limit)")
		}
		expandSettings(e, key, s.Settings)
		if _, ok := sourceType(s.typeOf(name)); ok {
			// The package checks its own keys; the secrets do not matter
			// here (nil: not read), but that there are none does.
			var secrets []string
			if s.Secret == "" && s.SecretFile == "" && len(s.PreviousSecrets) == 0 {
				secrets = []string{}
			}
			if _, err := c.openSource(name, secrets); err != nil {
				addFieldErrors(e, key, err)
			}
		}
	}
	c.implicitDestinations()
	c.finishDestinations(e)
	c.warnings = c.literalSecrets(e)
	c.finishStorage(e)
	c.finishNotifications(e)
	if cs := c.Skills.CustomerSync; cs != nil {
		c.finishCustomerSync(e, cs)
	}
	c.finishCommerce(e)
	c.finishCarts(e)
	c.finishWorkflows(e)
	c.finishFields(e)
	c.finishTelemetry(e)
	if c.Queue.Concurrency < 0 {
		e.add("queue.concurrency", "must not be negative")
	}
	if c.Queue.MaxConcurrency < 0 {
		e.add("queue.max_concurrency", "must not be negative (0 is 4 × concurrency)")
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		e.add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		e.add("log.format", "must be text or json, not %q", c.Log.Format)
	}
	return e.err()
}

func (c *Config) finishCustomerSync(e *configErrors, cs *CustomerSyncConfig) {
	const key = "skills.customer-sync"
	c.finishTargets(e, cs)
	if !cs.Enabled {
		return
	}
	if len(cs.Source) == 0 {
		e.add(key+".source", "is required: shopify, woocommerce, custom, or a list of them")
	}
	configured := c.sources()
	for i, s := range cs.Source {
		if _, ok := configured[s]; !ok {
			e.add(fmt.Sprintf("%s.source[%d]", key, i), "source %q is not configured under sources", s)
		}
	}
	o := &cs.Options
	switch o.SyncMode {
	case "", "realtime":
		o.SyncMode = "realtime"
	case "batch":
		for _, t := range c.targets(cs) {
			sec := c.Destinations[t.name]
			if sec == nil {
				continue
			}
			d, err := c.openDestination(t.name, checkEnv())
			if err != nil {
				continue
			}
			if sync, err := c.contactSync(d, cs, t); err == nil {
				if f, err := batchFlusher(d, synclayer.BatchConfig{Skill: skill.CustomerSyncName}, sync); err == nil && f == nil {
					e.add(key+".options.sync_mode", "destination %s (%s) has no batch path: use realtime", t.name, sec.typeOf(t.name))
				}
			}
		}
	default:
		e.add(key+".options.sync_mode", "must be realtime or batch, not %q", o.SyncMode)
	}
	finishBatch(e, key+".options", o.SyncMode, &o.Batch)
	switch o.DeleteBehavior {
	case "", "soft":
		o.DeleteBehavior = "soft"
	case "hard":
	default:
		e.add(key+".options.delete_behavior", "must be soft or hard, not %q", o.DeleteBehavior)
	}
	consentKey := key + ".options.consent_sources"
	if len(o.ConsentSource) > 0 {
		if len(o.ConsentSources) > 0 {
			e.add(key+".options.consent_source", "is the old name of consent_sources; set only consent_sources")
		} else {
			o.ConsentSources, o.ConsentSource, consentKey = o.ConsentSource, nil, key+".options.consent_source"
		}
	}
	for i, s := range o.ConsentSources {
		if !slices.Contains(cs.Source, s) && s != synclayer.ManualSource && !slices.ContainsFunc(c.targets(cs), func(t contactTarget) bool { return t.name == s }) {
			e.add(fmt.Sprintf("%s[%d]", consentKey, i), "%q is not one of the skill's sources or destinations (or manual, for the trigger command and API)", s)
		}
	}
	switch cs.LogLevel {
	case "", "info", "verbose":
	default:
		e.add(key+".log_level", "must be info or verbose, not %q", cs.LogLevel)
	}
}

// sources returns the configured sources by name.
func (c *Config) sources() map[string]*SourceConfig {
	out := map[string]*SourceConfig{}
	for name, s := range c.Sources {
		if s != nil {
			out[name] = s
		}
	}
	return out
}
