package storetest

import (
	"bytes"
	"context"
	"testing"

	"synclayer"
)

// testTokens: a destination's token round-trips byte for byte, a second
// put replaces it, one destination's never answers another's, and a miss
// is ENOTFOUND.
func testTokens(t *testing.T, s synclayer.Store) {
	ts, ok := s.(synclayer.TokenStore)
	if !ok {
		t.Fatalf("%T is not a synclayer.TokenStore", s)
	}
	ctx := context.Background()
	if _, err := ts.FindToken(ctx, "hubspot"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Fatalf("FindToken before any put: err = %v, want ENOTFOUND", err)
	}
	first := []byte("sb1.0a1b2c3d.\x00\xff binary is kept")
	if err := ts.PutToken(ctx, "hubspot", first); err != nil {
		t.Fatal(err)
	}
	if err := ts.PutToken(ctx, "hubspot-eu", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if got, err := ts.FindToken(ctx, "hubspot"); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("FindToken = %q, %v; want %q", got, err, first)
	}
	if err := ts.PutToken(ctx, "hubspot", []byte("second")); err != nil {
		t.Fatal(err)
	}
	if got, err := ts.FindToken(ctx, "hubspot"); err != nil || string(got) != "second" {
		t.Fatalf("FindToken after a second put = %q, %v", got, err)
	}
	if got, err := ts.FindToken(ctx, "hubspot-eu"); err != nil || string(got) != "other" {
		t.Fatalf("FindToken of the other destination = %q, %v", got, err)
	}
}
