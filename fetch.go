package synclayer

import (
	"context"
	"net/url"
	"strings"
)

// Fetcher is a source whose webhooks only name what changed (a Facebook
// lead's id, a BigCommerce order's id): Parse returns a notification, an
// Event with Fetch set, which is stored and acknowledged like any event;
// ingest queues the record on the source's fetch queue, coalesced by
// record, and a worker calls Fetch and ingests what it returns. A burst
// of notifications so never calls the platform faster than its queue
// allows, and a crash between the acknowledgement and the fetch loses
// nothing.
type Fetcher interface {
	Source
	// Fetch reads the record ref names from the platform and returns its
	// events (their Source is set by the caller). Errors classify as any
	// destination call's: RetryAfter for a rate limit, PermanentError for
	// what retrying cannot fix (a lead deleted, a token revoked).
	Fetch(ctx context.Context, ref FetchRef) ([]*Event, error)
}

// EventFetchRequested is a notification's type: a record is to be read.
const EventFetchRequested EventType = "fetch_requested"

// FetchRef names a record a Fetcher reads: its kind ("lead", "order")
// and the platform's id.
type FetchRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Key is the ref as a job's record key.
func (r FetchRef) Key() string { return url.QueryEscape(r.Kind) + ":" + url.QueryEscape(r.ID) }

// ParseFetchKey reads a record key Key made.
func ParseFetchKey(key string) (FetchRef, bool) {
	k, id, ok := strings.Cut(key, ":")
	if !ok {
		return FetchRef{}, false
	}
	kind, err1 := url.QueryUnescape(k)
	rid, err2 := url.QueryUnescape(id)
	if err1 != nil || err2 != nil || kind == "" || rid == "" {
		return FetchRef{}, false
	}
	return FetchRef{Kind: kind, ID: rid}, true
}

// FetchSkipped is Fetch's answer for a record that is gone and whose
// absence says nothing to apply (a BigCommerce cart converted or deleted
// before it was read; its own callback says which): the job ends, with
// no dead letter and nothing ingested, and Note is traced under the
// record (the canonical ID of the source's SourceID).
type FetchSkipped struct {
	SourceID string
	Note     string
}

func (e *FetchSkipped) Error() string { return e.Note }

// FetchQueue is the queue of source's fetches.
func FetchQueue(source string) string { return Queue("fetch", source) }

// Challenger is a source whose platform checks its webhook URL with a GET
// it must answer with a value from the query (Facebook's hub.challenge),
// not with JSON.
type Challenger interface {
	Source
	// Challenge returns the body to answer a GET of the webhook URL with,
	// or an EUNAUTHORIZED error when its token is wrong.
	Challenge(query url.Values) (string, error)
}
