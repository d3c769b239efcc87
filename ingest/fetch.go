package ingest

import (
	"context"

	"synclayer"
)

// applyFetch queues a notification's record on its source's fetch queue
// (synclayer.Fetcher). The job coalesces by record, so ten notifications
// of one order before the worker gets to it cost one read.
func (in *Ingester) applyFetch(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	ref := *ev.Fetch
	if ref.Kind == "" || ref.ID == "" {
		return fail(ev, "the notification names no record to read")
	}
	q := synclayer.FetchQueue(ev.Source)
	if err := tx.EnqueueJob(ctx, q, ev.Source, ref.Key(), ev.ReceivedAt); err != nil {
		return nil, err
	}
	ev.Status, ev.Reason = synclayer.EventApplied, "queued: the "+ref.Kind+" is read from "+ev.Source+" next"
	return []string{q}, nil
}
