package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExample_CompleteConfig: examples/synclayer.yaml, the file the README
// points new users at, loads with only its variables set, warns of nothing
// (no secret is written in it) and uses every section it shows.
func TestExample_CompleteConfig(t *testing.T) {
	for _, v := range []string{"DATABASE_URL", "SHOPIFY_WEBHOOK_SECRET", "BREVO_API_KEY", "KLAVIYO_API_KEY", "NOTIFY_WEBHOOK_URL", "SLACK_WEBHOOK_URL"} {
		t.Setenv(v, "x-"+strings.ToLower(v))
	}
	t.Setenv("DATABASE_URL", "postgres://synclayer@db:5432/synclayer")
	t.Setenv("NOTIFY_WEBHOOK_URL", "https://hooks.example.com/synclayer")
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")
	t.Setenv("CUSTOM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("NOTIFY_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	cfg, err := LoadConfig(filepath.Join("..", "..", "examples", "synclayer.yaml"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.warnings) > 0 || len(cfg.defaulted) > 0 {
		t.Errorf("warnings %q, defaulted %q: the example should need neither", cfg.warnings, cfg.defaulted)
	}
	cs := cfg.Skills.CustomerSync
	if cs == nil || !cs.Enabled || len(cs.Destinations) != 2 || cfg.Server.TLS == nil || cfg.Storage.Driver != "postgres" || cfg.Storage.retention != DefaultRetention ||
		cfg.workflows == nil || !cfg.Skills.CartEvents.enabled() {
		t.Errorf("the example does not run what it shows: %+v", cfg)
	}
}
