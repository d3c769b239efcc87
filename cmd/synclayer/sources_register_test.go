package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synclayer"
	"synclayer/source/shopify/shopifysim"
)

const hookTarget = "https://sync.example.com/webhooks/shopify"

// writeHookConfig writes a config with a Shopify source whose Admin API
// is adminURL, customer-sync and order-events taking its events, and a
// custom source, which registers nothing; publicURL is server.public_url.
func writeHookConfig(t *testing.T, publicURL, adminURL, extra string) string {
	t.Helper()
	dir := t.TempDir()
	doc := fmt.Sprintf(`
server: { public_url: %q }
storage: { driver: sqlite, dsn: %q }
sources:
  shopify:
    secret: s
    admin: { shop: demo.myshopify.com, access_token: shpat_reg, base_url: %q }
  custom: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
%s
skills:
  customer-sync: { enabled: true, source: [shopify, custom], options: { list_id: 5 } }
  order-events:  { enabled: true, source: shopify }
`, publicURL, filepath.Join(dir, "synclayer.db"), adminURL, extra)
	p := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hookRows reads the rows sources register and check print, status by
// topic; the header and the last line of a failed check are left out.
func hookRows(out string) map[string]string {
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && !strings.HasSuffix(f[0], ":") {
			rows[f[1]] = f[0]
		}
	}
	return rows
}

func allStatus(rows map[string]string, status string, n int) bool {
	for _, s := range rows {
		if s != status {
			return false
		}
	}
	return len(rows) == n
}

