package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeyVar and KeyFileVar are the environment variables the key is read from.
// PreviousKeysVar holds, comma-separated, keys that only open (a rotated
// key, until every value is resealed with the new one).
const (
	KeyVar          = "SYNCLAYER_ENCRYPTION_KEY"
	KeyFileVar      = "SYNCLAYER_ENCRYPTION_KEY_FILE"
	PreviousKeysVar = "SYNCLAYER_ENCRYPTION_KEY_PREVIOUS"
)

// HowToCreate is what to tell an operator with no key.
const HowToCreate = "set " + KeyVar + " to 32 random bytes in base64 (create them with: openssl rand -base64 32), or " + KeyFileVar + " to a file holding them; keep the key: tokens sealed with it cannot be read without it"

// ErrNoKey is LoadKey's answer when neither variable is set.
var ErrNoKey = errors.New("no encryption key: " + HowToCreate)

// prefix starts every sealed value: format version 1.
const prefix = "sb1"

// Box seals with its first key and opens with any of its keys, chosen by
// the key ID a sealed value carries. It is safe for concurrent use.
type Box struct {
	seal  *key
	byID  map[string]*key
	order []string
}

type key struct {
	id   string
	aead cipher.AEAD
}

// KeyID names a key without revealing it: the first 4 bytes of the
// SHA-256 of a label and the key, in hex.
func KeyID(k []byte) string {
	sum := sha256.Sum256(append([]byte("synclayer secretbox key id\x00"), k...))
	return hex.EncodeToString(sum[:4])
}

// New returns a Box sealing with keys[0] and opening with any of keys,
// each 32 bytes (AES-256).
func New(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, ErrNoKey
	}
	b := &Box{byID: map[string]*key{}}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("encryption key %d is %d bytes; it must be 32 (AES-256): %s", i+1, len(k), HowToCreate)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("encryption key: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encryption key: %w", err)
		}
		kk := &key{id: KeyID(k), aead: aead}
		if i == 0 {
			b.seal = kk
		}
		if _, dup := b.byID[kk.id]; !dup {
			b.byID[kk.id] = kk
			b.order = append(b.order, kk.id)
		}
	}
	return b, nil
}

// KeyID is the ID of the key the box seals with.
func (b *Box) KeyID() string { return b.seal.id }

// Seal encrypts value under name (bound as additional data) and returns
// "sb1.<key id>.<base64url of nonce and ciphertext>".
func (b *Box) Seal(name string, value []byte) ([]byte, error) {
	nonce := make([]byte, b.seal.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	ct := b.seal.aead.Seal(nonce, nonce, value, []byte(name))
	return []byte(prefix + "." + b.seal.id + "." + base64.RawURLEncoding.EncodeToString(ct)), nil
}

// Open decrypts what Seal returned for name. Its errors say which key the
// value needs, never the value.
func (b *Box) Open(name string, sealed []byte) ([]byte, error) {
	parts := strings.Split(string(sealed), ".")
	if len(parts) != 3 || parts[0] != prefix {
		return nil, errors.New("not a sealed value (no sb1.<key id>. prefix): it was not written by synclayer's secretbox")
	}
	k, ok := b.byID[parts[1]]
	if !ok {
		return nil, fmt.Errorf("sealed with encryption key %s, but the key given is %s: set %s to the key it was sealed with", parts[1], b.seal.id, KeyVar)
	}
	ct, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(ct) < k.aead.NonceSize() {
		return nil, errors.New("sealed value is damaged (bad base64)")
	}
	n := k.aead.NonceSize()
	out, err := k.aead.Open(nil, ct[:n], ct[n:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("sealed value does not open with encryption key %s: it is damaged or was sealed for another name", k.id)
	}
	return out, nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padded or not,
// surrounding spaces ignored).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != 32 {
				return nil, fmt.Errorf("the key decodes to %d bytes; it must be 32: %s", len(k), HowToCreate)
			}
			return k, nil
		}
	}
	return nil, errors.New("the key is not base64: " + HowToCreate)
}

// LoadKey reads the key from SYNCLAYER_ENCRYPTION_KEY or, when that is
// unset, the file SYNCLAYER_ENCRYPTION_KEY_FILE names (getenv is
// os.Getenv in the program). It returns ErrNoKey when neither is set;
// every error names the variable, never the key.
func LoadKey(getenv func(string) string) ([]byte, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(KeyVar); v != "" {
		k, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyVar, err)
		}
		return k, nil
	}
	if path := getenv(KeyFileVar); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyFileVar, err)
		}
		k, err := ParseKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", KeyFileVar, path, err)
		}
		return k, nil
	}
	return nil, ErrNoKey
}

// LoadKeys is LoadKey followed by the keys in SYNCLAYER_ENCRYPTION_KEY_PREVIOUS,
// for New: the current key seals, every one opens.
func LoadKeys(getenv func(string) string) ([][]byte, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	k, err := LoadKey(getenv)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{k}
	for i, v := range strings.Split(getenv(PreviousKeysVar), ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		p, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s, key %d: %w", PreviousKeysVar, i+1, err)
		}
		keys = append(keys, p)
	}
	return keys, nil
}
