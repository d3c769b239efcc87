package synclayer

import "context"

// TokenStore keeps credentials a destination obtains while it runs, such
// as an OAuth app's refresh and access tokens, one value per destination
// name, so a restart resumes with them instead of the config's seed.
//
// The store keeps each value as it is given; the program hands
// destinations a TokenStore that seals values before they reach it
// (secretbox.Tokens, AES-256-GCM under SYNCLAYER_ENCRYPTION_KEY), so the
// database never holds a token in plaintext.
type TokenStore interface {
	// FindToken returns the value last put for destination, or an
	// ENOTFOUND *Error when there is none.
	FindToken(ctx context.Context, destination string) ([]byte, error)
	// PutToken replaces destination's value.
	PutToken(ctx context.Context, destination string, value []byte) error
}
