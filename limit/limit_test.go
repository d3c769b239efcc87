package limit

import (
	"fmt"
	"testing"
	"time"
)

func TestKeyed_BurstThenRefill(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	k := New(1, 3) // one a second, three at once
	k.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := k.Allow("a")
	if ok || retry <= 0 || retry > time.Second {
		t.Fatalf("fourth at once: ok=%v retry=%s, want refused for at most 1s", ok, retry)
	}
	if ok, _ := k.Allow("b"); !ok {
		t.Error("another key shares a's bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := k.Allow("a"); !ok {
		t.Error("a second later a token should be back")
	}
}

func TestKeyed_PeekTakesNothing(t *testing.T) {
	k := New(0.1, 1)
	if ok, _ := k.Peek("a"); !ok {
		t.Fatal("an unseen key is refused")
	}
	k.Allow("a")
	if ok, retry := k.Peek("a"); ok || retry < 9*time.Second {
		t.Errorf("after its one token: ok=%v retry=%s", ok, retry)
	}
}

func TestKeyed_BoundedMemory(t *testing.T) {
	k := New(1, 1)
	for i := range maxKeys + 500 {
		k.Allow(fmt.Sprint(i))
	}
	if n := len(k.buckets); n > maxKeys {
		t.Errorf("%d buckets, want at most %d", n, maxKeys)
	}
}
