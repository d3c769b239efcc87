package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synclayer"
)

// keysCLI runs synclayer keys ... against the env's store, as an operator
// would beside the running server, and returns its output.
func (a *apiEnv) keysCLI(args ...string) (string, error) {
	a.t.Helper()
	cfg := filepath.Join(a.t.TempDir(), "synclayer.yaml")
	doc := "storage:\n  driver: " + a.m.Config.Storage.Driver + "\n  dsn: \"" + a.m.Config.Storage.DSN + "\"\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		a.t.Fatal(err)
	}
	var out bytes.Buffer
	err := runIO(context.Background(), append(append([]string{"keys"}, args...), "--config", cfg), &out, &out)
	return out.String(), err
}

func testKeysCLI(t *testing.T, opts ...envOption) {
	a := startAPI(t, opts...)
	out, err := a.keysCLI("create", "--role", "operator", "--name", "ci deploy")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, synclayer.KeyPrefix) || strings.Contains(key, " ") {
		t.Fatalf("the last line is not the key alone: %q", out)
	}
	if status, _ := a.call("POST", "/api/v1/skills/customer-sync/trigger", key, map[string]any{"event": "customer_created", "data": map[string]any{"id": "k1", "email": "k@example.com"}}); status != 202 {
		t.Fatalf("the new operator key: %d, want 202", status)
	}
	if status, _ := a.call("PUT", "/api/v1/skills/customer-sync", key, customerSyncConfig(5, "shopify")); status != 403 {
		t.Errorf("operator key changing config: %d, want 403", status)
	}

	list, err := a.keysCLI("list")
	if err != nil || !strings.Contains(list, "ci deploy") || !strings.Contains(list, "operator") || strings.Contains(list, key) {
		t.Fatalf("keys list: %v\n%s", err, list)
	}
	var id string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "ci deploy") {
			id = strings.Fields(line)[0]
		}
	}
	if out, err := a.keysCLI("revoke", id); err != nil {
		t.Fatalf("keys revoke %s: %v\n%s", id, err, out)
	}
	status, reply := a.call("GET", "/api/v1/skills", key, nil)
	wantError(t, status, reply, 401, synclayer.EUNAUTHORIZED, "")
	if _, err := a.keysCLI("revoke", id); err == nil {
		t.Error("revoking a revoked key succeeded")
	}
	if _, err := a.keysCLI("create", "--role", "root"); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Errorf("create with a bad role: %v", err)
	}
}

// TestKeys_CLI creates, lists and revokes a key with the CLI beside a
// running server, which sees the revocation at its next request.
func TestKeys_CLI(t *testing.T) {
	t.Parallel()
	testKeysCLI(t)
}

func TestKeys_CLIPostgres(t *testing.T) {
	t.Parallel()
	testKeysCLI(t, withPostgres(t))
}
