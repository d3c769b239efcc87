package freshdesk_test

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/freshdesk"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

const (
	testSecret = "fd-test-shared-secret"
	oldSecret  = "fd-old-shared-secret"
)

var now = time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)

func TestSource_Parse(t *testing.T) {
	tests := []struct {
		name string
		cfg  freshdesk.Config // Secrets nil means {testSecret}
		raw  bool             // header names as written, not canonical
	}{
		{name: "rule-created"},
		{name: "rule-reply"},
		{name: "rule-pending"},
		{name: "rule-resolved"},
		{name: "rule-closed"},
		{name: "rule-numeric"},
		{name: "rule-custom-status", cfg: freshdesk.Config{Statuses: map[string]string{"Waiting on customer": "pending"}}},
		{name: "rule-updated-at"},
		{name: "simple-mode"},
		{name: "basic-auth", cfg: freshdesk.Config{Username: "freshdesk"}},
		{name: "basic-auth-wrong", cfg: freshdesk.Config{Username: "freshdesk"}},
		{name: "basic-auth-missing", cfg: freshdesk.Config{Username: "freshdesk"}},
		{name: "rotation-old-secret", cfg: freshdesk.Config{Secrets: []string{testSecret, oldSecret}}},
		{name: "lowercase-headers", raw: true},

		{name: "missing-token"},
		{name: "wrong-token"},
		{name: "unknown-status"},
		{name: "status-bool"},
		{name: "no-ticket"},
		{name: "no-requester"},
		{name: "missing-id"},
		{name: "tags-object"},
		{name: "updated-at-garbage"},
		{name: "ticket-array"},
		{name: "malformed-json"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", tt.name)
			body := sourcetest.MustRead(t, filepath.Join(dir, "body.json"))
			h := sourcetest.MustReadHeaders(t, filepath.Join(dir, "headers"), tt.raw)
			cfg := tt.cfg
			if cfg.Secrets == nil {
				cfg.Secrets = []string{testSecret}
			}
			events, err := freshdesk.New(cfg).Parse(h, body, now)
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

// TestSource_Header: the secret's header can be renamed, and the default
// header is then not accepted.
func TestSource_Header(t *testing.T) {
	body := []byte(`{"ticket":{"id":"1","status":"Open","requester":{"email":"a@example.com"}}}`)
	src := freshdesk.New(freshdesk.Config{Secrets: []string{testSecret}, Header: "X-Shop-Key"})
	h := http.Header{}
	h.Set("X-Synclayer-Token", testSecret)
	if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
		t.Fatalf("default header with another configured: %v, want EUNAUTHORIZED", err)
	}
	h.Set("X-Shop-Key", testSecret)
	if events, err := src.Parse(h, body, now); err != nil || len(events) != 1 {
		t.Fatalf("Parse = %v, %v", events, err)
	}
}

func TestSource_Open(t *testing.T) {
	if _, err := freshdesk.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: []byte(`{"statuses":{"Waiting":"stalled"}}`)}); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("a status mapped to no canonical status: %v, want EINVALID", err)
	}
	if _, err := freshdesk.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: []byte(`{"usernme":"x"}`)}); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("an unknown key: %v, want EINVALID", err)
	}
	if _, err := freshdesk.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: []byte(`{"header":"X-Shop"}`)}); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("a header not named for a credential: %v, want EINVALID", err)
	}
	if _, err := freshdesk.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: []byte(`{"username":"fd","header":"X-Shop-Key","statuses":{"Waiting":"pending"}}`)}); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}

func TestStatus(t *testing.T) {
	src := freshdesk.New(freshdesk.Config{})
	for in, want := range map[string]string{"Open": "open", "open": "open", "2": "open", "Pending": "pending", "3": "pending",
		"Resolved": "solved", "4": "solved", "Closed": "closed", "5": "closed"} {
		if got, err := src.Status(in); err != nil || got != want {
			t.Errorf("Status(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzParse authenticates whatever body it is given, so every input
// reaches the parser: an authenticated delivery gives events or an
// *Error, never a panic.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add(body)
		}
	}
	src := freshdesk.New(freshdesk.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := src.Parse(http.Header{}, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("unauthenticated delivery: error %v, want EUNAUTHORIZED", err)
		}
		h := http.Header{}
		h.Set("X-Synclayer-Token", testSecret)
		events, err := src.Parse(h, body, now)
		sourcetest.CheckFuzzResult(t, events, err)
		for _, e := range events {
			if e.Ticket == nil || e.Ticket.SourceID == "" || e.Ticket.Updated.IsZero() || e.DedupeKey == "" || e.Ticket.Requester == nil {
				t.Fatalf("event without a ticket id, update time, requester or dedupe key: %+v", e)
			}
		}
	})
}
