package storetest

import (
	"context"
	"testing"
	"time"

	"synclayer"
)

// testKeys checks the key store: a key is found by its hash only, keeps no
// secret, records its last use, and stops being live once revoked.
func testKeys(t *testing.T, s synclayer.Store) {
	ks, ok := s.(synclayer.KeyStore)
	if !ok {
		t.Fatalf("%T does not implement synclayer.KeyStore", s)
	}
	ctx := context.Background()
	k, secret, err := synclayer.NewAPIKey(synclayer.RoleOperator, "deploy bot", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if k.ID == "" {
		t.Fatal("CreateKey assigned no ID")
	}
	got, err := ks.FindKeyByHash(ctx, synclayer.HashKey(secret))
	if err != nil || got.ID != k.ID || got.Role != synclayer.RoleOperator || got.Name != "deploy bot" || got.Revoked() || !got.CreatedAt.Equal(t0) {
		t.Fatalf("find by hash: %+v, %v", got, err)
	}
	if got.Hash == secret || got.Prefix != secret[:len(got.Prefix)] {
		t.Errorf("stored hash %q prefix %q: want a hash of the secret and the secret's prefix", got.Hash, got.Prefix)
	}
	if _, err := ks.FindKeyByHash(ctx, synclayer.HashKey(secret+"x")); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("unknown key: %v, want ENOTFOUND", err)
	}
	if err := ks.CreateKey(ctx, &synclayer.APIKey{Role: "root", Hash: "h"}); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("unknown role: %v, want EINVALID", err)
	}

	used := t0.Add(time.Minute)
	if err := ks.TouchKey(ctx, k.ID, used); err != nil {
		t.Fatal(err)
	}
	if err := ks.TouchKey(ctx, k.ID, t0); err != nil { // an older use never moves it back
		t.Fatal(err)
	}
	if got, _ := ks.FindKeyByHash(ctx, k.Hash); !got.LastUsedAt.Equal(used) {
		t.Errorf("last used %v, want %v", got.LastUsedAt, used)
	}

	other, _, _ := synclayer.NewAPIKey(synclayer.RoleViewer, "", t0.Add(time.Second))
	if err := ks.CreateKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := ks.RevokeKey(ctx, k.ID, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := ks.FindKeyByHash(ctx, k.Hash); !got.Revoked() {
		t.Errorf("revoked key is still live: %+v", got)
	}
	if err := ks.RevokeKey(ctx, k.ID, t0.Add(3*time.Minute)); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("revoking twice: %v, want ENOTFOUND", err)
	}
	list, err := ks.FindKeys(ctx)
	if err != nil || len(list) != 2 || list[0].ID != k.ID || !list[0].Revoked() || list[1].ID != other.ID || list[1].Revoked() {
		t.Errorf("list: %+v, %v; want both keys, oldest first, the first revoked", list, err)
	}
}
