package brevo

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"

	"synclayer"
)

// Preview is what one delivery of a contact would do, for dry runs: the
// Brevo calls, and the field-level difference between what Brevo holds now
// and what it would hold after. Next is the sync state the delivery would
// record, so a dry run of several records plans each against the last.
type Preview struct {
	Calls   []Call               `json:"calls"`
	Changes []Change             `json:"changes"`
	Reason  string               `json:"reason,omitempty"` // why no call is needed
	Next    *synclayer.SyncState `json:"-"`
}

// Call is one planned HTTP request to Brevo.
type Call struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body,omitempty"`
}

// Change is one field that differs: Before is null when Brevo holds
// nothing, After null when the delivery removes it.
type Change struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// Preview runs Plan for c against held, what Brevo holds (nil when the
// contact was never delivered), without calling Brevo. Errors are Plan's:
// a Permanent error is a delivery that would be dead-lettered.
func (s *CustomerSync) Preview(c *synclayer.Contact, held *synclayer.SyncState) (*Preview, error) {
	var prev *brevoState
	if held != nil {
		prev = &brevoState{}
		if err := json.Unmarshal(held.State, prev); err != nil {
			return nil, fmt.Errorf("decode sync state of %s: %w", c.ID, err)
		}
	}
	plan, err := s.Plan(c, prev)
	if err != nil {
		return nil, err
	}
	p := &Preview{Reason: plan.Reason, Calls: []Call{}}
	path := "/contacts/" + url.PathEscape(c.ID) + "?identifierType=ext_id"
	switch plan.Op {
	case OpCreate:
		p.Calls = append(p.Calls, Call{Method: "POST", Path: "/contacts", Body: plan.Create})
	case OpUpdate:
		p.Calls = append(p.Calls, Call{Method: "PUT", Path: path, Body: plan.Update})
	case OpDelete:
		p.Calls = append(p.Calls, Call{Method: "DELETE", Path: path})
	}
	p.Changes = diffStates(prev, &plan.Next)
	state, _ := json.Marshal(plan.Next)
	p.Next = &synclayer.SyncState{RecordKey: c.ID, Destination: "brevo", RemoteID: c.ID, State: state}
	return p, nil
}

// diffStates lists what differs between two Brevo states, attributes by
// name, in a stable order.
func diffStates(prev, next *brevoState) []Change {
	before := flatten(prev)
	after := flatten(next)
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	out := []Change{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, a := before[k], after[k]
		if string(b) == string(a) || (b == nil && string(a) == "false") {
			continue // a new contact without a flag is not a change
		}
		out = append(out, Change{Field: k, Before: orNull(b), After: orNull(a)})
	}
	return out
}

func flatten(st *brevoState) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if st == nil {
		return out
	}
	if st.Email != "" {
		out["email"] = mustJSON(st.Email)
	}
	for name, v := range st.Attributes {
		out["attributes."+name] = v
	}
	out["inList"] = mustJSON(st.InList)
	out["emailBlacklisted"] = mustJSON(st.EmailBlacklisted)
	out["smsBlacklisted"] = mustJSON(st.SMSBlacklisted)
	out["deleted"] = mustJSON(st.Deleted)
	return out
}

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	return v
}
