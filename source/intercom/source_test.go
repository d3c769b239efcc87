package intercom_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/intercom"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "ic-test-client-secret"
	oldSecret  = "ic-old-client-secret"
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
		{name: "conversation-user-created", sign: testSecret},
		{name: "conversation-user-replied", sign: testSecret},
		{name: "conversation-admin-replied", sign: testSecret},
		{name: "conversation-admin-closed", sign: testSecret},
		{name: "conversation-admin-opened", sign: testSecret},
		{name: "conversation-admin-snoozed", sign: testSecret},
		{name: "conversation-no-contact", sign: testSecret},
		{name: "ticket-created", sign: testSecret},
		{name: "ticket-state-updated", sign: testSecret},
		{name: "ping", sign: testSecret},
		{name: "contact-created", sign: testSecret},
		{name: "conversation-deleted", sign: testSecret},
		{name: "rotation-old-secret", secrets: []string{testSecret, oldSecret}, sign: oldSecret},
		{name: "lowercase-headers", sign: testSecret, header: "x-hub-signature"},

		{name: "missing-signature"},
		{name: "bad-signature", sign: "another-secret"},
		{name: "signature-sha256", edit: func(h http.Header, body []byte) {
			mac := hmac.New(sha256.New, []byte(testSecret))
			mac.Write(body)
			h.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}},

		{name: "unknown-state", sign: testSecret},
		{name: "ticket-unknown-state", sign: testSecret},
		{name: "updated-at-string", sign: testSecret},
		{name: "tags-wrong-type", sign: testSecret},
		{name: "missing-id", sign: testSecret},
		{name: "missing-updated-at", sign: testSecret},
		{name: "not-notification", sign: testSecret},
		{name: "item-array", sign: testSecret},
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
					name = "X-Hub-Signature"
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
			events, err := intercom.New(intercom.Config{Secrets: secrets}).Parse(h, body, now)
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

// TestSource_Vector checks the scheme Intercom documents, "sha1=" and the
// hex HMAC-SHA1 of the body, on vectors computed independently with
// Python's hmac (docs/platforms/intercom.md: Intercom's own example
// signature comes without its secret, so it cannot be checked).
func TestSource_Vector(t *testing.T) {
	const secret = "intercom-client-secret-for-tests"
	for _, v := range []struct{ body, want string }{
		{`{"type":"notification_event","id":"notif_1","topic":"ping","created_at":1763632801,"data":{"type":"notification_event_data","item":{"type":"ping","message":"hi"}}}`,
			"sha1=72259a49211d06d05d97e14be1b22111ba76d3af"},
		{`{"type":"notification_event","id":"notif_2","topic":"conversation.user.created","created_at":1763632801,"data":{"item":{"type":"conversation","id":"9","state":"open","updated_at":1763632800}}}`,
			"sha1=14f365a001939cfa7369333e4619933d62b2dd4a"},
	} {
		if got := sign(secret, []byte(v.body)); got != v.want {
			t.Fatalf("sign = %s, want %s", got, v.want)
		}
		h := http.Header{}
		h.Set("X-Hub-Signature", v.want)
		if _, err := intercom.New(intercom.Config{Secrets: []string{secret}}).Parse(h, []byte(v.body), now); err != nil {
			t.Fatalf("Parse with the vector's signature: %v", err)
		}
		h.Set("X-Hub-Signature", v.want[len("sha1="):]) // the bare hex is refused
		if _, err := intercom.New(intercom.Config{Secrets: []string{secret}}).Parse(h, []byte(v.body), now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("bare hex: %v, want EUNAUTHORIZED", err)
		}
	}
}

// TestSource_URLCheck: the HEAD request Intercom sends when the endpoint
// URL is saved (no body, no signature) gives nothing and no error; an
// empty body with a wrong signature is still refused.
func TestSource_URLCheck(t *testing.T) {
	src := intercom.New(intercom.Config{Secrets: []string{testSecret}})
	if events, err := src.Parse(http.Header{}, nil, now); err != nil || len(events) != 0 {
		t.Fatalf("URL check: %v, %v", events, err)
	}
	h := http.Header{}
	h.Set("X-Hub-Signature", sign("another-secret", nil))
	if _, err := src.Parse(h, nil, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("empty body, wrong signature: %v, want EUNAUTHORIZED", err)
	}
}

func TestStatus(t *testing.T) {
	for in, want := range map[string]string{"open": "open", "OPEN": "open", "snoozed": "pending", "closed": "solved"} {
		if got, err := intercom.ConversationStatus(in); err != nil || got != want {
			t.Errorf("ConversationStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"submitted": "new", "in_progress": "open", "waiting_on_customer": "pending", "resolved": "solved"} {
		if got, err := intercom.TicketStatus(in); err != nil || got != want {
			t.Errorf("TicketStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzParse signs whatever body it is given, so every input reaches the
// parser: a signed delivery gives events or an *Error, never a panic.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add(body)
		}
	}
	src := intercom.New(intercom.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := src.Parse(http.Header{}, body, now); len(body) > 0 && synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unsigned delivery: error %v, want EUNAUTHORIZED", err)
		}
		h := http.Header{}
		h.Set("X-Hub-Signature", sign(testSecret, body))
		events, err := src.Parse(h, body, now)
		if err == nil && len(events) == 0 {
			return // a topic the source acknowledges and ignores
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
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}
