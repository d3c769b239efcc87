package stripe_test

import (
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"synclayer"
	"synclayer/source/sourcetest"
	"synclayer/source/stripe"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "whsec_test_endpoint_secret"
	oldSecret  = "whsec_old_endpoint_secret"
)

// now dates the events' arrival in the golden files; the signatures are
// made at the real time, since stripe-go checks the tolerance against
// its own clock.
var now = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func signed(secret string, body []byte, at time.Time) http.Header {
	h := http.Header{}
	sig := webhook.ComputeSignature(at, body, secret)
	h.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(sig)))
	return h
}

func TestSource_Parse(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string // configured; nil means {testSecret}
		sign    string   // secret to sign with; "" sends no signature
		age     time.Duration
	}{
		{name: "customer-created", sign: testSecret},
		{name: "subscription-created-2023", sign: testSecret},
		{name: "subscription-updated-basil", sign: testSecret},
		{name: "subscription-deleted", sign: testSecret},
		{name: "subscription-jpy-weekly", sign: testSecret},
		{name: "invoice-payment-failed-basil", sign: testSecret},
		{name: "invoice-paid-2023", sign: testSecret},
		{name: "payment-intent-failed", sign: testSecret},
		{name: "payment-intent-of-invoice", sign: testSecret},
		{name: "charge-refunded", sign: testSecret},
		{name: "other-type", sign: testSecret},
		{name: "rotation-old-secret", secrets: []string{testSecret, oldSecret}, sign: oldSecret},

		{name: "missing-signature"},
		{name: "wrong-secret", sign: "whsec_someone_else"},
		{name: "stale-timestamp", sign: testSecret, age: time.Hour},

		{name: "missing-id", sign: testSecret},
		{name: "subscription-bad-status", sign: testSecret},
		{name: "subscription-missing-customer", sign: testSecret},
		{name: "invoice-amount-string", sign: testSecret},
		{name: "malformed-json", sign: testSecret},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", tt.name)
			body := sourcetest.MustRead(t, filepath.Join(dir, "body.json"))
			h := http.Header{}
			if tt.sign != "" {
				h = signed(tt.sign, body, time.Now().Add(-tt.age))
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{testSecret}
			}
			events, err := stripe.New(stripe.Config{Secrets: secrets}).Parse(h, body, now)
			sourcetest.CheckGolden(t, filepath.Join(dir, "want.json"), events, err, *update)
		})
	}
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if e.IsDir() && !seen[e.Name()] && e.Name() != "fuzz" {
			t.Errorf("testdata/%s has no test case", e.Name())
		}
	}
}

// TestSource_Vector pins Stripe's scheme (v1 = hex HMAC-SHA256 of
// "<t>.<body>" keyed with the endpoint secret) with a vector computed
// independently with Python's hmac, so the library and the docs agree.
func TestSource_Vector(t *testing.T) {
	got := hex.EncodeToString(webhook.ComputeSignature(time.Unix(1763632800, 0), []byte(`{"id":"evt_vector"}`), "whsec_test_vector_secret"))
	if want := "b4697bfd6a7c4d34e59cad7e0035f36b7ef9b0f3101e660c3f9cceae1ebc4b42"; got != want {
		t.Fatalf("v1 = %s, want %s", got, want)
	}
}

// TestSource_APIVersions: stripe-go's ConstructEvent refuses an event of
// another API version than its own; the source verifies the signature
// only and reads both the version the library pins and an older one, so
// an account on any version works.
func TestSource_APIVersions(t *testing.T) {
	src := stripe.New(stripe.Config{Secrets: []string{testSecret}})
	for _, v := range []string{stripego.APIVersion, "2023-10-16", "2020-08-27"} {
		body := []byte(fmt.Sprintf(`{"id":"evt_v","object":"event","api_version":%q,"created":1763632800,"type":"customer.subscription.created",`+
			`"data":{"object":{"id":"sub_v","customer":"cus_v","status":"active","currency":"usd","current_period_end":1766224800,`+
			`"items":{"data":[{"quantity":1,"price":{"id":"price_v","unit_amount":1000,"currency":"usd","recurring":{"interval":"month","interval_count":1}}}]}}}}`, v))
		if _, err := webhook.ConstructEvent(body, signed(testSecret, body, time.Now()).Get("Stripe-Signature"), testSecret); (err == nil) != (v == stripego.APIVersion) {
			t.Errorf("stripe-go ConstructEvent on %s: %v (the reason the source does not use it)", v, err)
		}
		events, err := src.Parse(signed(testSecret, body, time.Now()), body, now)
		if err != nil || len(events) != 1 || events[0].Billing.Subscription.MRR.String() != "10.00" {
			t.Errorf("API version %s: %v, %v; want the subscription with MRR 10.00", v, events, err)
		}
	}
}

// FuzzParse signs whatever body it is given: a signed delivery gives
// events or an EINVALID *Error, never a panic.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add(body)
		}
	}
	src := stripe.New(stripe.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := src.Parse(http.Header{}, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unsigned delivery: %v, want EUNAUTHORIZED", err)
		}
		events, err := src.Parse(signed(testSecret, body, time.Now()), body, now)
		if err == nil && len(events) == 0 {
			return
		}
		sourcetest.CheckFuzzResult(t, events, err)
	})
}
