package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// joinFleet starts another instance on first's PostgreSQL database and
// Brevo simulator, with customer-sync's list set to listID.
func joinFleet(t *testing.T, first *env, listID int64, apply bool) (*Main, *syncWriter) {
	t.Helper()
	cfg := &Config{
		Server:  ServerConfig{Listen: "127.0.0.1:0"},
		Storage: first.m.Config.Storage,
		Sources: map[string]*SourceConfig{
			"shopify":     {Secret: shopifySecret},
			"woocommerce": {Secret: wooSecret},
			"custom":      {Secret: customSecret},
		},
		Destinations: map[string]*DestinationSection{"brevo": {Settings: map[string]any{
			"api_key": "xkeysib-e2e", "base_url": first.m.Config.Destinations["brevo"].Settings["base_url"]}}},
		Skills: SkillsConfig{CustomerSync: &CustomerSyncConfig{
			Enabled: true, Source: StringList{"shopify", "woocommerce", "custom"},
			Options: CustomerSyncOptions{Extra: map[string]any{"list_id": listID}},
		}},
		Queue: QueueConfig{Poll: 50 * time.Millisecond},
	}
	if err := cfg.finish(nil); err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: new(bytes.Buffer)}
	m := &Main{Config: cfg, Stderr: logs, ApplyConfig: apply, ConfigPoll: 20 * time.Millisecond}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("second instance: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { m.Close() })
	return m, logs
}

func (e *env) configVersions() int {
	e.t.Helper()
	list, err := e.m.DB.FindConfigVersions(context.Background(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

// TestFleet_JoiningInstanceChangesNoOneSilently: a second instance on the
// same PostgreSQL database, started with a file whose customer-sync
// differs, runs the fleet's config and says which keys differ, instead of
// recording its file and changing the first; --apply-config changes both.
func TestFleet_JoiningInstanceChangesNoOneSilently(t *testing.T) {
	t.Parallel()
	first := startEnv(t, brevosim.Options{}, withPostgres(t))
	first.m.skills.watchConfig(20 * time.Millisecond)
	versions := first.configVersions()

	second, logs := joinFleet(t, first, 9, false)
	for _, want := range []string{"NOT APPLIED", "skills.customer-sync.options.list_id: 5 → 9", "--apply-config", first.m.Addr} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the joining instance's log does not say %q:\n%s", want, logs.String())
		}
	}
	time.Sleep(200 * time.Millisecond) // ten of the first's config polls
	if got := first.runningListID(); got != 5 {
		t.Errorf("the first instance runs list %d, want 5: the second's file changed it", got)
	}
	if got := (&env{t: t, m: second}).runningListID(); got != 5 {
		t.Errorf("the joining instance runs list %d, want the fleet's 5", got)
	}
	if got := first.configVersions(); got != versions {
		t.Errorf("%d config versions, want %d: the unapplied file was recorded", got, versions)
	}

	// A third with only its own address (the same skills) changes nothing
	// and warns of nothing.
	_, quiet := joinFleet(t, first, 5, false)
	if strings.Contains(quiet.String(), "NOT APPLIED") {
		t.Errorf("an instance whose customer-sync matches the fleet's warned:\n%s", quiet.String())
	}

	// --apply-config is the deliberate change: recorded, and run by all.
	_, applied := joinFleet(t, first, 9, true)
	if !strings.Contains(applied.String(), "as --apply-config asks") {
		t.Errorf("the applying instance does not say it changes the fleet:\n%s", applied.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for first.runningListID() != 9 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := first.runningListID(); got != 9 {
		t.Errorf("after --apply-config the first instance runs list %d, want 9", got)
	}
	for second.skills.running() != first.m.skills.running() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := (&env{t: t, m: second}).runningListID(); got != 9 {
		t.Errorf("after --apply-config the second instance runs list %d, want 9", got)
	}
}

// TestFleet_AloneTheEditedFileRuns: with no other instance running, a
// restart with an edited file runs it, as a single server always has.
func TestFleet_AloneTheEditedFileRuns(t *testing.T) {
	t.Parallel()
	first := startEnv(t, brevosim.Options{}, withPostgres(t))
	dsn, base := first.m.Config.Storage, first.m.Config.Destinations["brevo"].Settings["base_url"].(string)
	first.m.Close()
	again := startEnv(t, brevosim.Options{}, func(c *Config) { c.Storage = dsn }, withBrevo(base), withListID(12))
	if got := again.runningListID(); got != 12 {
		t.Errorf("restarted alone with list 12 in the file, runs list %d", got)
	}
	if strings.Contains(again.logs.String(), "NOT APPLIED") {
		t.Errorf("a lone restart warned of a fleet:\n%s", again.logs.String())
	}
}
