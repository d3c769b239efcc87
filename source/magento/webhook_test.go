package magento_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/magento"
	"synclayer/source/magento/magentosim"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)

func newSource(t testing.TB, s magento.Settings) *magento.Source {
	t.Helper()
	if s.WebhookPublicKey == "" && s.WebhookPublicKeyFile == "" {
		s.WebhookPublicKey = magentosim.TestPublicKey
	}
	if s.APIURL == "" && s.AccessToken == "" && s.OAuth == nil {
		s.APIURL, s.AccessToken = "https://shop.example.com", "t"
	}
	src, err := magento.New("magento", []string{"unused"}, s, magento.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSource_Parse runs each case under testdata: every body*.json is a
// delivery, signed with magentosim's test key unless the case is about
// the signature, and its result is compared with want*.json.
func TestSource_Parse(t *testing.T) {
	src := newSource(t, magento.Settings{})
	headers := map[string]func(body []byte) http.Header{
		"bad-signature": func(body []byte) http.Header {
			return magentosim.Headers(append(bytes.Clone(body), ' '))
		},
		"missing-signature": func([]byte) http.Header { return http.Header{"Content-Type": {"application/json"}} },
	}
	dirs, _ := os.ReadDir("testdata")
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "fuzz" || d.Name() == "carts" { // carts are listed, not posted: cart_test.go
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			bodies, _ := filepath.Glob(filepath.Join("testdata", d.Name(), "body*.json"))
			sort.Strings(bodies)
			if len(bodies) == 0 {
				t.Fatal("no body.json")
			}
			for _, path := range bodies {
				body := sourcetest.MustRead(t, path)
				h := magentosim.Headers(body)
				if f := headers[d.Name()]; f != nil {
					h = f(body)
				}
				events, err := src.Parse(h, body, now)
				for _, e := range events {
					if !bytes.Equal(e.Payload, body) {
						t.Errorf("%s: Payload is not the raw body", path)
					}
					sourcetest.CheckCommerce(t, e)
				}
				want := strings.Replace(filepath.Base(path), "body", "want", 1)
				sourcetest.CheckGolden(t, filepath.Join(filepath.Dir(path), want), events, err, *update)
			}
		})
	}
}

// TestSource_Redelivered: the same delivery twice is one event (one dedupe
// key), and a listed copy of the record has that key too.
func TestSource_Redelivered(t *testing.T) {
	src := newSource(t, magento.Settings{})
	var keys []string
	for _, f := range []string{"body.json", "body-2.json"} {
		body := sourcetest.MustRead(t, filepath.Join("testdata", "customer-redelivered", f))
		evs, err := src.Parse(magentosim.Headers(body), body, now.Add(time.Minute))
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", f, evs, err)
		}
		keys = append(keys, evs[0].DedupeKey)
	}
	if keys[0] != keys[1] || keys[0] != "magento:customer:41:2026-11-20T10:15:00Z" {
		t.Errorf("dedupe keys %q, want one magento:customer:41:2026-11-20T10:15:00Z", keys)
	}
}

// TestSource_OptedOutStaysOut: an unsubscribe (newsletter status 3) and
// an older customer save that still says subscribed, in either order,
// leave the contact opted out: the consent dates decide, not arrival.
func TestSource_OptedOutStaysOut(t *testing.T) {
	src := newSource(t, magento.Settings{})
	var events []*synclayer.Event
	for _, f := range []string{"body.json", "body-2.json"} {
		body := sourcetest.MustRead(t, filepath.Join("testdata", "customer-opted-out-stale-update", f))
		evs, err := src.Parse(magentosim.Headers(body), body, now)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs[0])
	}
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		var c synclayer.Contact
		for _, i := range order {
			synclayer.Merge(&c, events[i].Customer, synclayer.MergeContext{Source: "magento", At: events[i].OccurredAt})
		}
		if c.EmailConsent.State != synclayer.ConsentUnsubscribed {
			t.Errorf("order %v: consent %+v, want unsubscribed", order, c.EmailConsent)
		}
	}
}

