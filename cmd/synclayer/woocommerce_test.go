package main

import (
	"context"
	"net/http/httptest"
	"slices"
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
