package brevo

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"synclayer"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		reset  string
		want   string
	}{
		{400, "", "permanent"},
		{401, "", "permanent"},
		{402, "", "permanent"},
		{404, "", "permanent"},
		{405, "", "permanent"},
		{302, "", "permanent"},
		{425, "", "retryable"},
		{429, "3", "retry-after 3s"},
		{429, "0.5", "retry-after 500ms"},
		{429, "soon", "retry-after 1s"},
		{500, "", "retryable"},
		{503, "", "retryable"},
	} {
		h := http.Header{}
		if tc.reset != "" {
			h.Set("x-sib-ratelimit-reset", tc.reset)
		}
		apiErr := &APIError{Status: tc.status, Code: "c", Message: "m"}
		err := classify(apiErr, apiErr, parseRateHeaders(h))
		var p *synclayer.PermanentError
		var ra *synclayer.RetryAfterError
		got := "retryable"
		switch {
		case errors.As(err, &p):
			got = "permanent"
		case errors.As(err, &ra):
			got = "retry-after " + ra.After.String()
		}
		if got != tc.want {
			t.Errorf("status %d reset %q: %s, want %s", tc.status, tc.reset, got, tc.want)
		}
		var back *APIError
		if !errors.As(err, &back) || back != apiErr {
			t.Errorf("status %d: *APIError lost", tc.status)
		}
	}
}

func TestEscapePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a.b-c_d~1":         "a.b-c_d~1",
		"ann+x@example.com": "ann%2Bx%40example.com",
		"shop/7 ?#%":        "shop%2F7%20%3F%23%25",
		"é":                 "%C3%A9",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRateHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("x-sib-ratelimit-limit", "10")
	h.Set("x-sib-ratelimit-remaining", "3")
	h.Set("x-sib-ratelimit-reset", "2")
	rl := parseRateHeaders(h)
	if !rl.ok || rl.limit != 10 || rl.remaining != 3 || !rl.hasReset || rl.reset != 2*time.Second {
		t.Errorf("parseRateHeaders = %+v", rl)
	}
	if rl := parseRateHeaders(http.Header{}); rl.ok || rl.hasReset {
		t.Errorf("empty headers parsed as %+v", rl)
	}
}