func TestSource_Signature(t *testing.T) {
	src := newSource(t, magento.Settings{})
	body := magentosim.Webhook("observer.customer_save_after", "customer", map[string]any{"entity_id": 1, "email": "a@example.com", "updated_at": "2026-01-01 00:00:00"})
	for name, h := range map[string]http.Header{
		"not base64": {magento.SignatureHeader: {"%%%"}},
		"other body": magentosim.Headers([]byte(`{}`)),
		"lower-case": {strings.ToLower(magento.SignatureHeader): {magentosim.Sign(body)}},
	} {
		_, err := src.Parse(h, body, now)
		if name == "lower-case" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if e := sourcetest.AsError(t, err); e.Code != synclayer.EUNAUTHORIZED || e.Field != magento.SignatureHeader {
			t.Errorf("%s: %#v, want EUNAUTHORIZED on the signature header", name, e)
		}
	}
	noKey, err := magento.New("m", nil, magento.Settings{APIURL: "https://shop.example.com", AccessToken: "t"}, magento.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noKey.Parse(magentosim.Headers(body), body, now); sourcetest.AsError(t, err).Code != synclayer.EUNAUTHORIZED {
		t.Errorf("no key configured: %v, want EUNAUTHORIZED", err)
	}
}

// FuzzParse signs whatever body it is given, so every input reaches the
// parsers: a signed delivery gives one complete event or an EINVALID
// error naming a field, never a panic.
func FuzzParse(f *testing.F) {
	dirs, _ := os.ReadDir("testdata")
	for _, d := range dirs {
		bodies, _ := filepath.Glob(filepath.Join("testdata", d.Name(), "body*.json"))
		for _, b := range bodies {
			if body, err := os.ReadFile(b); err == nil {
				f.Add(body)
			}
		}
	}
	f.Add([]byte(`{"eventName":"observer.newsletter_subscriber_save_after","data":{"subscriber":{"subscriber_status":1,"customer_id":0,"subscriber_email":"a@b.co","change_status_at":"2026-01-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"eventName":"observer.sales_order_save_after","data":{"data_object":{"entity_id":1,"updated_at":"2026-01-01 00:00:00","grand_total":1,"items":[{"qty_ordered":"1.5"}]}}}`))
	src := newSource(f, magento.Settings{})
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := src.Parse(magentosim.Headers(body), body, now)
		sourcetest.CheckFuzzResult(t, events, err)
	})
}

// generatedKey makes a key pair for one test: its private key in PEM
// (PKCS #8) and its public key as Adobe Commerce shows it.
func generatedKey(t *testing.T) (private, public string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// TestSource_SignatureReadings: with a key pair made here, a signature
// over the body in base64 (what the webhooks module's openssl_sign signs)
// and one over the body itself (the documentation's prose) both verify;
// a signature by another key, or over a body changed after signing, in
// either reading, is EUNAUTHORIZED on the signature header. A key kept in
// previous_secrets still verifies while a regenerated pair rolls out.
func TestSource_SignatureReadings(t *testing.T) {
	priv, pub := generatedKey(t)
	src := newSource(t, magento.Settings{WebhookPublicKey: pub})
	body := magentosim.Webhook("observer.customer_save_after", "customer", map[string]any{"entity_id": 7, "email": "sig@example.com", "updated_at": "2026-01-01 00:00:00"})
	tampered := bytes.Replace(body, []byte("sig@example.com"), []byte("evil@example.com"), 1)
	b64 := func(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }
	for _, tc := range []struct {
		name string
		sig  string
		body []byte
		ok   bool
	}{
		{"base64 of the body", magentosim.SignWith(priv, b64(body)), body, true},
		{"the body itself", magentosim.SignWith(priv, body), body, true},
		{"base64, tampered body", magentosim.SignWith(priv, b64(body)), tampered, false},
		{"raw, tampered body", magentosim.SignWith(priv, body), tampered, false},
		{"another key, base64", magentosim.Sign(body), body, false},
		{"another key, raw", magentosim.SignRaw(body), body, false},
		{"signature of the base64 given for the raw body's", magentosim.SignWith(priv, b64(b64(body))), body, false},
	} {
		h := http.Header{}
		h.Set(magento.SignatureHeader, tc.sig)
		evs, err := src.Parse(h, tc.body, now)
		if tc.ok {
			if err != nil || len(evs) != 1 {
				t.Errorf("%s: %v %v, want one event", tc.name, evs, err)
			}
			continue
		}
		if e := sourcetest.AsError(t, err); e.Code != synclayer.EUNAUTHORIZED || e.Field != magento.SignatureHeader {
			t.Errorf("%s: %#v, want EUNAUTHORIZED on the signature header", tc.name, e)
		}
	}

	// The store regenerated its key pair: the new key is
	// webhook_public_key, the old one a previous secret; both verify.
	newPriv, newPub := generatedKey(t)
	rolled, err := magento.New("magento", []string{pub}, magento.Settings{WebhookPublicKey: newPub, APIURL: "https://shop.example.com", AccessToken: "t"}, magento.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string]string{"old key": magentosim.SignWith(priv, b64(body)), "new key": magentosim.SignWith(newPriv, b64(body))} {
		h := http.Header{magento.SignatureHeader: {sig}}
		if _, err := rolled.Parse(h, body, now); err != nil {
			t.Errorf("%s while rolling out a regenerated pair: %v", name, err)
		}
	}
	if _, err := src.Parse(http.Header{magento.SignatureHeader: {magentosim.SignWith(newPriv, b64(body))}}, body, now); err == nil {
		t.Error("a signature by the regenerated key verified with only the old key configured")
	}
}
