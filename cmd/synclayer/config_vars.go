package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// configVars are the SYNCLAYER_* environment variables and the keys they
// set. They override the file (and the built-in defaults), so a container
// runs from its environment alone, without a mounted config file; secrets
// come from the variables the defaults already read (BREVO_API_KEY,
// SHOPIFY_WEBHOOK_SECRET, ...). SYNCLAYER_CONFIG names the file itself;
// SYNCLAYER_ENCRYPTION_KEY(_FILE, _PREVIOUS), the key of the tokens kept
// in the store, is no config key and is read where the store is opened
// (tokens.go).
var configVars = []struct {
	name, key string
	set       func(c *Config, v string) bool // false: not a valid value
}{
	{"SYNCLAYER_LISTEN", "server.listen", func(c *Config, v string) bool { c.Server.Listen = v; return true }},
	{"SYNCLAYER_PUBLIC_URL", "server.public_url", func(c *Config, v string) bool { c.Server.PublicURL = v; return true }},
	{"SYNCLAYER_STORAGE_DRIVER", "storage.driver", func(c *Config, v string) bool { c.Storage.Driver = v; return true }},
	{"SYNCLAYER_STORAGE_DSN", "storage.dsn", func(c *Config, v string) bool { c.Storage.DSN = v; return true }},
	{"SYNCLAYER_LOG_LEVEL", "log.level", func(c *Config, v string) bool { c.Log.Level = v; return true }},
	{"SYNCLAYER_LOG_FORMAT", "log.format", func(c *Config, v string) bool { c.Log.Format = v; return true }},
	{"SYNCLAYER_QUEUE_CONCURRENCY", "queue.concurrency", func(c *Config, v string) bool {
		n, err := strconv.Atoi(v)
		c.Queue.Concurrency = n
		return err == nil
	}},
}

// fromVariables applies the SYNCLAYER_* variables that are set, and
// records, by key, the variable that set it, so errors name the variable.
func (c *Config) fromVariables() {
	for _, v := range configVars {
		val, ok := os.LookupEnv(v.name)
		if !ok || val == "" {
			continue
		}
		if c.vars == nil {
			c.vars = map[string]string{}
		}
		c.vars[v.key] = v.name
		if v.key == "storage.dsn" && os.Getenv("SYNCLAYER_STORAGE_DRIVER") == "" {
			c.Storage.Driver = "" // follow the DSN, not a driver the file gave for another one
		}
		if !v.set(c, val) {
			c.varErrs = append(c.varErrs, [2]string{v.key, fmt.Sprintf("%q is not a number", val)})
		}
	}
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
