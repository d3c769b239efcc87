package brevo

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// TestLimiter_Budgets: a bucket is reported once an answer carried
// x-sib-ratelimit-*, less the requests still in flight, and at its full
// limit once its window has reset.
func TestLimiter_Budgets(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(nil, slog.New(slog.DiscardHandler))
	l.now = func() time.Time { return now }
	if got := l.budgets(); len(got) != 0 {
		t.Fatalf("before any answer: %+v", got)
	}
	h := http.Header{}
	h.Set("x-sib-ratelimit-limit", "10")
	h.Set("x-sib-ratelimit-remaining", "7")
	h.Set("x-sib-ratelimit-reset", "30")
	tk, _ := l.acquire(context.Background(), "contacts")
	l.release(tk, &answer{status: 200, rate: parseRateHeaders(h)})
	tk, _ = l.acquire(context.Background(), "contacts") // in flight
	got := l.budgets()
	if len(got) != 1 || got[0].Bucket != "contacts" || got[0].Limit != 10 || got[0].Remaining != 6 || !got[0].Reset.Equal(now.Add(30*time.Second)) {
		t.Errorf("budgets: %+v, want contacts 6 of 10, resetting in 30 s", got)
	}
	now = now.Add(time.Minute)
	if got := l.budgets(); got[0].Remaining != 9 {
		t.Errorf("after the reset, with one in flight: %+v, want 9 of 10", got)
	}
	l.release(tk, nil)
}
