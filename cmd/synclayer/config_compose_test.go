package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// TestConfig_FileOverlaysTheDefaults reproduces the README's "sync for
// real" step: a file with only the Brevo key used to validate and then
// serve no sources and no skills, every webhook 404.
func TestConfig_FileOverlaysTheDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BREVO_KEY_FOR_TEST", "xkeysib-real")
	cfg, err := ParseConfig([]byte("storage:\n  dsn: "+dir+"/synclayer.db\ndestinations:\n  brevo:\n    api_key: \"${BREVO_KEY_FOR_TEST}\"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	cs := cfg.Skills.CustomerSync
	if cs == nil || !cs.Enabled || strings.Join(cs.Source, ",") != "shopify,woocommerce,custom" {
		t.Fatalf("customer-sync %+v, want it on over the three built-in sources", cs)
	}
	if _, ok := cs.Options.Extra["list_id"]; ok {
		t.Errorf("a real Brevo account got the simulator's list 5: %v", cs.Options.Extra)
	}
	for _, name := range []string{"shopify", "woocommerce", "custom"} {
		s := cfg.sources()[name]
		if s == nil || !s.generate || s.SecretFile != dir+"/secrets/"+name+"_webhook_secret" {
			t.Errorf("source %s: %+v, want a secret generated beside the database", name, s)
		}
	}
	warnings := strings.Join(cfg.generatedSecretWarnings(), "\n")
	for _, want := range []string{"client secret", "SHOPIFY_WEBHOOK_SECRET", dir + "/secrets/shopify_webhook_secret"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("the generated-secret warning does not say %q:\n%s", want, warnings)
		}
	}

	// A skills: block is the file's own: nothing is added to it.
	cfg, err = ParseConfig([]byte("sources:\n  shopify: {secret: x}\nskills:\n  order-events:\n    enabled: true\n    source: shopify\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Skills.CustomerSync != nil {
		t.Errorf("a file with its own skills got customer-sync added: %+v", cfg.Skills.CustomerSync)
	}
}

// TestConfig_SpecExampleServesAndSyncs: the quick start runs, then the
// customer-sync spec's example config (no sources: block, snake_case
// mapping keys), which used to fail with `source "shopify" is not
// configured`, is written and the server restarted on the same data: a
// webhook signed with the quick start's generated secret reaches Brevo with
// the mapped fields.
func TestConfig_SpecExampleServesAndSyncs(t *testing.T) {
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-spec"})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", "")
	dir := t.TempDir()

	// First the quick start: no file, the built-in simulator, here with
	// its data directory and address from the environment, as a container
	// would give them.
	t.Setenv("BREVO_API_KEY", "")
	t.Setenv("SYNCLAYER_STORAGE_DSN", dir+"/synclayer.db")
	t.Setenv("SYNCLAYER_LISTEN", "127.0.0.1:0")
	quick, err := LoadConfig("", "")
	if err != nil {
		t.Fatal(err)
	}
	qm := &Main{Config: quick, Stderr: &syncWriter{w: new(bytes.Buffer)}}
	if err := qm.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "secrets", "shopify_webhook_secret"))
	if err != nil {
		t.Fatalf("the quick start generated no Shopify secret beside its database: %v", err)
	}
	qe := &env{t: t, m: qm, sim: brevoSim(qm), base: "http://" + qm.Addr}
	body := mustMarshal(shopifyCustomer(4241, "quick.start@example.com", "Quinn", 1, "subscribed", 1))
	if status, reply := qe.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "wh-quick-1", body, strings.TrimSpace(string(secret)))); status != 200 {
		t.Fatalf("quick start webhook: %d %v", status, reply)
	}
	qe.waitIdle(10 * time.Second)
	qe.contact("quick.start@example.com")
	qm.Close()

	// Then the spec's example, copied as it is, on the same data.
	t.Setenv("SYNCLAYER_STORAGE_DSN", "")
	t.Setenv("SYNCLAYER_LISTEN", "")
	t.Setenv("BREVO_API_KEY", "xkeysib-spec")
	doc := fmt.Sprintf(`# the customer-sync spec's example
skills:
  customer-sync:
    enabled: true
    source: shopify
    field_mapping:
      email: email
      first_name: FIRSTNAME
      last_name: LASTNAME
      total_orders: ORDERS_COUNT
    options:
      list_id: 5
      sync_mode: realtime
destinations:
  brevo:
    api_key: "${BREVO_API_KEY}"
    base_url: %s/v3
server:
  listen: 127.0.0.1:0
storage:
  dsn: %s/synclayer.db
queue:
  poll: 50ms
`, hs.URL, dir)
	path := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: new(bytes.Buffer)}
	m := &Main{Config: cfg, Stderr: logs}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.Contains(logs.String(), dir+"/secrets/shopify_webhook_secret") {
		t.Errorf("the log does not say where the generated Shopify secret is:\n%s", logs.String())
	}
	e := &env{t: t, m: m, sim: sim, base: "http://" + m.Addr, logs: logs}
	body = mustMarshal(shopifyCustomer(4242, "spec.example@example.com", "Speck", 1, "subscribed", 1))
	status, reply := e.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "wh-spec-1", body, strings.TrimSpace(string(secret))))
	if status != 200 {
		t.Fatalf("webhook: %d %v", status, reply)
	}
	e.waitIdle(10 * time.Second)
	c := e.contact("spec.example@example.com")
	if c.Attributes["FIRSTNAME"] != "Speck" || c.Attributes["ORDERS_COUNT"] == nil || !hasList(c, 5) {
		t.Errorf("Brevo contact %+v, want FIRSTNAME and ORDERS_COUNT from the snake_case mapping, in list 5", c)
	}
}

