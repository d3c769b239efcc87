package synclayer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"
)

// Role is what an API key may do. Roles are ordered: each one may do
// everything the roles below it may.
type Role string

const (
	RoleViewer   Role = "viewer"   // reads skills, contacts, traces, jobs and the DLQ
	RoleOperator Role = "operator" // also triggers events, retries and discards dead jobs
	RoleAdmin    Role = "admin"    // also changes skill configuration and API keys
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a key with role r may do what needs role need.
// An unknown role allows nothing, and nothing allows an unknown need.
func (r Role) Allows(need Role) bool {
	return r.Valid() && need.Valid() && r.rank() >= need.rank()
}

// ParseRole returns the role named s, or an EINVALID error naming "role".
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", FieldErrorf("role", "must be admin, operator or viewer, not %q", s)
	}
	return r, nil
}

// APIKey is a credential for the admin API. Only the SHA-256 of the secret
// is stored: the secret has 256 random bits, so a fast hash is enough and a
// leaked database leaks no usable key. Prefix is the secret's first
// characters, kept so a listing can tell keys apart without revealing them.
type APIKey struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	Prefix     string    `json:"prefix"`
	Hash       string    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
}

// Revoked reports whether the key was revoked and no longer authenticates.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// KeyPrefix starts every API key, so a leaked key is easy to recognize (and
// to scan for) as a synclayer key.
const KeyPrefix = "sl_"

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey returns a key with role and name and its secret, "sl_" followed
// by 32 random bytes in lowercase base32. The secret is not kept anywhere:
// show it once, then only its hash and prefix remain.
func NewAPIKey(role Role, name string, now time.Time) (*APIKey, string, error) {
	if !role.Valid() {
		return nil, "", FieldErrorf("role", "must be admin, operator or viewer, not %q", role)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	secret := KeyPrefix + keyEncoding.EncodeToString(raw)
	return &APIKey{Name: name, Role: role, Prefix: secret[:len(KeyPrefix)+8], Hash: HashKey(secret), CreatedAt: now.UTC()}, secret, nil
}

// HashKey returns the hex SHA-256 of a key's secret, as stored.
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return hex.EncodeToString(sum[:])
}

// KeyStore keeps API keys. Keys are looked up on every request, so a
// revocation applies to the next request without a restart.
type KeyStore interface {
	// CreateKey stores k, assigning its ID.
	CreateKey(ctx context.Context, k *APIKey) error
	// FindKeyByHash returns the key with the secret's hash, revoked or not,
	// or ENOTFOUND.
	FindKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// FindKeys lists every key, oldest first.
	FindKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeKey revokes the key at now; ENOTFOUND if no live key has the ID.
	RevokeKey(ctx context.Context, id string, now time.Time) error
	// TouchKey records that the key was used at now.
	TouchKey(ctx context.Context, id string, now time.Time) error
}
