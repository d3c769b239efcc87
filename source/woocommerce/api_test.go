package woocommerce_test

import (
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/woocommerce"
)

func open(section string) (synclayer.Source, error) {
	st := synclayer.SourceSettings{Name: "shop-eu"}
	if section != "" {
		st.Section = []byte(section)
	}
	return woocommerce.Type.Open([]string{testSecret}, st)
}

func TestType_APISettings(t *testing.T) {
	for _, tc := range []struct{ name, section, want string }{
		{"NoURL", `{"api":{"consumer_key":"ck_1","consumer_secret":"cs_1"}}`, "api.url: missing"},
		{"NoKey", `{"api":{"url":"https://shop.example.com","consumer_secret":"cs_1"}}`, "api.consumer_key: missing"},
		{"NoSecret", `{"api":{"url":"https://shop.example.com","consumer_key":"ck_1"}}`, "api.consumer_secret: missing"},
		{"UnknownKey", `{"api":{"url":"https://shop.example.com","consumer_key":"ck_1","consumer_secret":"cs_1","per_pag":5}}`, "api.per_pag: is not a WooCommerce api setting"},
		{"UnknownTopKey", `{"shop_domain":"x"}`, "shop_domain: is not a WooCommerce source setting"},
		{"NotABlock", `{"api":"https://shop.example.com"}`, "api: must be a block of settings"},
		{"PlainHTTP", `{"api":{"url":"http://shop.example.com","consumer_key":"ck_1","consumer_secret":"cs_1"}}`, "api.url: uses http to shop.example.com"},
		{"URLWithQuery", `{"api":{"url":"https://shop.example.com/?rest_route=/wc/v3","consumer_key":"ck_1","consumer_secret":"cs_1"}}`, "api.url: must be the store's site URL"},
		{"ReconcileTooOften", `{"api":{"url":"https://shop.example.com","consumer_key":"ck_1","consumer_secret":"cs_1","reconcile_interval":"10s"}}`, "api.reconcile_interval: is 10s"},
		{"ReconcileNotADuration", `{"api":{"url":"https://shop.example.com","consumer_key":"ck_1","consumer_secret":"cs_1","reconcile_interval":"daily"}}`, "api.reconcile_interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(tc.section)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "cs_1") {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		src, err := open(`{"api":{"url":"https://shop.example.com/wp-json/","consumer_key":"ck_1","consumer_secret":"cs_1"}}`)
		if err != nil {
			t.Fatal(err)
		}
		l := src.(synclayer.SourceReconciler)
		if l.ReconcileInterval() != 24*time.Hour || len(l.ListKinds()) != 3 {
			t.Errorf("ReconcileInterval %s, ListKinds %v", l.ReconcileInterval(), l.ListKinds())
		}
		if _, ok := src.(synclayer.HookRegistrar); !ok {
			t.Error("not a HookRegistrar")
		}
	})
	t.Run("ReconcileOff", func(t *testing.T) {
		src, err := open(`{"api":{"url":"https://shop.example.com","consumer_key":"ck_1","consumer_secret":"cs_1","reconcile_interval":"off"}}`)
		if err != nil || src.(synclayer.SourceReconciler).ReconcileInterval() != 0 {
			t.Errorf("off: %v", err)
		}
	})
	t.Run("NoAPI", func(t *testing.T) {
		src, err := open("")
		if err != nil || src.(synclayer.Lister).ListKinds() != nil {
			t.Errorf("no api block: %v", err)
		}
	})
	t.Run("SecretKeys", func(t *testing.T) {
		if got := woocommerce.Type.SecretKeys; len(got) != 2 || got[0] != "api.consumer_key" || got[1] != "api.consumer_secret" {
			t.Errorf("SecretKeys %v", got)
		}
	})
}
