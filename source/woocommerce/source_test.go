package woocommerce_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/sourcetest"
	"synclayer/source/woocommerce"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "wc-test-webhook-secret"
	oldSecret  = "wc-old-webhook-secret"
)

var now = time.Date(2024, 10, 2, 15, 0, 0, 0, time.UTC)

func TestSource_Parse(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []string // configured; nil means {testSecret}
		sign     string   // secret to sign with; "" leaves the headers file as it is
		signBody string   // sign this body instead of the delivered one
		raw      bool     // keep header names as written instead of canonicalizing them
		edit     func(http.Header)
	}{
		{name: "notes-vector", secrets: []string{"my-woo-secret"}},
		{name: "customer-created", sign: testSecret},
		{name: "customer-updated", sign: testSecret},
		{name: "customer-deleted", sign: testSecret},
		{name: "lowercase-headers", sign: testSecret, raw: true},
		{name: "rotation-old-secret", secrets: []string{testSecret, oldSecret}, sign: oldSecret},
		{name: "entity-decoded-secret", secrets: []string{"s3cr&amp;t"}, sign: "s3cr&t"},
		{name: "order-created", sign: testSecret},
		{name: "order-updated-refund", sign: testSecret},
		{name: "order-deleted", sign: testSecret},
		{name: "product-updated", sign: testSecret},
		{name: "product-variation", sign: testSecret},
		{name: "product-deleted", sign: testSecret},

		{name: "ping", secrets: []string{testSecret}},
		{name: "ping-no-secret", secrets: []string{}},
		{name: "not-a-ping-with-wc-headers"},
		{name: "unsigned-form-body"},

		{name: "no-secret", secrets: []string{" "}, sign: testSecret},
		{name: "missing-signature"},
		{name: "bad-signature", edit: func(h http.Header) {
			h.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
		}},
		{name: "other-body-signature", sign: testSecret, signBody: `{"id":27,"email":"someone-else@example.com"}`},

		{name: "deleted-without-delivery-id", sign: testSecret},
		{name: "no-date-no-delivery-id", sign: testSecret},
		{name: "missing-topic", sign: testSecret},
		{name: "unknown-topic", sign: testSecret},
		{name: "malformed-json", sign: testSecret},
		{name: "missing-id", sign: testSecret},
		{name: "wrong-type-email", sign: testSecret},
		{name: "wrong-type-billing", sign: testSecret},
		{name: "wrong-type-billing-phone", sign: testSecret},
		{name: "wrong-type-id", sign: testSecret},
		{name: "bad-date-modified", sign: testSecret},
		{name: "order-missing-total", sign: testSecret},
		{name: "product-wrong-type-stock", sign: testSecret},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", tt.name)
			body := mustReadBody(t, dir)
			h := sourcetest.MustReadHeaders(t, filepath.Join(dir, "headers"), tt.raw)
			if tt.sign != "" {
				signed := body
				if tt.signBody != "" {
					signed = []byte(tt.signBody)
				}
				name := "X-WC-Webhook-Signature"
				if tt.raw {
					name = strings.ToLower(name)
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
			events, err := woocommerce.New(woocommerce.Config{Secrets: secrets}).Parse(h, body, now)
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
		if e.IsDir() && e.Name() != "fuzz" && !seen[e.Name()] {
			t.Errorf("testdata/%s has no test case", e.Name())
		}
	}
}

// TestSource_Ping checks that the unsigned ping WooCommerce sends when a
// webhook is saved gets no events and no error, so the HTTP layer answers
// 200 and WooCommerce saves the webhook.
func TestSource_Ping(t *testing.T) {
	h := http.Header{}
	h.Set("User-Agent", "WooCommerce/9.3.3 Hookshot (WordPress/6.6.2)")
	events, err := woocommerce.New(woocommerce.Config{Secrets: []string{testSecret}}).Parse(h, []byte("webhook_id=12"), now)
	if events != nil || err != nil {
		t.Fatalf("ping: Parse = %v, %v; want nil, nil", events, err)
	}
}

// TestSource_NotesVector checks the signature computed locally in the
// research notes (secret my-woo-secret).
func TestSource_NotesVector(t *testing.T) {
	if got := sign("my-woo-secret", []byte(`{"id":25,"email":"john.doe@example.com"}`)); got != "5qI3mV3Cep7v8x9RFAWF/u+1o0JnkUfZ4zCOf6FZXwo=" {
		t.Fatalf("sign = %s", got)
	}
	h := http.Header{}
	h.Set("X-WC-Webhook-Topic", "customer.updated")
	h.Set("X-WC-Webhook-Delivery-ID", "d1")
	h.Set("X-WC-Webhook-Signature", "5qI3mV3Cep7v8x9RFAWF/u+1o0JnkUfZ4zCOf6FZXwo=")
	events, err := woocommerce.New(woocommerce.Config{Secrets: []string{"my-woo-secret"}}).Parse(h, []byte(`{"id":25,"email":"john.doe@example.com"}`), now)
	if err != nil || len(events) != 1 || events[0].Customer.SourceID != "25" {
		t.Fatalf("Parse = %v, %v", events, err)
	}
}

func TestSource_Name(t *testing.T) {
	var src synclayer.Source = woocommerce.New(woocommerce.Config{})
	if src.Name() != "woocommerce" {
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
			f.Add("customer.updated", body)
		}
	}
	f.Add("customer.deleted", []byte(`{"id":25}`))
	f.Add("customer.created", []byte(`webhook_id=1`))
	for _, c := range []struct{ topic, dir string }{
		{"order.created", "order-created"}, {"order.updated", "order-updated-refund"}, {"order.deleted", "order-deleted"},
		{"product.updated", "product-updated"}, {"product.updated", "product-variation"}, {"product.deleted", "product-deleted"},
	} {
		if body, err := os.ReadFile(filepath.Join("testdata", c.dir, "body.json")); err == nil {
			f.Add(c.topic, body)
		}
	}
	src := woocommerce.New(woocommerce.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		h := http.Header{}
		h.Set("X-WC-Webhook-Topic", topic)
		h.Set("X-WC-Webhook-Delivery-ID", "d1")
		if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unsigned delivery: error %v, want EUNAUTHORIZED", err)
		}
		h.Set("X-WC-Webhook-Signature", sign(testSecret, body))
		events, err := src.Parse(h, body, now)
		sourcetest.CheckFuzzResult(t, events, err)
	})
}

func mustReadBody(tb testing.TB, dir string) []byte {
	tb.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, "body.json")); err == nil {
		return b
	}
	return sourcetest.MustRead(tb, filepath.Join(dir, "body.txt"))
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
