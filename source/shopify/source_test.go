package shopify_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "shpss_test_client_secret"
	oldSecret  = "shpss_old_client_secret"
)

var now = time.Date(2024, 10, 2, 15, 0, 0, 0, time.UTC)

func TestSource_Parse(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []string // configured; nil means {testSecret}
		sign     string   // secret to sign with; "" leaves the headers file as it is
		signBody string   // sign this body instead of the delivered one
		header   string   // signature header; default X-Shopify-Hmac-Sha256
		raw      bool     // keep header names as written instead of canonicalizing them
		edit     func(http.Header)
	}{
		{name: "official-vector", secrets: []string{"test_secret_key"}},
		{name: "customers-create-2024-10", sign: testSecret},
		{name: "customers-update-2024-10", sign: testSecret},
		{name: "customers-enable-2021-07", sign: testSecret},
		{name: "customers-disable-2022-01", sign: testSecret},
		{name: "customers-update-2025-01", sign: testSecret},
		{name: "customers-update-unstable", sign: testSecret},
		{name: "customers-delete", sign: testSecret},
		{name: "customers-delete-no-trigger-time", sign: testSecret},
		{name: "email-consent-update", sign: testSecret},
		{name: "sms-consent-update", sign: testSecret},
		{name: "events-headers", sign: testSecret, header: "shopify-hmac-sha256", raw: true},
		{name: "lowercase-headers", sign: testSecret, header: "x-shopify-hmac-sha256", raw: true},
		{name: "event-id-fallback", sign: testSecret},
		{name: "no-identity", sign: testSecret},
		{name: "orders-create", sign: testSecret},
		{name: "orders-updated-with-refund", sign: testSecret},
		{name: "orders-cancelled", sign: testSecret},
		{name: "orders-paid-guest", sign: testSecret},
		{name: "refunds-create", sign: testSecret},
		{name: "products-update", sign: testSecret},
		{name: "products-delete", sign: testSecret},
		{name: "checkouts-create", sign: testSecret},
		{name: "checkouts-update-completed", sign: testSecret},
		{name: "orders-create-from-checkout", sign: testSecret},

		{name: "no-secret", secrets: []string{"", "  "}, sign: testSecret},
		{name: "missing-signature"},
		{name: "bad-signature", edit: func(h http.Header) {
			h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
		}},
		{name: "other-body-signature", sign: testSecret, signBody: `{"id": 9, "email": "someone-else@example.com"}`},
		{name: "not-base64-signature", edit: func(h http.Header) { h.Set("X-Shopify-Hmac-Sha256", "not base64!") }},
		{name: "rotation-old-secret", secrets: []string{testSecret, oldSecret}, sign: oldSecret},
		{name: "rotation-new-secret", secrets: []string{testSecret, oldSecret}, sign: testSecret},

		{name: "missing-webhook-id", sign: testSecret},
		{name: "missing-shop-domain", sign: testSecret},
		{name: "missing-api-version", sign: testSecret},
		{name: "bad-api-version", sign: testSecret},
		{name: "missing-topic", sign: testSecret},
		{name: "unknown-topic", sign: testSecret},
		{name: "malformed-json", sign: testSecret},
		{name: "not-an-object", sign: testSecret},
		{name: "wrong-type-email", sign: testSecret},
		{name: "wrong-type-id", sign: testSecret},
		{name: "wrong-type-orders-count", sign: testSecret},
		{name: "wrong-type-total-spent", sign: testSecret},
		{name: "wrong-type-consent", sign: testSecret},
		{name: "unknown-consent-state", sign: testSecret},
		{name: "wrong-type-accepts-marketing", sign: testSecret},
		{name: "bad-updated-at", sign: testSecret},
		{name: "bad-triggered-at", sign: testSecret},
		{name: "delete-without-id", sign: testSecret},
		{name: "consent-topic-without-consent", sign: testSecret},
		{name: "order-without-total", sign: testSecret},
		{name: "order-wrong-type-line-price", sign: testSecret},
		{name: "order-bad-updated-at", sign: testSecret},
		{name: "refund-without-order-id", sign: testSecret},
		{name: "product-without-id", sign: testSecret},
		{name: "checkout-without-token", sign: testSecret},
		{name: "checkout-wrong-type-total", sign: testSecret},
		{name: "checkout-wrong-type-line-quantity", sign: testSecret},
		{name: "checkout-negative-line-price", sign: testSecret},
		{name: "checkout-token-too-long", sign: testSecret},
		{name: "checkout-currency-too-long", sign: testSecret},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", tt.name)
			body := sourcetest.MustRead(t, filepath.Join(dir, "body.json"))
			h := sourcetest.MustReadHeaders(t, filepath.Join(dir, "headers"), tt.raw)
			if tt.sign != "" {
				signed := body
				if tt.signBody != "" {
					signed = []byte(tt.signBody)
				}
				name := tt.header
				if name == "" {
					name = "X-Shopify-Hmac-Sha256"
				}
				h[name] = []string{sign(tt.sign, signed)}
			}
			if tt.edit != nil {
				tt.edit(h)
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{testSecret}
			}
			events, err := shopify.New(shopify.Config{Secrets: secrets}).Parse(h, body, now)
			for _, e := range events {
				if !bytes.Equal(e.Payload, body) {
					t.Errorf("Payload is not the raw body")
				}
			}
			sourcetest.CheckGolden(t, filepath.Join(dir, "want.json"), events, err, *update)
		})
	}
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if e.IsDir() && e.Name() != "fuzz" && e.Name() != "admin-graphql" && !seen[e.Name()] {
			t.Errorf("testdata/%s has no test case", e.Name())
		}
	}
}

