package secretbox_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synclayer/secretbox"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustBox(t *testing.T, keys ...[]byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBox_SealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	b := mustBox(t, k1)
	secret := []byte("refresh-token-1234")
	sealed, err := b.Seal("token:hubspot", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) || !strings.HasPrefix(string(sealed), "sb1."+secretbox.KeyID(k1)+".") {
		t.Fatalf("sealed = %q: want the sb1.<key id>. prefix and no plaintext", sealed)
	}
	again, _ := b.Seal("token:hubspot", secret)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	t.Run("RoundTrip", func(t *testing.T) {
		got, err := b.Open("token:hubspot", sealed)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
	t.Run("WrongKeyNamesBothKeys", func(t *testing.T) {
		_, err := mustBox(t, k2).Open("token:hubspot", sealed)
		if err == nil || !strings.Contains(err.Error(), secretbox.KeyID(k1)) || !strings.Contains(err.Error(), secretbox.KeyVar) {
			t.Fatalf("err = %v, want the key ID it was sealed with and %s", err, secretbox.KeyVar)
		}
	})
	t.Run("RotatedKeyStillOpens", func(t *testing.T) {
		rotated := mustBox(t, k2, k1)
		if got, err := rotated.Open("token:hubspot", sealed); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("Open with the old key second = %q, %v", got, err)
		}
		resealed, _ := rotated.Seal("token:hubspot", secret)
		if !strings.HasPrefix(string(resealed), "sb1."+secretbox.KeyID(k2)+".") {
			t.Errorf("resealed with %q, want the first key", resealed)
		}
	})
	t.Run("OtherNameRefused", func(t *testing.T) {
		if _, err := b.Open("token:other", sealed); err == nil {
			t.Fatal("a value sealed for one name opened under another")
		}
	})
	t.Run("TamperedRefused", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)-2] ^= 1
		if _, err := b.Open("token:hubspot", bad); err == nil {
			t.Fatal("a tampered value opened")
		}
		if _, err := b.Open("token:hubspot", secret); err == nil {
			t.Fatal("plaintext opened")
		}
	})
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	enc := base64.StdEncoding.EncodeToString(k)
	env := func(m map[string]string) func(string) string { return func(s string) string { return m[s] } }
	if got, err := secretbox.LoadKey(env(map[string]string{secretbox.KeyVar: enc + "\n"})); err != nil || !bytes.Equal(got, k) {
		t.Fatalf("LoadKey from the variable = %x, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(enc+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := secretbox.LoadKey(env(map[string]string{secretbox.KeyFileVar: file})); err != nil || !bytes.Equal(got, k) {
		t.Fatalf("LoadKey from the file = %x, %v", got, err)
	}
	if _, err := secretbox.LoadKey(env(nil)); !errors.Is(err, secretbox.ErrNoKey) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Fatalf("no key: err = %v, want ErrNoKey saying how to create one", err)
	}
	old := newKey(t)
	keys, err := secretbox.LoadKeys(env(map[string]string{secretbox.KeyVar: enc, secretbox.PreviousKeysVar: base64.StdEncoding.EncodeToString(old) + ","}))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], k) || !bytes.Equal(keys[1], old) {
		t.Fatalf("LoadKeys with a previous key = %d keys, %v", len(keys), err)
	}
	short := base64.StdEncoding.EncodeToString(k[:16])
	if _, err := secretbox.LoadKey(env(map[string]string{secretbox.KeyVar: short})); err == nil || !strings.Contains(err.Error(), "16 bytes") || strings.Contains(err.Error(), short) {
		t.Fatalf("short key: err = %v, want its length and not the key", err)
	}
	if _, err := secretbox.LoadKey(env(map[string]string{secretbox.KeyVar: "not base64!"})); err == nil || !strings.Contains(err.Error(), secretbox.KeyVar) {
		t.Fatalf("bad key: err = %v", err)
	}
}
