package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/woocommerce/woosim"
)

// TestWooCommerce_ConfigAPI: the woocommerce source's api: block is
// checked by its package, and each problem is reported at its key and
// line, as the other blocks are.
func TestWooCommerce_ConfigAPI(t *testing.T) {
	t.Setenv("WC_CONSUMER_KEY", "ck_from_the_environment")
	t.Setenv("WC_CONSUMER_SECRET", "cs_from_the_environment")
	for _, tc := range []struct{ name, doc, want string }{
		{"MissingURL", "sources:\n  woocommerce:\n    secret: x\n    api:\n      consumer_key: \"${WC_CONSUMER_KEY}\"\n      consumer_secret: \"${WC_CONSUMER_SECRET}\"\n",
			"line 5: sources.woocommerce.api.url: missing"},
		{"UnknownKey", "sources:\n  eu:\n    type: woocommerce\n    secret: x\n    api:\n      url: https://shop.example.com\n      consumer_key: \"${WC_CONSUMER_KEY}\"\n      consumer_secret: \"${WC_CONSUMER_SECRET}\"\n      per_page: 50\n",
			"line 9: sources.eu.api.per_page: is not a WooCommerce api setting"},
		{"BadInterval", "sources:\n  woocommerce:\n    secret: x\n    api: {url: \"https://shop.example.com\", consumer_key: a, consumer_secret: b, reconcile_interval: 5s}\n",
			"sources.woocommerce.api.reconcile_interval: is 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "cs_from_the_environment") {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
	t.Run("SecretsAreSecret", func(t *testing.T) {
		cfg, err := ParseConfig([]byte(`sources:
  woocommerce:
    secret: x
    api: {url: "https://shop.example.com", consumer_key: "${WC_CONSUMER_KEY}", consumer_secret: "cs_written_in_the_file"}
`), "")
		if err != nil {
			t.Fatal(err)
		}
		doc, err := cfg.versionYAML()
		if err != nil || strings.Contains(doc, "cs_written_in_the_file") || strings.Contains(doc, "ck_from_the_environment") || !strings.Contains(doc, "${WC_CONSUMER_KEY}") {
			t.Errorf("the stored config: %v\n%s", err, doc)
		}
		warned := false
		for _, w := range cfg.warnings {
			warned = warned || strings.Contains(w, "sources.woocommerce.api.consumer_secret is written in the config file")
		}
		if !warned {
			t.Errorf("no warning about the literal secret: %v", cfg.warnings)
		}
		if got := cfg.sourceSecrets(); !slices.Contains(got, "cs_written_in_the_file") || !slices.Contains(got, "ck_from_the_environment") {
			t.Errorf("the log's redaction misses them: %v", got)
		}
	})
}

// TestWooCommerce_OpensAsLister: the registry passes the api: block to
// the package unchanged, and the source it opens lists, reconciles and
// registers webhooks through the store's REST API.
func TestWooCommerce_OpensAsLister(t *testing.T) {
	sim := woosim.New("ck_e2e", "cs_e2e")
	sim.Seed(woosim.Customers, 3, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Minute)
	hs := httptest.NewServer(sim)
	defer hs.Close()
	t.Setenv("WC_CONSUMER_SECRET", "cs_e2e")
	cfg, err := ParseConfig([]byte("sources:\n  woo-eu:\n    type: woocommerce\n    secret: s\n    api: {url: \""+hs.URL+"\", consumer_key: ck_e2e, consumer_secret: \"${WC_CONSUMER_SECRET}\", reconcile_interval: 6h}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	src, err := cfg.openSource("woo-eu", []string{"s"})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := src.(synclayer.SourceReconciler)
	if !ok || r.ReconcileInterval() != 6*time.Hour {
		t.Fatalf("%T is not a SourceReconciler every 6h", src)
	}
	if _, ok := src.(synclayer.HookRegistrar); !ok {
		t.Errorf("%T is not a HookRegistrar", src)
	}
	p, err := r.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
	if err != nil || len(p.Events) != 3 || p.Total != 3 {
		t.Errorf("List: %d events, Total %d, %v", len(p.Events), p.Total, err)
	}
}

// TestWooCommerce_RegisterAndCheck: sources register makes WooCommerce's
// webhooks for the skills taking the source's events, signed with the
// source's own secret (from the environment), so their deliveries
// verify; a webhook WooCommerce disabled after failed deliveries is
// reported by check and set active again by register.
func TestWooCommerce_RegisterAndCheck(t *testing.T) {
	sim := woosim.New("ck_reg", "cs_reg")
	hs := httptest.NewServer(sim)
	defer hs.Close()
	t.Setenv("WOO_WEBHOOK_SECRET", "woo-signing-secret")
	t.Setenv("WC_CONSUMER_SECRET", "cs_reg")
	p := filepath.Join(t.TempDir(), "synclayer.yaml")
	doc := "server:\n  public_url: https://sync.example.com\nstorage:\n  driver: sqlite\n  dsn: " + strconv.Quote(filepath.Join(t.TempDir(), "db")) +
		"\nsources:\n  woocommerce:\n    secret: \"${WOO_WEBHOOK_SECRET}\"\n    api: {url: \"" + hs.URL + "\", consumer_key: ck_reg, consumer_secret: \"${WC_CONSUMER_SECRET}\"}\n" +
		"skills:\n  customer-sync:\n    enabled: true\n    source: woocommerce\n  order-events:\n    enabled: true\n    source: woocommerce\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := cliRun(t, "sources", "register", "woocommerce", "--config", p)
	if err != nil {
		t.Fatalf("register: %v\n%s%s", err, out, stderr)
	}
	hooks := sim.Webhooks()
	var topics []string
	for _, h := range hooks {
		topics = append(topics, h.Topic)
		if h.Secret != "woo-signing-secret" || h.DeliveryURL != "https://sync.example.com/webhooks/woocommerce" || h.Status != "active" {
			t.Errorf("webhook %s: secret %q, url %s, status %s", h.Topic, h.Secret, h.DeliveryURL, h.Status)
		}
	}
	slices.Sort(topics)
	if want := []string{"customer.created", "customer.deleted", "customer.updated", "order.created", "order.deleted", "order.updated"}; !slices.Equal(topics, want) {
		t.Errorf("topics %v, want %v (no product topic: product-catalog is off)", topics, want)
	}
	if out, _, err := cliRun(t, "sources", "check", "--config", p); err != nil {
		t.Errorf("check after register: %v\n%s", err, out)
	}
	sim.SetWebhookStatus(hooks[0].ID, "disabled")
	if out, _, err := cliRun(t, "sources", "check", "--config", p); err == nil || !strings.Contains(out, "inactive") {
		t.Errorf("check with a disabled webhook: %v\n%s", err, out)
	}
	if out, _, err := cliRun(t, "sources", "register", "--config", p); err != nil || strings.Count("\n"+out, "\nupdated ") != 1 {
		t.Errorf("register again: %v\n%s", err, out)
	}
	if len(sim.Webhooks()) != len(hooks) {
		t.Errorf("%d webhooks after register again, want %d: the disabled one updated, not another made", len(sim.Webhooks()), len(hooks))
	}
}