// TestSource_OfficialVector checks Shopify's own test vector: the signature
// verifies (so the error is about the products/create payload, which has
// no product id, not the signature), and one changed byte does not.
func TestSource_OfficialVector(t *testing.T) {
	src := shopify.New(shopify.Config{Secrets: []string{"test_secret_key"}})
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")
	h.Set("X-Shopify-Topic", "products/create")
	h.Set("X-Shopify-Shop-Domain", "shop1.myshopify.io")
	h.Set("X-Shopify-API-Version", "2023-01")
	h.Set("X-Shopify-Webhook-Id", "123456789")

	_, err := src.Parse(h, []byte(`{"foo": "bar"}`), now)
	if e := sourcetest.AsError(t, err); e.Code != synclayer.EINVALID || e.Field != "id" {
		t.Errorf("vector: error = %#v, want EINVALID on id", e)
	}
	_, err = src.Parse(h, []byte(`{"foo":"bar"}`), now)
	if e := sourcetest.AsError(t, err); e.Code != synclayer.EUNAUTHORIZED || e.Field != "X-Shopify-Hmac-Sha256" {
		t.Errorf("changed body: error = %#v, want EUNAUTHORIZED on X-Shopify-Hmac-Sha256", e)
	}
}

func TestSource_Name(t *testing.T) {
	var src synclayer.Source = shopify.New(shopify.Config{})
	if src.Name() != "shopify" {
		t.Errorf("Name() = %q", src.Name())
	}
}

