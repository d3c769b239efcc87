package klaviyo

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// TestLimiter_Budgets: a bucket's steady window is reported once an answer
// carried RateLimit-*, less the requests in flight, and at its full limit
// once the window has reset.
func TestLimiter_Budgets(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(nil, slog.New(slog.DiscardHandler))
	l.now = func() time.Time { return now }
	if got := l.budgets(); len(got) != 0 {
		t.Fatalf("before any answer: %+v", got)
	}
	h := http.Header{}
	h.Set("RateLimit-Limit", "750")
	h.Set("RateLimit-Remaining", "700")
	h.Set("RateLimit-Reset", "40")
	b, _ := l.acquire(context.Background(), "profiles")
	l.release(b, &answer{status: 200, rate: parseRateHeaders(h)})
	got := l.budgets()
	if len(got) != 1 || got[0].Bucket != "profiles" || got[0].Limit != 750 || got[0].Remaining != 700 || !got[0].Reset.Equal(now.Add(40*time.Second)) {
		t.Errorf("budgets: %+v, want profiles 700 of 750, resetting in 40 s", got)
	}
	now = now.Add(time.Minute)
	if got := l.budgets(); got[0].Remaining != 750 {
		t.Errorf("after the reset: %+v, want 750", got)
	}
}
