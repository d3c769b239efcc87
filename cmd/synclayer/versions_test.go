package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// withBrevo points the env at another env's simulator, so a restarted
// server's config equals the first one's.
func withBrevo(baseURL string) envOption {
	return func(c *Config) { c.Destinations["brevo"].Settings["base_url"] = baseURL }
}

func withListID(id int64) envOption {
	return func(c *Config) { c.Skills.CustomerSync.Options.Extra["list_id"] = id }
}

// runningListID is the list customer-sync runs with now.
func (e *env) runningListID() int64 {
	e.t.Helper()
	list, err := e.m.skills.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var cs CustomerSyncConfig
	_ = json.Unmarshal(list[0].Config, &cs)
	return optionInt(cs.Options, "list_id")
}

// TestConfigHistory_API: the file loaded at start is version 1; a PUT, a
// disable and a rollback each record a version by the key's name; the
// rollback runs at once and is itself a version; no version holds a secret.
func TestConfigHistory_API(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	admin, viewer := a.keys[synclayer.RoleAdmin], a.keys[synclayer.RoleViewer]
	status, put := a.call("PUT", "/api/v1/skills/customer-sync", admin, customerSyncConfig(7, "shopify", "custom"))
	if status != 200 || put["version"] != 2.0 {
		t.Fatalf("PUT: %d %v, want version 2", status, put)
	}
	if status, again := a.call("PUT", "/api/v1/skills/customer-sync", admin, customerSyncConfig(7, "shopify", "custom")); status != 200 || again["version"] != 2.0 {
		t.Errorf("the same PUT again: %d %v, want no new version", status, again)
	}
	if _, dis := a.call("POST", "/api/v1/skills/customer-sync/disable", admin, nil); dis["version"] != 3.0 {
		t.Errorf("disable: %v, want version 3", dis)
	}
	status, rb := a.call("POST", "/api/v1/config/rollback", admin, map[string]any{"version": 2})
	if status != 200 || rb["version"] != 4.0 || rb["origin"] != "rollback" || rb["note"] != "rollback to version 2" || rb["actor"] != "test admin" {
		t.Fatalf("rollback: %d %v", status, rb)
	}
	if got := a.runningListID(); got != 7 {
		t.Errorf("after the rollback customer-sync runs list %d, want 7", got)
	}
	if list, _ := a.m.skills.List(context.Background()); !list[0].Enabled {
		t.Error("the rollback to an enabled version left the skill disabled")
	}

	_, hist := a.call("GET", "/api/v1/config/versions", viewer, nil)
	vs := hist["versions"].([]any)
	if hist["running"] != 4.0 || len(vs) != 4 {
		t.Fatalf("history: %v", hist)
	}
	first := vs[3].(map[string]any)
	if first["origin"] != "file" || first["actor"] != "cli" || vs[2].(map[string]any)["actor"] != "test admin" || first["config"] != nil {
		t.Errorf("history entries: %v", vs)
	}
	for n := 1; n <= 4; n++ {
		_, v := a.call("GET", fmt.Sprintf("/api/v1/config/versions/%d", n), viewer, nil)
		doc, _ := v["config"].(string)
		if doc == "" {
			t.Fatalf("version %d has no config: %v", n, v)
		}
		for _, secret := range []string{shopifySecret, wooSecret, customSecret, "xkeysib-e2e"} {
			if strings.Contains(doc, secret) {
				t.Errorf("version %d stores a secret:\n%s", n, doc)
			}
		}
	}
	v1, _ := a.m.DB.FindConfigVersion(context.Background(), 1)
	v2, _ := a.m.DB.FindConfigVersion(context.Background(), 2)
	lines, err := diffConfig(v1.YAML, v2.YAML)
	if err != nil || !slicesContain(lines, "~ skills.customer-sync.options.list_id: 5 → 7") || !slicesContain(lines, "- skills.customer-sync.source[2]: \"custom\"") {
		t.Errorf("diff 1 2: %v, %v", lines, err)
	}
}