// FuzzParse signs whatever body it is given, so every input reaches the
// payload parser. A signed delivery must give an event or an *Error, never a
// panic, and every field value must be valid JSON.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add("customers/update", "2024-10", body)
		}
	}
	f.Add("customers/delete", "2024-10", []byte(`{"id":1}`))
	f.Add("customers_email_marketing_consent/update", "2024-10", []byte(`{"customer_id":1,"email_marketing_consent":{"state":"subscribed"}}`))
	f.Add("customers_marketing_consent/update", "2024-10", []byte(`{"id":"1","sms_marketing_consent":{"state":"redacted","consent_updated_at":"2024-01-01T00:00:00"}}`))
	f.Add("customers/create", "2021-07", []byte(`{"id":1,"accepts_marketing":true,"accepts_marketing_updated_at":null}`))
	for _, c := range []struct{ topic, dir string }{
		{"orders/create", "orders-create"}, {"orders/updated", "orders-updated-with-refund"}, {"orders/cancelled", "orders-cancelled"},
		{"orders/paid", "orders-paid-guest"}, {"refunds/create", "refunds-create"}, {"products/update", "products-update"},
		{"products/delete", "products-delete"}, {"checkouts/create", "checkouts-create"},
		{"checkouts/update", "checkouts-update-completed"}, {"checkouts/update", "checkout-wrong-type-line-quantity"},
		{"orders/create", "orders-create-from-checkout"},
	} {
		if body, err := os.ReadFile(filepath.Join("testdata", c.dir, "body.json")); err == nil {
			f.Add(c.topic, "2024-10", body)
		}
	}
	f.Add("orders/fulfilled", "2024-10", []byte(`{"id":1,"total_price":"1e3","line_items":[{"id":2,"quantity":"4"}],"refunds":[{"id":3,"transactions":[{"kind":"refund","amount":"-2"}]}]}`))
	f.Add("checkouts/update", "2024-10", []byte(`{"token":7,"total_price":"-1","completed_at":"","line_items":[{"product_id":"1","quantity":-3}],"customer":{"id":null}}`))
	src := shopify.New(shopify.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, topic, version string, body []byte) {
		h := http.Header{}
		h.Set("X-Shopify-Topic", topic)
		h.Set("X-Shopify-API-Version", version)
		h.Set("X-Shopify-Shop-Domain", "fuzz.myshopify.com")
		h.Set("X-Shopify-Webhook-Id", "w1")
		if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unsigned delivery: error %v, want EUNAUTHORIZED", err)
		}
		h.Set("X-Shopify-Hmac-Sha256", sign(testSecret, body))
		events, err := src.Parse(h, body, now)
		sourcetest.CheckFuzzResult(t, events, err)
	})
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestSource_ShopDomain: with shop_domain set, a webhook signed with the
// app's secret but from another shop is refused as forbidden, naming the
// header; the configured shop's (in any case) is taken. Without it every
// shop the app signs for is taken.
func TestSource_ShopDomain(t *testing.T) {
	body := []byte(`{"id": 1, "email": "a@example.com", "updated_at": "2024-10-02T14:00:00Z"}`)
	headers := func(shop string) http.Header {
		h := http.Header{}
		h.Set("X-Shopify-Topic", "customers/create")
		h.Set("X-Shopify-Hmac-Sha256", sign(testSecret, body))
		h.Set("X-Shopify-Shop-Domain", shop)
		h.Set("X-Shopify-API-Version", "2024-10")
		h.Set("X-Shopify-Webhook-Id", "w1")
		return h
	}
	src, err := shopify.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: []byte(`{"shop_domain": "eu-shop.myshopify.com"}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Parse(headers("us-shop.myshopify.com"), body, now)
	if synclayer.ErrorCode(err) != synclayer.EFORBIDDEN || !strings.Contains(err.Error(), "X-Shopify-Shop-Domain") {
		t.Errorf("another shop's webhook: %v, want forbidden naming X-Shopify-Shop-Domain", err)
	}
	if evs, err := src.Parse(headers("EU-Shop.myshopify.com"), body, now); err != nil || len(evs) != 1 {
		t.Errorf("the shop's own webhook: %v, %v", evs, err)
	}
	any, _ := shopify.Type.Open([]string{testSecret}, synclayer.SourceSettings{})
	if _, err := any.Parse(headers("us-shop.myshopify.com"), body, now); err != nil {
		t.Errorf("without shop_domain: %v", err)
	}
	for section, want := range map[string]string{
		`{"shop_domain": "https://eu-shop.myshopify.com"}`: "shop_domain",
		`{"shop_domian": "eu-shop.myshopify.com"}`:         "shop_domian",
	} {
		_, err := shopify.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: []byte(section)})
		var se *synclayer.Error
		if !errors.As(err, &se) || se.Field != want {
			t.Errorf("settings %s: %v, want an error at %s", section, err, want)
		}
	}
}
