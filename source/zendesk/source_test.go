package zendesk_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/sourcetest"
	"synclayer/source/zendesk"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "zd-test-signing-secret"
	oldSecret  = "zd-old-signing-secret"
	stamp      = "2026-11-20T10:00:00Z"
)

var now = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func TestSource_Parse(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string // configured; nil means {testSecret}
		sign    string   // secret to sign with; "" leaves the headers as they are
		header  string   // the signature header's name as sent; "" is the canonical one
		edit    func(http.Header)
	}{
		{name: "trigger-ticket", sign: testSecret},
		{name: "trigger-on-hold", sign: testSecret},
		{name: "event-ticket-created", sign: testSecret},
		{name: "event-comment-added", sign: testSecret},
		{name: "event-status-solved", sign: testSecret},
		{name: "event-user-created", sign: testSecret},
		{name: "event-ticket-deleted", sign: testSecret},
		{name: "rotation-old-secret", secrets: []string{testSecret, oldSecret}, sign: oldSecret},
		{name: "lowercase-headers", sign: testSecret, header: "x-zendesk-webhook-signature"},

		{name: "missing-signature"},
		{name: "bad-signature", edit: func(h http.Header) {
			h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
		}},
		{name: "stale-timestamp", sign: testSecret, edit: func(h http.Header) {
			// Signed over the old timestamp, so only the window refuses it.
			h.Set("X-Zendesk-Webhook-Signature-Timestamp", "2026-11-20T09:00:00Z")
		}},

		{name: "trigger-no-requester", sign: testSecret},
		{name: "trigger-bad-status", sign: testSecret},
		{name: "trigger-missing-updated-at", sign: testSecret},
		{name: "trigger-wrong-type-tags", sign: testSecret},
		{name: "event-missing-id", sign: testSecret},
		{name: "event-not-zendesk-type", sign: testSecret},
		{name: "neither-shape", sign: testSecret},
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
			if tt.edit != nil && tt.name == "stale-timestamp" {
				tt.edit(h)
			}
			if tt.sign != "" {
				name := tt.header
				if name == "" {
					name = "X-Zendesk-Webhook-Signature"
				}
				ts := h.Get("X-Zendesk-Webhook-Signature-Timestamp")
				if ts == "" {
					ts = stamp
				}
				h[name] = []string{sign(tt.sign, ts, body)}
			}
			if tt.edit != nil && tt.name != "stale-timestamp" {
				tt.edit(h)
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{testSecret}
			}
			events, err := zendesk.New(zendesk.Config{Secrets: secrets}).Parse(h, body, now)
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

// TestSource_Vector checks the scheme Zendesk documents,
// base64(HMACSHA256(TIMESTAMP + BODY)), on a vector computed from it independently (Python's hmac) with
// the secret Zendesk's documentation uses in its example, so a change
// to the order of the signed parts fails here (docs/platforms/zendesk.md
// says why the 2021 example signature is not used).
func TestSource_Vector(t *testing.T) {
	const (
		secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
		body   = `{"ticket":{"id":"1","status":"open","updated_at":"2026-11-20T10:00:00Z","requester":{"email":"a@example.com"}}}`
		want   = "m+K8Tye0umA8CwBlyQXC91jnY8sGGWURvLDLLfw8aqs="
	)
	if got := sign(secret, stamp, []byte(body)); got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set("X-Zendesk-Webhook-Signature", want)
	h.Set("X-Zendesk-Webhook-Signature-Timestamp", stamp)
	events, err := zendesk.New(zendesk.Config{Secrets: []string{secret}}).Parse(h, []byte(body), now)
	if err != nil || len(events) != 1 || events[0].Ticket.SourceID != "1" {
		t.Fatalf("Parse = %v, %v", events, err)
	}
	// The parts signed the other way round are refused.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body + stamp))
	h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	if _, err := zendesk.New(zendesk.Config{Secrets: []string{secret}}).Parse(h, []byte(body), now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("body+timestamp signature: %v, want EUNAUTHORIZED", err)
	}
}

func TestStatus(t *testing.T) {
	for in, want := range map[string]string{"open": "open", "OPEN": "open", "Open": "open", "hold": "on_hold", "On-hold": "on_hold",
		"HOLD": "on_hold", "Solved": "solved", "closed": "closed", "NEW": "new", "pending": "pending"} {
		if got, err := zendesk.Status(in); err != nil || got != want {
			t.Errorf("Status(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := zendesk.Status("Escalated"); err == nil {
		t.Error("Status(Escalated): no error")
	}
}

// FuzzParse signs whatever body it is given, so every input reaches the
// parsers: a signed delivery gives events or an *Error, never a panic.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add(body)
		}
	}
	src := zendesk.New(zendesk.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set("X-Zendesk-Webhook-Signature-Timestamp", stamp)
		if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unsigned delivery: error %v, want EUNAUTHORIZED", err)
		}
		h.Set("X-Zendesk-Webhook-Signature", sign(testSecret, stamp, body))
		events, err := src.Parse(h, body, now)
		if err == nil && len(events) == 0 {
			return // a kind of event the source acknowledges and ignores
		}
		sourcetest.CheckFuzzResult(t, events, err)
		for _, e := range events {
			if e.Ticket == nil || e.Ticket.SourceID == "" || e.Ticket.Updated.IsZero() || e.DedupeKey == "" {
				t.Fatalf("event without a ticket id, update time or dedupe key: %+v", e)
			}
		}
	})
}

func sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
