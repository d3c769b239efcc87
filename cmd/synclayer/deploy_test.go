package main

import (
	"path/filepath"
	"testing"
)

// TestServe_DeployConfigs keeps the example configs under deploy/ valid,
// with the variables deploy/synclayer.env.example names set. It sets the
// environment, so it does not run in parallel.
func TestServe_DeployConfigs(t *testing.T) {
	for k, v := range map[string]string{
		"PUBLIC_URL": "https://sync.example.com", "SHOPIFY_WEBHOOK_SECRET": "shpss_deploy", "BREVO_API_KEY": "xkeysib-deploy",
		"DATABASE_URL": "postgres://synclayer:pw@postgres:5432/synclayer?sslmode=disable",
	} {
		t.Setenv(k, v)
	}
	for _, name := range []string{"synclayer.yaml", "synclayer.compose.yaml"} {
		cfg, err := LoadConfig(filepath.Join("..", "..", "deploy", name), "")
		if err != nil {
			t.Errorf("deploy/%s: %v", name, err)
			continue
		}
		if a := cfg.Server.TLS.ACME; len(a.Domains) != 1 || a.Domains[0] != "sync.example.com" {
			t.Errorf("deploy/%s: ACME domains %v, want public_url's host", name, a.Domains)
		}
	}
}
