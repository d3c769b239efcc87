package skill

import (
	"context"
	"errors"
	"fmt"

	"synclayer"
)

// Fetch runs a source's fetch queue: each job names a record a
// notification said changed (synclayer.Fetcher); the job reads it from
// the platform and ingests what it returns, so the record goes through
// the same rules as any webhook's. The events' own dedupe keys keep a
// retried job from applying a record twice.
type Fetch struct {
	Source  string // the source's config name
	Fetcher synclayer.Fetcher
	// Ingest stores and applies events, as the webhook ingress does.
	Ingest func(ctx context.Context, events []*synclayer.Event) error
}

// Handle reads the job's record and ingests it.
func (f *Fetch) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	ref, ok := synclayer.ParseFetchKey(job.RecordKey)
	if !ok {
		return nil, nil, synclayer.Permanent(fmt.Errorf("the fetch job's record key %q names no record", job.RecordKey))
	}
	events, err := f.Fetcher.Fetch(ctx, ref)
	var skip *synclayer.FetchSkipped
	if errors.As(err, &skip) {
		return nil, &synclayer.TraceEntry{ContactID: synclayer.CanonicalID(f.Source, skip.SourceID), Kind: synclayer.TraceEvent,
			Summary: "fetch from " + f.Source + ": skipped (" + skip.Note + ")"}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, ev := range events {
		ev.Source = f.Source
	}
	if len(events) == 0 {
		return nil, nil, nil
	}
	return nil, nil, f.Ingest(ctx, events)
}
