package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"synclayer"
)

// BatchLimits: HubSpot's batch upsert takes at most 100 inputs; the
// byte bound keeps a call well inside its request size.
func (s *ContactSync) BatchLimits() (maxRows, maxBytes int) { return MaxBatch, 2 << 20 }

// PlanBatch sends a contact in a batch upsert only when the upsert is all
// its plan does: a consent call, an email change, a delete or a property
// to clear goes realtime.
func (s *ContactSync) PlanBatch(c *synclayer.Contact, prev json.RawMessage) (synclayer.BatchRow, error) {
	plan, err := s.Plan(c, prev)
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	if plan.Op == synclayer.PlanNone {
		return synclayer.BatchRow{Unchanged: true}, nil
	}
	if len(plan.Calls) != 1 || plan.Calls[0].Path != pathUpsert {
		return synclayer.BatchRow{Realtime: "consent, an email change or a delete goes one by one"}, nil
	}
	var b upsertBody
	remarshal(plan.Calls[0].Body, &b)
	for _, v := range b.Inputs[0].Properties {
		if v == "" {
			return synclayer.BatchRow{Realtime: "a property to clear"}, nil
		}
	}
	return synclayer.BatchRow{Group: "contacts", Row: mustJSON(b.Inputs[0]), Next: plan.Next}, nil
}

// batchResults keeps the inputs each batch call refused until CheckBatch
// asks: HubSpot answers a batch upsert at once, so there is no job to
// poll.
var batchResults = struct {
	sync.Mutex
	seq     int
	refused map[string]map[int]string
}{refused: map[string]map[int]string{}}

// SendBatch upserts rows in one call. The job ID it returns only names
// the answer kept in memory; after a restart CheckBatch does not know it
// and the rows are sent again (an upsert is idempotent).
func (s *ContactSync) SendBatch(ctx context.Context, group string, rows []json.RawMessage) (string, error) {
	inputs := make([]UpsertInput, len(rows))
	index := map[string]int{}
	for i, r := range rows {
		if err := json.Unmarshal(r, &inputs[i]); err != nil {
			return "", synclayer.Permanent(fmt.Errorf("hubspot: decode batch row %d: %w", i, err))
		}
		index[inputs[i].ID] = i
	}
	res, err := s.client.UpsertContacts(ctx, inputs)
	if err != nil {
		return "", err
	}
	refused := map[int]string{}
	for _, e := range res.Errors {
		for _, id := range e.Context["ids"] {
			if i, ok := index[id]; ok {
				refused[i] = e.Category + ": " + redact(e.Message)
			}
		}
	}
	batchResults.Lock()
	defer batchResults.Unlock()
	batchResults.seq++
	id := "upsert-" + strconv.Itoa(batchResults.seq)
	batchResults.refused[id] = refused
	return id, nil
}

// CheckBatch reports the inputs the call refused.
func (s *ContactSync) CheckBatch(ctx context.Context, jobID string) (bool, map[int]string, error) {
	batchResults.Lock()
	defer batchResults.Unlock()
	refused, ok := batchResults.refused[jobID]
	if !ok {
		return false, nil, synclayer.Permanent(errors.New("hubspot: the batch's answer is no longer known (a restart): its contacts are sent again"))
	}
	delete(batchResults.refused, jobID)
	return true, refused, nil
}
