package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// EnvironmentConfig is one block under environments: the keys an
// environment may set over the top level. A block it sets merges key by
// key into the top-level one; lists and mappings of names (source,
// previous_secrets, events, field_mapping) are replaced whole. Everything
// else, and environments itself, comes from the top level only, so one
// file says what differs between test and production and nothing more.
type EnvironmentConfig struct {
	Server        *ServerConfig                  `yaml:"server"`
	Storage       *StorageConfig                 `yaml:"storage"`
	Sources       map[string]*SourceConfig       `yaml:"sources"`
	Destinations  map[string]*DestinationSection `yaml:"destinations"`
	Notifications *NotificationsConfig           `yaml:"notifications"`
	Skills        *SkillsConfig                  `yaml:"skills"`
	Queue         *QueueConfig                   `yaml:"queue"`
	Log           *LogConfig                     `yaml:"log"`
	Telemetry     *TelemetryConfig               `yaml:"telemetry"`
}

// overlay applies environment env over the top level, decoding its block
// from the file's syntax tree onto the config already decoded, so that a
// problem in it is reported at its own line. Every environment was already
// decoded strictly, so a misspelt key in one not chosen is still an error;
// only the chosen one has its ${VAR} references expanded.
func (c *Config) overlay(file *ast.File, env string) error {
	defined := sortedNames(c.Environments)
	c.Environments = nil
	if env == "" {
		return nil
	}
	if !slices.Contains(defined, env) {
		if len(defined) == 0 {
			return fmt.Errorf("--env %s: the config has no environments block", env)
		}
		return fmt.Errorf("--env %s: the config defines no environments.%s; it defines %s", env, env, strings.Join(defined, ", "))
	}
	p, err := yaml.PathString("$.environments." + quotePath(env))
	if err != nil {
		return fmt.Errorf("--env %s: %w", env, err)
	}
	node, err := p.FilterFile(file)
	if err != nil {
		return fmt.Errorf("--env %s: %w", env, err)
	}
	c.env = env
	if node == nil || node.Type() == ast.NullType {
		return nil
	}
	sources, destinations := c.Sources, c.Destinations
	if err := yaml.NodeToValue(node, c, yaml.Strict(), durationOption); err != nil {
		return durationIn([]byte(file.String()), err)
	}
	return c.mergeBlocks(file, env, sources, destinations)
}

// mergeBlocks merges the environment's blocks of named sources and
// destinations key by key into the top level's, as for every other
// block: decoding a map replaces its entries whole.
func (c *Config) mergeBlocks(file *ast.File, env string, sources map[string]*SourceConfig, destinations map[string]*DestinationSection) error {
	for name, base := range sources {
		if c.Sources[name] == base || c.Sources[name] == nil || base == nil {
			continue
		}
		p, err := yaml.PathString("$.environments." + quotePath(env) + ".sources." + quotePath(name))
		if err != nil {
			return err
		}
		node, err := p.FilterFile(file)
		if err != nil || node == nil {
			continue
		}
		merged := *base
		merged.PreviousSecrets = nil
		if err := yaml.NodeToValue(node, &merged, yaml.Strict(), durationOption); err != nil {
			return durationIn([]byte(file.String()), err)
		}
		if merged.PreviousSecrets == nil {
			merged.PreviousSecrets = base.PreviousSecrets
		}
		c.Sources[name] = &merged
	}
	for name, base := range destinations {
		over := c.Destinations[name]
		if over == base || over == nil || base == nil {
			continue
		}
		merged := &DestinationSection{Type: cmp.Or(over.Type, base.Type), Settings: maps.Clone(base.Settings)}
		if merged.Settings == nil {
			merged.Settings = map[string]any{}
		}
		maps.Copy(merged.Settings, over.Settings)
		c.Destinations[name] = merged
	}
	return nil
}
