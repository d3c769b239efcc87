package secretbox

import (
	"context"
	"fmt"

	"synclayer"
)

// Tokens is a synclayer.TokenStore that seals each value with Box before
// Store keeps it, and opens it on the way back, with the destination's
// name as additional data.
type Tokens struct {
	Store synclayer.TokenStore
	Box   *Box
}

var _ synclayer.TokenStore = (*Tokens)(nil)

// FindToken returns the opened value, ENOTFOUND when there is none, or an
// error naming the key the value was sealed with when the box cannot
// open it.
func (t *Tokens) FindToken(ctx context.Context, destination string) ([]byte, error) {
	sealed, err := t.Store.FindToken(ctx, destination)
	if err != nil {
		return nil, err
	}
	v, err := t.Box.Open("token:"+destination, sealed)
	if err != nil {
		return nil, fmt.Errorf("stored token of destinations.%s: %w", destination, err)
	}
	return v, nil
}

// PutToken seals value and stores it.
func (t *Tokens) PutToken(ctx context.Context, destination string, value []byte) error {
	sealed, err := t.Box.Seal("token:"+destination, value)
	if err != nil {
		return err
	}
	return t.Store.PutToken(ctx, destination, sealed)
}
