package main

import (
	"context"
	"errors"

	"synclayer"
	"synclayer/secretbox"
	"synclayer/store"
)

// tokenStore is where destinations keep the credentials they obtain
// while running (a HubSpot OAuth app's tokens): db, sealed by a
// secretbox under key, or, when key is nil, under the key in
// SYNCLAYER_ENCRYPTION_KEY or SYNCLAYER_ENCRYPTION_KEY_FILE, opening with
// SYNCLAYER_ENCRYPTION_KEY_PREVIOUS's keys too (rotation). With no key
// at all, every read and write fails saying how to create one, so only a
// destination that needs the store refuses to start; a key that is set
// but not 32 bytes of base64 is an error for every start.
func tokenStore(db *store.DB, key []byte) (synclayer.TokenStore, error) {
	keys := [][]byte{key}
	if key == nil {
		var err error
		keys, err = secretbox.LoadKeys(nil)
		if errors.Is(err, secretbox.ErrNoKey) {
			return noKeyTokens{}, nil
		}
		if err != nil {
			return nil, err
		}
	}
	box, err := secretbox.New(keys...)
	if err != nil {
		return nil, err
	}
	return &secretbox.Tokens{Store: db, Box: box}, nil
}

// noKeyTokens is the token store of a server started without an
// encryption key.
type noKeyTokens struct{}

var errNoKey = errors.New("tokens are kept encrypted in synclayer's store, and no encryption key is set: " + secretbox.HowToCreate)

func (noKeyTokens) FindToken(context.Context, string) ([]byte, error) { return nil, errNoKey }
func (noKeyTokens) PutToken(context.Context, string, []byte) error    { return errNoKey }

// sharedKeys is db's SharedKeys for DestinationEnv.Shared, or nil (not a
// nil *store.DB in an interface) without a store.
func sharedKeys(db *store.DB) synclayer.SharedKeys {
	if db == nil {
		return nil
	}
	return db
}
