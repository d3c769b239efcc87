package skill

import (
	"encoding/json"
	"maps"
	"slices"

	"synclayer"
)

// Preview is what one delivery of a contact would do, for dry runs: the
// destination's calls, and the field-level difference between what it
// holds now and what it would hold after. Next is the sync state the
// delivery would record, so a dry run of several records plans each
// against the last.
type Preview struct {
	Calls   []synclayer.PlannedCall `json:"calls"`
	Changes []Change                `json:"changes"`
	Reason  string                  `json:"reason,omitempty"` // why no call is needed
	// Unmapped names the attributes the destination holds that the
	// mapping no longer sends: left alone, or cleared (clear_unmapped).
	Unmapped synclayer.UnmappedAttributes `json:"unmapped,omitzero"`
	Next     *synclayer.SyncState         `json:"-"`
}

// Change is one field that differs: Before is null when the destination
// holds nothing, After null when the delivery removes it.
type Change struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// Preview plans c against held, what the destination holds (nil when the
// contact was never delivered), without calling it. Errors are Plan's: a
// Permanent error is a delivery that would be dead-lettered.
func (s *CustomerSync) Preview(c *synclayer.Contact, held *synclayer.SyncState) (*Preview, error) {
	var prev json.RawMessage
	if held != nil {
		prev = held.State
	}
	plan, err := s.Sync.Plan(c, prev)
	if err != nil {
		return nil, err
	}
	p := &Preview{Reason: plan.Reason, Calls: plan.Calls, Unmapped: plan.Unmapped}
	if p.Calls == nil {
		p.Calls = []synclayer.PlannedCall{}
	}
	before, err := s.fields(prev)
	if err != nil {
		return nil, err
	}
	after, err := s.fields(plan.Next)
	if err != nil {
		return nil, err
	}
	p.Changes = diff(before, after)
	p.Next = &synclayer.SyncState{RecordKey: c.ID, Destination: s.Destination, RemoteID: c.ID, State: plan.Next}
	return p, nil
}

func (s *CustomerSync) fields(state json.RawMessage) (map[string]json.RawMessage, error) {
	if state == nil {
		return map[string]json.RawMessage{}, nil
	}
	return s.Sync.Fields(state)
}

// diff lists what differs between two flattened states, in a stable order.
func diff(before, after map[string]json.RawMessage) []Change {
	keys := maps.Clone(before)
	maps.Copy(keys, after)
	out := []Change{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, a := before[k], after[k]
		if string(b) == string(a) || (b == nil && (string(a) == "false" || string(a) == "null")) {
			continue // a new record without a flag is not a change
		}
		out = append(out, Change{Field: k, Before: orNull(b), After: orNull(a)})
	}
	return out
}

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	return v
}