// TestConfig_FromVariablesAlone: SYNCLAYER_* variables override the file,
// so a container needs no mounted config, and a bad one is named.
func TestConfig_FromVariablesAlone(t *testing.T) {
	t.Setenv("SYNCLAYER_LISTEN", "0.0.0.0:9090")
	t.Setenv("SYNCLAYER_STORAGE_DSN", "postgres://synclayer@db:5432/synclayer")
	t.Setenv("SYNCLAYER_LOG_FORMAT", "json")
	cfg, err := ParseConfig([]byte("server:\n  listen: 127.0.0.1:8080\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "0.0.0.0:9090" || cfg.Storage.Driver != "postgres" || cfg.Log.Format != "json" {
		t.Errorf("listen %q driver %q format %q, want the variables' values", cfg.Server.Listen, cfg.Storage.Driver, cfg.Log.Format)
	}
	t.Setenv("SYNCLAYER_QUEUE_CONCURRENCY", "many")
	t.Setenv("SYNCLAYER_LOG_LEVEL", "loud")
	_, err = ParseConfig(nil, "")
	for _, want := range []string{`queue.concurrency (set by SYNCLAYER_QUEUE_CONCURRENCY): "many" is not a number`, `log.level (set by SYNCLAYER_LOG_LEVEL): must be debug, info, warn or error`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}

// TestConfig_EveryProblemAtOnce: a file with several mistakes gets all of
// them, in the file's order, each naming its key and line in the config's
// terms. The decoder used to stop at the first, in Go's words ("cannot
// unmarshal string into Go struct field Config.Server of type int64").
func TestConfig_EveryProblemAtOnce(t *testing.T) {
	doc := `server:
  listen: 127.0.0.1:8080
  max_body_bytes: lots
storage:
  dirver: sqlite
skills:
  customer-sync:
    enabled: "yes"
    source: shopify
queue:
  concurrency: 2.5
log:
  level: loud
`
	_, err := ParseConfig([]byte(doc), "")
	if err == nil {
		t.Fatal("a file with five mistakes parsed")
	}
	// Mistakes of shape and of meaning come out together.
	want := []string{
		`line 3: server.max_body_bytes: must be a whole number, not the text "lots"`,
		"line 5: storage.dirver: is not a key synclayer knows; did you mean driver?",
		`line 8: skills.customer-sync.enabled: must be true or false, not the text "yes"`,
		"line 11: queue.concurrency: must be a whole number, not the number 2.5",
		`line 13: log.level: must be debug, info, warn or error, not "loud"`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want)+1 {
		t.Fatalf("error:\n%s\nwant %d problems", err, len(want))
	}
	for i, w := range want {
		if strings.TrimSpace(got[i+1]) != w {
			t.Errorf("problem %d: %q, want %q", i+1, strings.TrimSpace(got[i+1]), w)
		}
	}
	for _, goWords := range []string{"Go struct", "unmarshal", "int64"} {
		if strings.Contains(err.Error(), goWords) {
			t.Errorf("the error speaks Go (%q):\n%s", goWords, err)
		}
	}
}

// TestConfig_LiteralSecretsAreWarnedAbout: a secret written into the file
// as it is still runs, with a warning naming its line and the variable to
// use; a ${VAR} reference gets none.
func TestConfig_LiteralSecretsAreWarnedAbout(t *testing.T) {
	t.Setenv("KLAVIYO_KEY_FOR_TEST", "pk_test")
	cfg, err := ParseConfig([]byte(`sources:
  shopify: { secret: shpss_literal }
destinations:
  brevo: { api_key: xkeysib-literal }
  klaviyo: { api_key: "${KLAVIYO_KEY_FOR_TEST}" }
storage:
  driver: postgres
  dsn: postgres://synclayer:hunter2@db:5432/synclayer
`), "")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.warnings, "\n")
	for _, want := range []string{
		`line 2: sources.shopify.secret is written in the config file as it is`, `secret: "${SHOPIFY_WEBHOOK_SECRET}"`,
		`line 4: destinations.brevo.api_key is written`, `api_key: "${BREVO_API_KEY}"`,
		`line 8: storage.dsn is written`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings do not say %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "klaviyo") {
		t.Errorf("a ${VAR} reference was warned about:\n%s", got)
	}
	for _, secret := range []string{"shpss_literal", "xkeysib-literal", "hunter2"} {
		if strings.Contains(got, secret) {
			t.Errorf("a warning repeats the secret %q:\n%s", secret, got)
		}
	}
}