// TestConfigHistory_Restart: a change made through the API survives a
// restart with the same file; a changed file wins, and is recorded.
func TestConfigHistory_Restart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "synclayer.db")
	e := startEnv(t, brevosim.Options{}, withSQLite(db))
	ctx := context.Background()
	v, err := e.m.skills.Put(ctx, "customer-sync", mustMarshal(customerSyncConfig(7, "shopify")), "ops")
	if err != nil || v != 2 {
		t.Fatalf("put: %d, %v", v, err)
	}
	e.m.Close()
	brevo := withBrevo(setting(e.m.Config, "brevo", "base_url"))

	same := startEnv(t, brevosim.Options{}, withSQLite(db), brevo)
	if got := same.runningListID(); got != 7 || same.m.skills.running() != 2 {
		t.Errorf("after a restart with the same file: list %d, version %d; want the API's list 7, version 2", got, same.m.skills.running())
	}
	same.m.Close()

	edited := startEnv(t, brevosim.Options{}, withSQLite(db), brevo, withListID(9))
	latest, _ := edited.m.DB.FindLatestConfigVersion(ctx, "")
	if got := edited.runningListID(); got != 9 || latest.Version != 3 || latest.Origin != synclayer.ConfigFromFile {
		t.Errorf("after a restart with an edited file: list %d, latest %+v; want the file's list 9 as version 3", got, latest)
	}
}

// TestConfigHistory_CLI: history, diff and a rollback through the store,
// which the running server picks up when it next looks.
func TestConfigHistory_CLI(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	ctx := context.Background()
	if _, err := e.m.skills.Put(ctx, "customer-sync", mustMarshal(customerSyncConfig(7, "shopify")), "ops"); err != nil {
		t.Fatal(err)
	}
	cfg := e.writeConfig("")
	run := func(args ...string) string {
		t.Helper()
		var out, stderr bytes.Buffer
		if err := runIO(ctx, append(args, "--config", cfg), &out, &stderr); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	if h := run("config", "history"); !contains(h, "VERSION", "PUT /api/v1/skills/customer-sync", "ops", "loaded at start") {
		t.Errorf("history:\n%s", h)
	}
	if d := run("config", "diff", "1", "2"); !strings.Contains(d, "~ skills.customer-sync.options.list_id: 5 → 7") {
		t.Errorf("diff:\n%s", d)
	}
	if out := run("config", "rollback", "1"); !strings.Contains(out, "recorded version 3: rollback to version 1") {
		t.Errorf("rollback: %s", out)
	}
	if err := e.m.skills.adoptLatest(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.runningListID(); got != 5 || e.m.skills.running() != 3 {
		t.Errorf("after the CLI rollback the server runs list %d as version %d; want list 5 as version 3", got, e.m.skills.running())
	}
	if show := run("config", "show", "3"); !strings.Contains(show, "list_id: 5") || strings.Contains(show, shopifySecret) {
		t.Errorf("show 3:\n%s", show)
	}
}

// TestConfigHistory_ServerNoticesWithoutHelp: the poll alone applies a
// version written to the store.
func TestConfigHistory_ServerNoticesWithoutHelp(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.m.skills.watchConfig(20 * time.Millisecond) // a faster second watcher, for the test
	v := &synclayer.ConfigVersion{CreatedAt: time.Now(), Actor: "cli", Origin: synclayer.ConfigFromRollback}
	doc, _ := e.m.Config.withCustomerSync(&CustomerSyncConfig{Enabled: true, Source: StringList{"shopify"}, Options: CustomerSyncOptions{Extra: map[string]any{"list_id": 11}}}).versionYAML()
	v.YAML = doc
	if err := e.m.DB.AddConfigVersion(context.Background(), v, -1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.runningListID() != 11 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.runningListID(); got != 11 {
		t.Errorf("list %d, want 11 from the version written to the store", got)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
