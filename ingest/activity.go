package ingest

import (
	"context"

	"synclayer"
)

// applyActivity stores a ticket, loyalty or form event. (Filled in by the
// workflows work.)
func (in *Ingester) applyActivity(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	ev.Status, ev.Reason = synclayer.EventUnchanged, "activities are not handled yet"
	return nil, nil
}
