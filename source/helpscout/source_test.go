package helpscout_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/helpscout"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "hs-test-secret-key"
	oldSecret  = "hs-old-secret-key"
)

var now = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func TestSource_Parse(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string // configured; nil means {testSecret}
		sign    string   // secret to sign with; "" leaves the headers as they are
		header  string   // the signature header's name as sent; "" is the canonical one
		edit    func(http.Header, []byte)
	}{
		{name: "convo-created", sign: testSecret},
		{name: "convo-customer-reply", sign: testSecret},
		{name: "convo-agent-reply", sign: testSecret},
		{name: "convo-status-closed", sign: testSecret},
		{name: "convo-note-created", sign: testSecret},
		{name: "convo-assigned", sign: testSecret},
		{name: "convo-tags", sign: testSecret},
		{name: "convo-spam", sign: testSecret},
		{name: "convo-v1-customer", sign: testSecret},
		{name: "convo-no-customer", sign: testSecret},
		{name: "convo-deleted", sign: testSecret},
		{name: "customer-created", sign: testSecret},
		{name: "unknown-event", sign: testSecret},
		{name: "rotation-old-secret", secrets: []string{testSecret, oldSecret}, sign: oldSecret},
		{name: "lowercase-headers", sign: testSecret, header: "x-helpscout-signature"},

		{name: "missing-signature"},
		{name: "bad-signature", sign: "another-secret"},
		{name: "signature-hex", edit: func(h http.Header, body []byte) {
			mac := hmac.New(sha1.New, []byte(testSecret))
			mac.Write(body)
			h.Set("X-HelpScout-Signature", hex.EncodeToString(mac.Sum(nil)))
		}},

		{name: "missing-event", sign: testSecret},
		{name: "unknown-status", sign: testSecret},
		{name: "id-object", sign: testSecret},
		{name: "tags-wrong-type", sign: testSecret},
		{name: "created-at-garbage", sign: testSecret},
		{name: "no-times", sign: testSecret},
		{name: "threads-not-array", sign: testSecret},
		{name: "malformed-json", sign: testSecret},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", tt.name)
			body := sourcetest.MustRead(t, filepath.Join(dir, "body.json"))
			h := sourcetest.MustReadHeaders(t, filepath.Join(dir, "headers"), tt.header != "")
			if tt.sign != "" {
				name := tt.header
				if name == "" {
					name = "X-HelpScout-Signature"
				}
				h[name] = []string{sign(tt.sign, body)}
			}
			if tt.edit != nil {
				tt.edit(h, body)
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{testSecret}
			}
			events, err := helpscout.New(helpscout.Config{Secrets: secrets}).Parse(h, body, now)
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

// TestSource_Vector checks the scheme Help Scout documents,
// base64(HMAC-SHA1(secret, body)), on vectors computed independently with
// Python's hmac: Help Scout publishes none (docs/platforms/helpscout.md).
// The second uses the secret of Help Scout's create-webhook example.
func TestSource_Vector(t *testing.T) {
	const body = `{"id":2391938111,"number":349,"status":"active","subject":"Cancel","createdAt":"2026-11-20T09:00:00Z","primaryCustomer":{"id":235411,"email":"eve@example.com"}}`
	for _, v := range []struct{ secret, want string }{
		{"helpscout-secret-key-for-tests", "sABQvvjo7s5me902t53Hf57Vgz8="},
		{"mZ9XbGHodX", "6rrivODpo2kj2JLROwzmIMAunmA="},
	} {
		if got := sign(v.secret, []byte(body)); got != v.want {
			t.Fatalf("sign = %s, want %s", got, v.want)
		}
		h := http.Header{}
		h.Set("X-HelpScout-Signature", v.want)
		h.Set("X-HelpScout-Event", "convo.created")
		events, err := helpscout.New(helpscout.Config{Secrets: []string{v.secret}}).Parse(h, []byte(body), now)
		if err != nil || len(events) != 1 || events[0].Ticket.SourceID != "2391938111" {
			t.Fatalf("Parse = %v, %v", events, err)
		}
		if _, err := helpscout.New(helpscout.Config{Secrets: []string{"other"}}).Parse(h, []byte(body), now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("another secret: %v, want EUNAUTHORIZED", err)
		}
	}
}

func TestStatus(t *testing.T) {
	for in, want := range map[string]string{"active": "open", "Active": "open", "pending": "pending", "closed": "solved", "spam": "closed"} {
		if got, err := helpscout.Status(in); err != nil || got != want {
			t.Errorf("Status(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := helpscout.Status("archived"); err == nil {
		t.Error("Status(archived): no error")
	}
}

// FuzzParse signs whatever body it is given, so every input reaches the
// parser: a signed delivery gives events or an *Error, never a panic.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add(body, "convo.created")
		}
	}
	f.Add([]byte(`{"id":1}`), "convo.customer.reply.created")
	src := helpscout.New(helpscout.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		h := http.Header{}
		h.Set("X-HelpScout-Event", event)
		if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unsigned delivery: error %v, want EUNAUTHORIZED", err)
		}
		h.Set("X-HelpScout-Signature", sign(testSecret, body))
		events, err := src.Parse(h, body, now)
		if err == nil && len(events) == 0 {
			return // an event the source acknowledges and ignores
		}
		sourcetest.CheckFuzzResult(t, events, err)
		for _, e := range events {
			if e.Ticket == nil || e.Ticket.SourceID == "" || e.Ticket.Updated.IsZero() || e.DedupeKey == "" {
				t.Fatalf("event without a ticket id, update time or dedupe key: %+v", e)
			}
		}
	})
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
