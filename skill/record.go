package skill

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

// held is the state recorded for key at destination; nil when nothing was
// delivered there yet.
func held(ctx context.Context, st synclayer.Store, key, destination string) (json.RawMessage, error) {
	s, err := st.FindSyncState(ctx, key, destination)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read what %s holds for %s: %w", destination, key, err)
	}
	return s.State, nil
}

// delivered is the outcome of a record's delivery: the state the
// destination holds afterwards under key (prev when nothing was sent),
// and the trace line under traceKey with the plan as its detail.
func delivered(destination, key, remoteID, traceKey, summary string, plan *synclayer.Plan, prev json.RawMessage, detail map[string]any) (*synclayer.SyncState, *synclayer.TraceEntry) {
	next := plan.Next
	if next == nil {
		next = prev
	}
	var shown any = plan
	if plan.Detail != nil {
		shown = plan.Detail
	}
	detail["destination"], detail["plan"] = destination, shown
	d, _ := json.Marshal(detail)
	trace := &synclayer.TraceEntry{ContactID: traceKey, Kind: synclayer.TraceDelivery, Summary: summary, Detail: d}
	if next == nil {
		return nil, trace
	}
	return &synclayer.SyncState{RecordKey: key, Destination: destination, RemoteID: remoteID, State: next}, trace
}
