package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/store/storetest"
)

// TestLogin_FailuresAreRateLimitedPerAddress: five wrong keys from one
// address, then that address is refused for a while, the right key too;
// another address is not.
func TestLogin_FailuresAreRateLimitedPerAddress(t *testing.T) {
	db := storetest.OpenSQLite(t)
	key, secret, err := synclayer.NewAPIKey(synclayer.RoleViewer, "ops", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	h := New(Config{Store: db, Keys: db}).Handler()
	login := func(remote, k string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "http://sync.example/ui/login", strings.NewReader(url.Values{"key": {k}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 5 {
		if w := login("203.0.113.7:5000", "sl_wrong"); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d, want 401", i+1, w.Code)
		}
	}
	w := login("203.0.113.7:5001", secret)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Too many failed logins") {
		t.Fatalf("after five failures: %d Retry-After %q, want 429 saying so", w.Code, w.Header().Get("Retry-After"))
	}
	if w := login("198.51.100.2:5000", secret); w.Code != http.StatusSeeOther {
		t.Errorf("another address with the right key: %d, want 303 to the dashboard", w.Code)
	}
}
