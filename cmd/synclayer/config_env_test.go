package main

import (
	"strings"
	"testing"
)

const envConfig = `
storage:
  driver: sqlite
  dsn: data/dev.db
sources:
  custom:
    secret: "${CUSTOM_WEBHOOK_SECRET}"
    tolerance: 2m
destinations:
  brevo:
    api_key: "${BREVO_API_KEY}"
skills:
  customer-sync:
    enabled: true
    source: custom
    owner: ops@example.com
    options: {list_id: 5}
environments:
  test:
    storage: {dsn: data/test.db}
    destinations:
      brevo: {api_key: "${BREVO_TEST_API_KEY}", base_url: "http://127.0.0.1:9999/v3"}
  production:
    storage:
      driver: postgres
      dsn: "${DATABASE_URL}"
    sources:
      custom: {secret: "${CUSTOM_PROD_SECRET}"}
    skills:
      customer-sync:
        options: {list_id: 9}
`

func TestParseConfig_Environments(t *testing.T) {
	t.Setenv("CUSTOM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("BREVO_API_KEY", "xkeysib-dev")
	t.Setenv("BREVO_TEST_API_KEY", "xkeysib-test")
	t.Run("None", func(t *testing.T) {
		cfg, err := ParseConfig([]byte(envConfig), "")
		if err != nil || cfg.Storage.DSN != "data/dev.db" || setting(cfg, "brevo", "api_key") != "xkeysib-dev" {
			t.Fatalf("top level: %+v, %v", cfg, err)
		}
	})
	t.Run("Test", func(t *testing.T) {
		cfg, err := ParseConfig([]byte(envConfig), "test")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Storage.DSN != "data/test.db" || cfg.Storage.Driver != "sqlite" || setting(cfg, "brevo", "api_key") != "xkeysib-test" ||
			setting(cfg, "brevo", "base_url") != "http://127.0.0.1:9999/v3" || optionInt(cfg.Skills.CustomerSync.Options, "list_id") != 5 {
			t.Errorf("test environment: storage %+v, brevo %+v", cfg.Storage, cfg.Destinations["brevo"])
		}
	})
	t.Run("ProductionMergesKeyByKey", func(t *testing.T) {
		t.Setenv("DATABASE_URL", "postgres://sync@db:5432/sync")
		t.Setenv("CUSTOM_PROD_SECRET", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
		cfg, err := ParseConfig([]byte(envConfig), "production")
		if err != nil {
			t.Fatal(err)
		}
		cs := cfg.Skills.CustomerSync
		if cfg.Storage.Driver != "postgres" || cfg.Sources["custom"].Secret != "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" ||
			cfg.Sources["custom"].Tolerance.String() != "2m0s" || optionInt(cs.Options, "list_id") != 9 || cs.Owner != "ops@example.com" || !cs.Enabled {
			t.Errorf("production: storage %+v, custom %+v, customer-sync %+v", cfg.Storage, cfg.Sources["custom"], cs)
		}
	})
	for _, tc := range []struct{ name, env, doc, want string }{
		{"UnknownEnvironment", "staging", envConfig, "--env staging: the config defines no environments.staging; it defines production, test"},
		{"UnsetVariableNamesTheEnvironmentLine", "production", envConfig, "line 26: storage.dsn: environment variable DATABASE_URL is not set"},
		{"MisspeltKeyInAnyEnvironment", "", envConfig + "  qa:\n    storage: {dns: x}\n", `environments.qa.storage.dns: is not a key synclayer knows; did you mean dsn?`},
		{"NotOverlayable", "", envConfig + "  qa:\n    environments: {}\n", `environments.qa.environments: is not a key synclayer knows`},
		{"NoEnvironments", "test", "storage: {driver: sqlite}\n", "--env test: the config has no environments block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseConfig_Notifications(t *testing.T) {
	t.Setenv("NOTIFY_WEBHOOK_SECRET", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/xyz")
	cfg, err := ParseConfig([]byte(`notifications:
  webhook_url: "https://example.com/hooks"
  secret: "${NOTIFY_WEBHOOK_SECRET}"
  events: [sync_completed, sync_failed, batch_completed]
  slack_webhook_url: "${SLACK_WEBHOOK_URL}"
  error_rate_threshold: 0.2
`), "")
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notifications
	if n.SlackWebhookURL != "https://hooks.slack.com/services/T0/B0/xyz" || len(n.Events) != 3 || n.ErrorRateWindow.String() != "15m0s" || n.QuietPeriod.String() != "15m0s" {
		t.Errorf("notifications: %+v", n)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"NoSecret", "notifications:\n  webhook_url: https://x.example/h\n", "line 2: notifications.secret: is required with webhook_url"},
		{"BadSecret", "notifications:\n  webhook_url: https://x.example/h\n  secret: not-base64!\n", "line 3: notifications.secret: must be whsec_"},
		{"UnknownEvent", "notifications:\n  webhook_url: https://x.example/h\n  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n  events: [sync_done]\n", `notifications.events[0]: must be sync_completed, sync_failed, batch_completed or recovered, not "sync_done"`},
		{"EventsWithoutURL", "notifications:\n  events: [sync_failed]\n", "notifications.webhook_url: is required"},
		{"BadURL", "notifications:\n  slack_webhook_url: hooks.slack.com/x\n", "line 2: notifications.slack_webhook_url: must be an http:// or https:// URL"},
		{"ThresholdWithoutSlack", "notifications:\n  error_rate_threshold: 0.2\n", "set notifications.slack_webhook_url too"},
		{"ThresholdRange", "notifications:\n  slack_webhook_url: https://h.example/x\n  error_rate_threshold: 20\n", "must be a share between 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestVersionYAML_NoSecrets: the history keeps ${VAR} references and
// redacts literal secrets; no secret value is ever in it.
func TestVersionYAML_NoSecrets(t *testing.T) {
	t.Setenv("CUSTOM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("BREVO_API_KEY", "xkeysib-very-secret")
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/slacksecret")
	cfg, err := ParseConfig([]byte(`storage:
  driver: postgres
  dsn: "postgres://sync:dbpassword@db:5432/sync"
sources:
  custom: {secret: "${CUSTOM_WEBHOOK_SECRET}", previous_secrets: ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]}
  shopify: {secret: "literal-shopify-secret"}
destinations:
  brevo: {api_key: "${BREVO_API_KEY}"}
notifications:
  slack_webhook_url: "${SLACK_WEBHOOK_URL}"
`), "")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "C2FVsBQIhrscChlQIMV", "xkeysib-very-secret", "slacksecret", "literal-shopify-secret", "dbpassword"} {
		if strings.Contains(doc, secret) {
			t.Errorf("the stored config holds a secret (%s):\n%s", secret, doc)
		}
	}
	for _, want := range []string{"${CUSTOM_WEBHOOK_SECRET}", "${BREVO_API_KEY}", "${SLACK_WEBHOOK_URL}", `secret: "[REDACTED]"`, "postgres://sync:REDACTED@db:5432/sync"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the stored config lacks %q:\n%s", want, doc)
		}
	}
	if cfg.Sources["custom"].Secret != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Errorf("versionYAML changed the running config: %q", cfg.Sources["custom"].Secret)
	}
}