// TestSources_RegisterAndCheck: register creates the Shopify topics of
// the enabled skills at server.public_url/webhooks/shopify, a rerun
// changes nothing and check says ok; a subscription Shopify removed and
// one left on an old host make check fail (exit 1) naming them and
// saying what to run, and register puts them back.
func TestSources_RegisterAndCheck(t *testing.T) {
	t.Parallel()
	shop := shopifysim.New(shopifysim.Options{AccessToken: "shpat_reg"})
	hs := httptest.NewServer(shop)
	t.Cleanup(hs.Close)
	cfg := writeHookConfig(t, "https://sync.example.com/", hs.URL, "")
	const topics = 10 // customer-sync's 5 and order-events' 5

	out, stderr, err := cliRun(t, "sources", "register", "shopify", "--config", cfg)
	if rows := hookRows(out); err != nil || !allStatus(rows, synclayer.HookCreated, topics) {
		t.Fatalf("register: %v %v\n%s%s", rows, err, out, stderr)
	}
	if !strings.HasPrefix(out, "shopify: "+hookTarget+"\n") {
		t.Errorf("register does not start with the source and its URL:\n%s", out)
	}
	for _, h := range shop.Webhooks() {
		if h.CallbackURL != hookTarget || h.Format != "JSON" {
			t.Errorf("subscription %+v, want JSON at %s", h, hookTarget)
		}
		if strings.HasPrefix(h.Topic, "PRODUCTS_") || strings.HasPrefix(h.Topic, "CHECKOUTS_") {
			t.Errorf("subscription %s, for a skill that is not enabled", h.Topic)
		}
	}
	if out, _, err := cliRun(t, "sources", "register", "--source", "shopify", "--config", cfg); err != nil || !allStatus(hookRows(out), synclayer.HookUnchanged, topics) {
		t.Errorf("register again: %v\n%s", err, out)
	}
	if out, _, err := cliRun(t, "sources", "check", "shopify", "--config", cfg); err != nil || !allStatus(hookRows(out), synclayer.HookOK, topics) {
		t.Errorf("check: %v\n%s", err, out)
	}

	for _, h := range shop.Webhooks() {
		switch h.Topic {
		case "CUSTOMERS_UPDATE":
			shop.RemoveWebhook(h.ID) // after its deliveries kept failing
		case "ORDERS_PAID":
			shop.RemoveWebhook(h.ID)
			shop.AddWebhook(h.Topic, "https://old-host.example.com/webhooks/shopify", "JSON")
		}
	}
	out, _, err = cliRun(t, "sources", "check", "shopify", "--config", cfg)
	rows := hookRows(out)
	if err == nil || exitCode(err) != 1 || rows["CUSTOMERS_UPDATE"] != synclayer.HookMissing || rows["ORDERS_PAID"] != synclayer.HookElsewhere || rows["ORDERS_CREATE"] != synclayer.HookOK {
		t.Errorf("check after the changes: %v %v; want CUSTOMERS_UPDATE missing, ORDERS_PAID elsewhere, the rest ok, exit 1\n%s", rows, err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "run synclayer sources register shopify") || !strings.Contains(last, "1 missing") || !strings.Contains(last, "1 elsewhere") {
		t.Errorf("the check's last line: %s", last)
	}
	if err != nil && !strings.Contains(err.Error(), "synclayer sources register shopify") {
		t.Errorf("the check's error: %v", err)
	}

	t.Run("JSON", func(t *testing.T) {
		out, _, err := cliRun(t, "sources", "check", "shopify", "--json", "--config", cfg)
		var states []synclayer.HookState
		if jerr := json.Unmarshal([]byte(out), &states); jerr != nil || err == nil || len(states) != topics {
			t.Fatalf("check --json: %v %v, %d rows\n%s", jerr, err, len(states), out)
		}
		for _, s := range states {
			if s.Topic == "CUSTOMERS_UPDATE" && (s.Status != synclayer.HookMissing || s.ID != "") {
				t.Errorf("CUSTOMERS_UPDATE: %+v", s)
			}
		}
	})

	out, _, err = cliRun(t, "sources", "register", "shopify", "--config", cfg)
	rows = hookRows(out)
	if err != nil || rows["CUSTOMERS_UPDATE"] != synclayer.HookCreated || rows["ORDERS_PAID"] != synclayer.HookUpdated || rows["ORDERS_CREATE"] != synclayer.HookUnchanged {
		t.Errorf("register after the changes: %v %v\n%s", rows, err, out)
	}
	if out, _, err := cliRun(t, "sources", "check", "--config", cfg); err != nil || !allStatus(hookRows(out), synclayer.HookOK, topics) {
		t.Errorf("check without a name, after register: %v\n%s", err, out)
	}
	if n := len(shop.Webhooks()); n != topics {
		t.Errorf("%d subscriptions, want %d", n, topics)
	}
}

// TestSources_RegisterEvery: without a name, register takes every source
// that registers through its API, skipping, with a word on stderr, one
// without API credentials; the custom source is left alone.
func TestSources_RegisterEvery(t *testing.T) {
	t.Parallel()
	shop := shopifysim.New(shopifysim.Options{AccessToken: "shpat_reg"})
	hs := httptest.NewServer(shop)
	t.Cleanup(hs.Close)
	cfg := writeHookConfig(t, "https://sync.example.com", hs.URL, "  shopify-noapi: { type: shopify, secret: t }\n")
	out, stderr, err := cliRun(t, "sources", "register", "--json", "--config", cfg)
	var byName map[string][]synclayer.HookState
	if jerr := json.Unmarshal([]byte(out), &byName); err != nil || jerr != nil || len(byName) != 1 || len(byName["shopify"]) != 10 {
		t.Fatalf("register --json: %v %v\n%s%s", err, jerr, out, stderr)
	}
	if !strings.Contains(stderr, "shopify-noapi: skipped") {
		t.Errorf("stderr does not say shopify-noapi was skipped:\n%s", stderr)
	}
}

// TestSources_RegisterErrors: mistakes in the command line are usage
// errors; a source that registers nothing, a missing public_url and a
// source no skill takes from are errors that say what to do.
func TestSources_RegisterErrors(t *testing.T) {
	t.Parallel()
	miss := missingConfig(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"sources"}, "sources: missing command: register, check"},
		{[]string{"sources", "frob"}, `sources: unknown command "frob"; available: register, check`},
		{[]string{"sources", "register", "a", "b", "--config", miss}, "sources register: give the source's name once"},
		{[]string{"sources", "check", "a", "--source", "b", "--config", miss}, "sources check: give the source's name once"},
		{[]string{"sources", "check", "--bogus", "--config", miss}, "sources check: unknown flag --bogus"},
	} {
		_, _, err := cliRun(t, tc.args...)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(ue.msg, tc.msg) || exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error saying %q", tc.args, err, tc.msg)
		}
	}

	shop := shopifysim.New(shopifysim.Options{AccessToken: "shpat_reg"})
	hs := httptest.NewServer(shop)
	t.Cleanup(hs.Close)
	cfg := writeHookConfig(t, "https://sync.example.com", hs.URL, "  shopify-idle: { type: shopify, secret: t, admin: { shop: idle.myshopify.com, access_token: shpat_reg, base_url: "+fmt.Sprintf("%q", hs.URL)+" } }\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"sources", "register", "custom"}, []string{"sources.custom (type custom)", "Shopify (with an admin: block)", "platform's settings"}},
		{[]string{"sources", "check", "nope"}, []string{`"nope" is not configured`}},
		{[]string{"sources", "register", "shopify-idle"}, []string{"sources.shopify-idle: no enabled skill takes events from it"}},
	} {
		_, _, err := cliRun(t, append(tc.args, "--config", cfg)...)
		if err == nil || exitCode(err) != 1 || !contains(err.Error(), tc.want...) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	noURL := writeHookConfig(t, "", hs.URL, "")
	for _, args := range [][]string{{"sources", "check", "shopify"}, {"sources", "register"}} {
		if _, _, err := cliRun(t, append(args, "--config", noURL)...); err == nil || strings.Count(err.Error(), "server.public_url is not set") != 1 {
			t.Errorf("%v without public_url: %v, want one error naming server.public_url", args, err)
		}
	}
	if n := len(shop.Calls()); n != 0 {
		t.Errorf("%d calls to Shopify from commands that failed before any", n)
	}
}
