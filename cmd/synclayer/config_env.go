package main

import (
	"fmt"
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
	Sources       *SourcesConfig                 `yaml:"sources"`
	Destinations  map[string]*DestinationSection `yaml:"destinations"`
	Notifications *NotificationsConfig           `yaml:"notifications"`
	Skills        *SkillsConfig                  `yaml:"skills"`
	Queue         *QueueConfig                   `yaml:"queue"`
	Log           *LogConfig                     `yaml:"log"`
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
	if err := yaml.NodeToValue(node, c, yaml.Strict(), durationOption); err != nil {
		return durationIn([]byte(file.String()), err)
	}
	return nil
}
