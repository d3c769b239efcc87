package synclayer

import (
	"context"
	"time"
)

// SharedKeys are short string values the instances sharing one store
// agree on, each made once: a destination's find-or-create of a record
// its platform has no unique key for, whose search lags a create (a
// Pipedrive organization by name), claims the key before it creates, so
// two instances (or two queues of one) never both create; the claimer
// puts the record's ID under the key, and the others wait for it.
//
// The program passes one to destinations (DestinationEnv.Shared); keys
// start with the destination's type and name ("pipedrive:crm:org:acme").
type SharedKeys interface {
	// ClaimShared takes key for ttl: true when this caller may make the
	// value (the key held none and no live claim), false when another
	// caller put the value already or holds the claim. A claim whose ttl
	// ran out without a value put is taken over, so a claimer that died
	// holds no one up for longer than ttl.
	ClaimShared(ctx context.Context, key string, ttl time.Duration) (mine bool, err error)
	// PutShared stores value under key (ending a claim), replacing the
	// one before, for keep (0: for good); a value kept no longer is as
	// if never put, and the store deletes it in time.
	PutShared(ctx context.Context, key, value string, keep time.Duration) error
	// FindShared returns key's value; ok is false while there is none
	// (never put, forgotten, run out, or only claimed).
	FindShared(ctx context.Context, key string) (value string, ok bool, err error)
	// ForgetShared removes key if it still holds value: a value found
	// stale (the record deleted at the platform), or, with value "", a
	// claim given up, so the next caller claims at once. A key that holds
	// another value by then is left alone.
	ForgetShared(ctx context.Context, key, value string) error
}
