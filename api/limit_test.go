package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/limit"
)

// signedOnly accepts a body whose X-Test-Signature is "good".
type signedOnly struct{}

func (signedOnly) Name() string { return "shop" }
func (signedOnly) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if h.Get("X-Test-Signature") != "good" {
		return nil, synclayer.Errorf(synclayer.EUNAUTHORIZED, "bad signature")
	}
	return []*synclayer.Event{{Type: synclayer.EventCustomerCreated}}, nil
}

type okIngester struct{}

func (okIngester) Ingest(ctx context.Context, evs []*synclayer.Event) ([]ingest.Result, error) {
	return make([]ingest.Result, len(evs)), nil
}

func post(h http.Handler, remote, sig string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/webhooks/shop", strings.NewReader(`{}`))
	r.RemoteAddr = remote
	r.Header.Set("X-Test-Signature", sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestWebhook_RejectedAddressesAreLimited: an address that keeps sending
// bad signatures gets 429 with Retry-After before its body is looked at;
// other addresses, and loopback, are not held back.
func TestWebhook_RejectedAddressesAreLimited(t *testing.T) {
	t.Parallel()
	h := Handler(Config{Sources: map[string]synclayer.Source{"shop": signedOnly{}}, Ingester: okIngester{}, RejectLimit: limit.New(0.01, 3)})
	for i := range 3 {
		if w := post(h, "203.0.113.9:4000", "bad"); w.Code != http.StatusUnauthorized {
			t.Fatalf("bad signature %d: %d, want 401", i+1, w.Code)
		}
	}
	w := post(h, "203.0.113.9:4000", "good")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("after three rejections: %d Retry-After %q, want 429", w.Code, w.Header().Get("Retry-After"))
	}
	if code, msg := errorOf(t, w.Body.String()); code != synclayer.ETOOMANY || !strings.Contains(msg, "signing secret") {
		t.Errorf("429 body: %s %q", code, msg)
	}
	if w := post(h, "198.51.100.1:4000", "good"); w.Code != http.StatusOK {
		t.Errorf("another address: %d, want 200", w.Code)
	}
	for range 5 {
		post(h, "127.0.0.1:4000", "bad")
	}
	if w := post(h, "127.0.0.1:4000", "good"); w.Code != http.StatusOK {
		t.Errorf("loopback after rejections: %d, want 200 (never limited)", w.Code)
	}
}

// TestWebhook_SourceRateLimit: above sources.<name>.rate_limit a webhook
// gets 429 naming the key, and the platform retries it later.
func TestWebhook_SourceRateLimit(t *testing.T) {
	t.Parallel()
	h := Handler(Config{Sources: map[string]synclayer.Source{"shop": signedOnly{}}, Ingester: okIngester{},
		SourceLimits: map[string]*limit.Keyed{"shop": limit.New(0.01, 2)}})
	for i := range 2 {
		if w := post(h, "203.0.113.9:4000", "good"); w.Code != http.StatusOK {
			t.Fatalf("webhook %d within the limit: %d", i+1, w.Code)
		}
	}
	w := post(h, "198.51.100.1:4000", "good")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third: %d, want 429 with Retry-After", w.Code)
	}
	var b errorBody
	_ = json.Unmarshal(w.Body.Bytes(), &b)
	if b.Error.Field != "sources.shop.rate_limit" {
		t.Errorf("429 names field %q, want sources.shop.rate_limit", b.Error.Field)
	}
}
