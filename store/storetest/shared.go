package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
)

// testSharedKeys: of callers claiming one key at once exactly one gets
// it; a claim is not taken again while it lives nor once a value is put;
// an expired claim with no value is taken over; forgetting removes only
// the value named; keys never answer for one another.
func testSharedKeys(t *testing.T, s synclayer.Store) {
	sk, ok := s.(synclayer.SharedKeys)
	if !ok {
		t.Fatalf("%T is not a synclayer.SharedKeys", s)
	}
	ctx := context.Background()
	const key = "pipedrive:crm:org:acme inc"
	if _, ok, err := sk.FindShared(ctx, key); err != nil || ok {
		t.Fatalf("FindShared before any claim: ok %v, err %v", ok, err)
	}
	var mine atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := sk.ClaimShared(ctx, key, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if got {
				mine.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := mine.Load(); n != 1 {
		t.Fatalf("%d of 8 concurrent claims won, want 1", n)
	}
	if _, ok, err := sk.FindShared(ctx, key); err != nil || ok {
		t.Fatalf("FindShared of a claim with no value: ok %v, err %v", ok, err)
	}
	if err := sk.PutShared(ctx, key, "42"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := sk.FindShared(ctx, key); err != nil || !ok || v != "42" {
		t.Fatalf("FindShared = %q %v %v, want 42", v, ok, err)
	}
	if got, err := sk.ClaimShared(ctx, key, time.Nanosecond); err != nil || got {
		t.Fatalf("ClaimShared of a key with a value = %v %v, want false", got, err)
	}
	if err := sk.ForgetShared(ctx, key, "41"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := sk.FindShared(ctx, key); !ok || v != "42" {
		t.Fatalf("ForgetShared of another value removed %q", v)
	}
	if err := sk.ForgetShared(ctx, key, "42"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := sk.FindShared(ctx, key); ok {
		t.Fatal("FindShared after ForgetShared still answers")
	}
	// A claimer that dies: its claim runs out and is taken over.
	if got, err := sk.ClaimShared(ctx, key, 20*time.Millisecond); err != nil || !got {
		t.Fatalf("ClaimShared after forgetting = %v %v, want true", got, err)
	}
	if got, _ := sk.ClaimShared(ctx, key, time.Minute); got {
		t.Fatal("a live claim was taken again")
	}
	time.Sleep(40 * time.Millisecond)
	if got, err := sk.ClaimShared(ctx, key, time.Minute); err != nil || !got {
		t.Fatalf("ClaimShared of an expired claim = %v %v, want true", got, err)
	}
	// Giving a claim up lets the next caller claim at once.
	if err := sk.ForgetShared(ctx, key, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := sk.ClaimShared(ctx, key, time.Minute); !got {
		t.Fatal("a claim given up was not claimed again")
	}
	if _, ok, _ := sk.FindShared(ctx, "pipedrive:crm:org:other"); ok {
		t.Fatal("another key answered")
	}
}
