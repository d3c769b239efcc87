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
// an expired claim with no value is taken over, and so is a value kept
// for a while once it ran out; forgetting removes only the value named;
// keys never answer for one another.
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
	if err := sk.PutShared(ctx, key, "42", 0); err != nil {
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
	// A value kept for a while runs out, and its key is claimed again.
	const person = "pipedrive:crm:person:ann@example.com"
	if err := sk.PutShared(ctx, person, "7", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := sk.FindShared(ctx, person); err != nil || !ok || v != "7" {
		t.Fatalf("FindShared of a value kept = %q %v %v, want 7", v, ok, err)
	}
	if got, _ := sk.ClaimShared(ctx, person, time.Minute); got {
		t.Fatal("a live value was claimed")
	}
	time.Sleep(50 * time.Millisecond)
	if _, ok, _ := sk.FindShared(ctx, person); ok {
		t.Fatal("FindShared answered a value that ran out")
	}
	if got, err := sk.ClaimShared(ctx, person, time.Minute); err != nil || !got {
		t.Fatalf("ClaimShared of a value that ran out = %v %v, want true", got, err)
	}
	if _, ok, _ := sk.FindShared(ctx, person); ok {
		t.Fatal("a claim over a value that ran out still answers the value")
	}
	if _, ok, _ := sk.FindShared(ctx, "pipedrive:crm:org:other"); ok {
		t.Fatal("another key answered")
	}
}
