package pipedrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"synclayer"
)

// Creating once across instances. Pipedrive has no unique key a client
// can set on an organization (nor an atomic upsert of a person by
// email), and its search index lags a create by seconds, so two
// deliveries at once (two instances sharing the store, or customer-sync
// and order-events of one) that each search and find nothing would each
// create. With the store's SharedKeys (DestinationEnv.Shared) the record
// is made under a claimed key:
//
//   - the ID stored under the key, if any, is checked (a read by ID,
//     which does not lag) and used; one Pipedrive answers 404 or deleted
//     for is forgotten;
//   - otherwise claim the key: the claimer searches, creates if the
//     record is absent, and stores its ID; a caller that does
//     not get the claim polls for the stored ID (every claimPoll, at most
//     claimWait) and takes the claim over if the claimer died (its claim
//     ran out, claimTTL, with no ID stored). A wait that runs out is
//     retried by the queue.

const (
	defaultClaimTTL  = 30 * time.Second
	defaultClaimWait = 10 * time.Second
	defaultClaimPoll = 200 * time.Millisecond
	// personKeep is how long a person's ID stays under its email's key:
	// well past the search's lag. The sync state keeps it after that; an
	// organization's is kept for good, one row a company, the cheap
	// lookup every instance makes first.
	personKeep = time.Hour
)

// onceSpec is one record made once: its shared key and how to check,
// find and create it.
type onceSpec struct {
	what string // "organization", "person", for errors
	key  string // the shared key without the client's prefix: "org:acme inc"
	// keep is how long the stored ID is kept (0: for good).
	keep time.Duration
	// check says whether id, as stored, is the record still: a read by
	// ID; false (no error) for one deleted, gone, or no longer matching.
	check func(ctx context.Context, id int64) (bool, error)
	// find searches; 0 when there is none.
	find func(ctx context.Context) (int64, error)
	// create makes the record and returns its ID.
	create func(ctx context.Context) (int64, error)
}

// once returns the record of spec: stored, found, or created (created
// true) by this caller or, while it waited, by another instance.
func (c *Client) once(ctx context.Context, spec onceSpec) (id int64, created bool, err error) {
	if c.shared == nil {
		if id, err = spec.find(ctx); err != nil || id != 0 {
			return id, false, err
		}
		id, err = spec.create(ctx)
		return id, err == nil, err
	}
	key := c.sharedPrefix + spec.key
	id, err = c.storedID(ctx, key, spec)
	if err != nil || id != 0 {
		return id, false, err
	}
	// The search is made under the claim only, so a new record costs
	// one search and one create, as without shared keys; the claim is a
	// write to synclayer's own store, not a request to Pipedrive.
	deadline := time.Now().Add(c.claimWait)
	for {
		mine, err := c.shared.ClaimShared(ctx, key, c.claimTTL)
		if err != nil {
			return 0, false, fmt.Errorf("claim the %s's shared key: %w", spec.what, err)
		}
		if mine {
			return c.make(ctx, key, spec)
		}
		if id, err = c.storedID(ctx, key, spec); err != nil || id != 0 {
			return id, false, err
		}
		if !time.Now().Before(deadline) {
			// The claimer is slow, died, or lost its create's answer:
			// retry about when its claim runs out.
			return 0, false, synclayer.RetryAfter(fmt.Errorf("pipedrive: another delivery is creating the %s: its claim is still held after %s", spec.what, c.claimWait), max(c.claimTTL-c.claimWait, c.claimPoll))
		}
		t := time.NewTimer(c.claimPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false, ctx.Err()
		case <-t.C:
		}
	}
}

// make runs under the claim: search (the record may have been made
// before synclayer kept keys, or by hand, or by a claimer whose create's
// answer was lost), create if absent, and store the ID. A failure that made nothing gives the claim up so a
// retry claims at once; a create whose answer was lost (mayHaveMade)
// keeps it until it runs out, by when the search sees what the create
// may have made.
func (c *Client) make(ctx context.Context, key string, spec onceSpec) (id int64, created bool, err error) {
	defer func() {
		var unsure *unsureError
		if errors.As(err, &unsure) {
			c.log.Info("pipedrive: a create's answer was lost; its shared claim is kept until it runs out, then the search decides", "record", spec.what, "ttl", c.claimTTL)
			return
		}
		if err != nil {
			// A fresh context: a cancelled one must not keep the claim
			// held for its whole ttl.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if ferr := c.shared.ForgetShared(rctx, key, ""); ferr != nil {
				c.log.Warn("pipedrive: could not give up a shared claim; it runs out by itself", "record", spec.what, "error", ferr)
			}
		}
	}()
	if id, err = spec.find(ctx); err != nil {
		return 0, false, err
	}
	if id == 0 {
		if id, err = spec.create(ctx); err != nil {
			return 0, false, err
		}
		created = true
	}
	c.putShared(ctx, key, spec.what, id, spec.keep)
	return id, created, nil
}

// storedID returns the ID stored under key if spec.check still accepts
// it; one it does not is forgotten (only if the key still holds it).
func (c *Client) storedID(ctx context.Context, key string, spec onceSpec) (int64, error) {
	v, ok, err := c.shared.FindShared(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("read the %s's shared key: %w", spec.what, err)
	}
	if !ok {
		return 0, nil
	}
	id, perr := strconv.ParseInt(v, 10, 64)
	if perr == nil && id > 0 {
		good, err := spec.check(ctx, id)
		if err != nil {
			return 0, err
		}
		if good {
			return id, nil
		}
	}
	if err := c.shared.ForgetShared(ctx, key, v); err != nil {
		return 0, fmt.Errorf("forget the %s's stale shared key: %w", spec.what, err)
	}
	return 0, nil
}

// putShared stores id under key. The record exists whatever the store
// says, so a failure is only logged: the others find it by search once
// the index catches up, or take the claim over when it runs out.
func (c *Client) putShared(ctx context.Context, key, what string, id int64, keep time.Duration) {
	if err := c.shared.PutShared(ctx, key, strconv.FormatInt(id, 10), keep); err != nil && !errors.Is(err, context.Canceled) {
		c.log.Warn("pipedrive: could not store a record's ID under its shared key", "record", what, "error", err)
	}
}

// unsureError is a create's error after which the record may exist
// anyway: no answer (a timeout, a dropped connection), or a 5xx or 408.
type unsureError struct{ err error }

func (e *unsureError) Error() string { return e.err.Error() }
func (e *unsureError) Unwrap() error { return e.err }

// mayHaveMade marks err, a create's, as unsure unless Pipedrive answered
// it with a refusal (a 4xx other than 408), which made nothing.
func mayHaveMade(err error) error {
	var apiErr *APIError
	if err == nil || (errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusRequestTimeout) {
		return err
	}
	return &unsureError{err: err}
}
