package dashboard

import (
	"net/http/httptest"
	"testing"
	"time"

	"synclayer"
)

func TestSessions_Expire(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ss := newSessions(time.Hour, func() time.Time { return now })
	token := ss.create(&synclayer.APIKey{ID: "key_1", Hash: "h"})
	if s := ss.get(token); s == nil || s.keyID != "key_1" || s.csrf == "" {
		t.Fatalf("fresh session: %+v", s)
	}
	if ss.get("forged") != nil || ss.get("") != nil {
		t.Error("an unknown token found a session")
	}
	now = now.Add(61 * time.Minute)
	if ss.get(token) != nil {
		t.Error("an expired session still works")
	}
	if len(ss.m) != 0 {
		t.Error("an expired session was kept")
	}
}

func TestSessions_Bounded(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ss := newSessions(time.Hour, func() time.Time { return now })
	for range maxSessions + 10 {
		now = now.Add(time.Millisecond)
		ss.create(&synclayer.APIKey{ID: "key_1", Hash: "h"})
	}
	if n := len(ss.m); n > maxSessions {
		t.Errorf("%d sessions kept, cap %d", n, maxSessions)
	}
	newest := ss.create(&synclayer.APIKey{ID: "key_2"})
	if ss.get(newest) == nil {
		t.Error("the newest session was dropped")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/dlq?done=1":        "/ui/dlq?done=1",
		"":                      "/ui/",
		"https://evil.example/": "/ui/",
		"//evil.example/ui/":    "/ui/",
		"/ui/\\evil":            "/ui/",
		"/api/v1/keys":          "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for origin, want := range map[string]bool{"": true, "http://example.com:8080": true, "https://evil.example": false, "null": false} {
		r := httptest.NewRequest("POST", "http://example.com:8080/ui/logout", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if got := sameOrigin(r); got != want {
			t.Errorf("Origin %q: %v, want %v", origin, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		4 * time.Millisecond:                       "4 ms",
		1500 * time.Millisecond:                    "1.5 s",
		5*time.Minute + 2*time.Second:              "5m 02s",
		2*time.Hour + 10*time.Minute + time.Second: "2h 10m",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestTemplatesParse(t *testing.T) {
	s := New(Config{})
	for _, name := range []string{"login.html", "overview.html", "failures.html", "dlq.html", "contacts.html", "contact.html", "connections.html", "error.html"} {
		if s.pages[name] == nil {
			t.Errorf("no template %s", name)
		}
	}
}
