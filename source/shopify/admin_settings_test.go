package shopify_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"synclayer"
	"synclayer/source/shopify"
)

// TestType_OpenAdmin: a block with admin: opens a source that also writes
// consent; without it the source is the webhook parser only, so the
// program never schedules write-back jobs for a shop it cannot call.
func TestType_OpenAdmin(t *testing.T) {
	plain := mustOpenSource(t, `{"shop_domain": "demo.myshopify.com"}`)
	if _, ok := plain.(synclayer.ConsentWriter); ok {
		t.Errorf("without admin: %T is a ConsentWriter", plain)
	}
	if _, ok := plain.(*shopify.Source); !ok {
		t.Errorf("without admin: %T, want *shopify.Source", plain)
	}
	withAdmin := mustOpenSource(t, `{"shop_domain": "demo.myshopify.com", "admin": {"shop": "Demo.myshopify.com", "access_token": "shpat_x"}}`)
	cw, ok := withAdmin.(synclayer.ConsentWriter)
	if !ok {
		t.Fatalf("with admin: %T is not a ConsentWriter", withAdmin)
	}
	if cw.Name() != "shopify" {
		t.Errorf("Name() = %q", cw.Name())
	}
}

func TestAdminSettings_Errors(t *testing.T) {
	const token = "shpat_secret_value_0123456789"
	for _, tt := range []struct {
		name, section, field, mention string
	}{
		{"MissingShop", `{"admin": {"access_token": "` + token + `"}}`, "admin.shop", "myshopify.com"},
		{"ShopWithScheme", `{"admin": {"shop": "https://demo.myshopify.com", "access_token": "` + token + `"}}`, "admin.shop", "no scheme"},
		{"ShopsOwnDomain", `{"admin": {"shop": "shop.example.com", "access_token": "` + token + `"}}`, "admin.shop", "myshopify.com"},
		{"MissingToken", `{"admin": {"shop": "demo.myshopify.com"}}`, "admin.access_token", "write_customers"},
		{"TokenWithSpace", `{"admin": {"shop": "demo.myshopify.com", "access_token": "shpat_a b"}}`, "admin.access_token", "white space"},
		{"BadVersion", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "api_version": "2025-11"}}`, "admin.api_version", "2025-10"},
		{"BaseURLNotAURL", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "base_url": "localhost:8080"}}`, "admin.base_url", "absolute"},
		{"PlainHTTPToAnotherHost", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "base_url": "http://shopify-proxy.internal"}}`, "admin.base_url", "unencrypted"},
		{"UnknownKey", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "token": "x"}}`, "admin.token", "access_token"},
		{"WrongType", `{"admin": {"shop": "demo.myshopify.com", "access_token": 12}}`, "admin.access_token", "string"},
		{"NotABlock", `{"admin": "demo.myshopify.com"}`, "admin", "block of settings"},
		{"BulkThresholdZero", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "bulk_threshold": 0}}`, "admin.bulk_threshold", "from 1 to 10000"},
		{"BulkThresholdPastPaging", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "bulk_threshold": 30000}}`, "admin.bulk_threshold", "to 10000"},
		{"BulkThresholdNotANumber", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "bulk_threshold": "many"}}`, "admin.bulk_threshold", "int"},
		{"ReconcileTooOften", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "reconcile_interval": "10s"}}`, "admin.reconcile_interval", "at least 1m"},
		{"ReconcileNotADuration", `{"admin": {"shop": "demo.myshopify.com", "access_token": "` + token + `", "reconcile_interval": "daily"}}`, "admin.reconcile_interval", "1h"},
		{"OtherShopThanShopDomain", `{"shop_domain": "eu.myshopify.com", "admin": {"shop": "us.myshopify.com", "access_token": "` + token + `"}}`, "admin.shop", "shop_domain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := shopify.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: json.RawMessage(tt.section)})
			var found *synclayer.Error
			for _, e := range flatten(err) {
				var se *synclayer.Error
				if errors.As(e, &se) && se.Field == tt.field {
					found = se
				}
			}
			if found == nil {
				t.Fatalf("%s: %v, want an error at %s", tt.section, err, tt.field)
			}
			if !strings.Contains(found.Message, tt.mention) {
				t.Errorf("%s: %q does not say %q", tt.field, found.Message, tt.mention)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error quotes the access token: %v", err)
			}
		})
	}
}

// TestAdminSettings_Endpoint: the endpoint is the shop's unless base_url
// says otherwise, as a prefix (the simulator's mount) or a whole URL.
func TestAdminSettings_Endpoint(t *testing.T) {
	for _, tt := range []struct{ admin, want string }{
		{`{"shop": "demo.myshopify.com", "access_token": "t"}`, "https://demo.myshopify.com/admin/api/" + shopify.DefaultAPIVersion + "/graphql.json"},
		{`{"shop": "demo.myshopify.com", "access_token": "t", "api_version": "2024-10"}`, "https://demo.myshopify.com/admin/api/2024-10/graphql.json"},
		{`{"shop": "demo.myshopify.com", "access_token": "t", "base_url": "http://127.0.0.1:8080/simulator/shopify/"}`, "http://127.0.0.1:8080/simulator/shopify/admin/api/" + shopify.DefaultAPIVersion + "/graphql.json"},
		{`{"shop": "demo.myshopify.com", "access_token": "t", "base_url": "https://proxy.example.com/x/graphql.json"}`, "https://proxy.example.com/x/graphql.json"},
	} {
		var a shopify.AdminSettings
		if err := json.Unmarshal([]byte(tt.admin), &a); err != nil {
			t.Fatal(err)
		}
		cfg, err := a.AdminConfig()
		if err != nil || cfg.Endpoint != tt.want {
			t.Errorf("%s: endpoint %q, %v; want %q", tt.admin, cfg.Endpoint, err, tt.want)
		}
	}
}

// flatten returns the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
