package skill

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

// CustomerSyncName is the skill's name in config, metrics and job rows.
const CustomerSyncName = "customer-sync"

// CustomerSync runs customer-sync for one destination: each job brings one
// contact up to date there. It reads the contact's current state when the
// job runs, so one run covers every change made before it.
type CustomerSync struct {
	Store       synclayer.Store
	Destination string // the destination's name: its sync state and trace lines carry it
	Sync        synclayer.ContactSync
	Now         func() time.Time
}

// Handle delivers one job and returns what the destination now holds and
// the trace entry for the delivery.
func (s *CustomerSync) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	c, held, err := s.Store.FindContactForDelivery(ctx, job.RecordKey, s.Destination)
	if err != nil {
		if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
			return nil, nil, synclayer.Permanent(fmt.Errorf("contact %s no longer exists", job.RecordKey))
		}
		return nil, nil, err
	}
	var local json.RawMessage // nil: never delivered there
	if held != nil {
		local = held.State
	}
	prev := local
	if job.Attempts > 1 {
		// An earlier attempt may have reached the destination without its
		// answer reaching us, so what we last recorded may be stale: plan
		// against what the destination holds now.
		if prev, err = s.Sync.ReadBack(ctx, c, local); err != nil {
			return nil, nil, err
		}
	}
	plan, err := s.Sync.Plan(c, prev)
	if err != nil {
		return nil, nil, err
	}
	if plan.Intent != nil {
		st := &synclayer.SyncState{RecordKey: c.ID, Destination: s.Destination, RemoteID: c.ID, State: plan.Intent}
		if err := s.Store.SaveSyncState(ctx, st, s.now()); err != nil {
			return nil, nil, fmt.Errorf("record the intent before calling %s: %w", s.Destination, err)
		}
	}
	summary := s.Destination + ": no call (" + plan.Reason + ")"
	if plan.Op != synclayer.PlanNone {
		if summary, err = s.Sync.Apply(ctx, c, plan); err != nil {
			return nil, nil, err
		}
	}
	var shown any = plan
	if plan.Detail != nil {
		shown = plan.Detail
	}
	detail, _ := json.Marshal(map[string]any{"destination": s.Destination, "plan": shown, "contactVersion": c.Version})
	return &synclayer.SyncState{RecordKey: c.ID, Destination: s.Destination, RemoteID: c.ID, State: plan.Next},
		&synclayer.TraceEntry{ContactID: c.ID, Kind: synclayer.TraceDelivery, Summary: summary, Detail: detail}, nil
}

func (s *CustomerSync) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
