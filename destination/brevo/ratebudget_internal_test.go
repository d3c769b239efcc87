package brevo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
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

// TestLimiter_Spare: a background request takes a token only while more
// than half the bucket is left, and waits otherwise, while a delivery
// still goes at once; when the window resets the background one goes.
func TestLimiter_Spare(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var waits []string
	l := newLimiter(func(b string, _ time.Duration) { waits = append(waits, b) }, slog.New(slog.DiscardHandler))
	l.now = clock
	answer10 := func(remaining string) *answer {
		h := http.Header{}
		h.Set("x-sib-ratelimit-limit", "10")
		h.Set("x-sib-ratelimit-remaining", remaining)
		h.Set("x-sib-ratelimit-reset", "30")
		return &answer{status: 200, rate: parseRateHeaders(h)}
	}
	ctx := context.Background()
	tk, _ := l.acquire(ctx, "contacts")
	l.release(tk, answer10("6"))

	tk, err := l.acquireSpare(ctx, "contacts") // 6 left: more than half
	if err != nil {
		t.Fatal(err)
	}
	l.release(tk, answer10("5"))

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.acquireSpare(short, "contacts"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("background request with 5 of 10 left: %v, want it to wait", err)
	}
	tk, err = l.acquire(short, "contacts") // a delivery is not held back
	if err != nil {
		t.Fatalf("delivery with 5 of 10 left: %v", err)
	}
	l.release(tk, answer10("4"))

	got := make(chan error, 1)
	go func() {
		tk, err := l.acquireSpare(ctx, "contacts")
		if err == nil {
			l.release(tk, answer10("9"))
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("background request went with 4 of 10 left: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	mu.Lock()
	now = now.Add(31 * time.Second) // the window resets
	mu.Unlock()
	tk, _ = l.acquire(ctx, "contacts") // any change wakes the waiter
	l.release(tk, answer10("9"))
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("background request still waiting after the window reset")
	}
	if len(waits) != 0 {
		t.Errorf("OnRateLimitWait heard of %v: a background read yielding is not Brevo's throttling", waits)
	}
}
