package synclayer

import (
	"encoding/json"
	"maps"
	"slices"
)

// AttributeDiff is how a contact's attributes at a destination move from
// what it holds, as synclayer last sent them, to what the field mapping
// sends now. Every destination's customer-sync plans with it, so a
// mapping that stops mapping a field behaves alike everywhere: the
// attribute the old mapping filled is left alone, not blanked, unless
// clear_unmapped is on.
type AttributeDiff struct {
	// Send holds the values that are new or changed.
	Send map[string]json.RawMessage
	// Clear lists, sorted, the mapped attributes whose value is gone at
	// the source: the destination empties them, its own way.
	Clear []string
	// ClearUnmapped lists, sorted, the held attributes the mapping no
	// longer sends, emptied because clear_unmapped is on. The destination
	// empties them as it does Clear.
	ClearUnmapped []string
	// Kept holds the attributes the mapping no longer sends, left as they
	// are (clear_unmapped off). The destination still holds them, so the
	// sync state keeps them apart from the mapped ones: a later
	// clear_unmapped can still clear them, and a batch row never resends
	// them.
	Kept map[string]json.RawMessage
}

// DiffAttributes compares held, what the destination holds by attribute
// (the mapped ones and those kept from an earlier mapping), with want,
// what the mapping sends now. mapped reports whether an attribute is a
// target of the mapping in effect, whether or not the contact has a value
// for it. Values are compared as bytes; a destination that stores values
// in another form canonicalizes held first.
func DiffAttributes(held, want map[string]json.RawMessage, mapped func(attr string) bool, clearUnmapped bool) AttributeDiff {
	d := AttributeDiff{Send: map[string]json.RawMessage{}, Kept: map[string]json.RawMessage{}}
	for k, v := range want {
		if old, ok := held[k]; !ok || string(old) != string(v) {
			d.Send[k] = v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(held)) {
		if _, ok := want[k]; ok {
			continue
		}
		switch {
		case mapped(k):
			d.Clear = append(d.Clear, k)
		case clearUnmapped:
			d.ClearUnmapped = append(d.ClearUnmapped, k)
		default:
			d.Kept[k] = held[k]
		}
	}
	return d
}

// Unmapped is what the plan does with the attributes the destination
// holds from an earlier mapping that the mapping in effect no longer
// sends.
func (d AttributeDiff) Unmapped() UnmappedAttributes {
	return UnmappedAttributes{Kept: slices.Sorted(maps.Keys(d.Kept)), Cleared: d.ClearUnmapped}
}

// UnmappedAttributes names, for dry runs and the trace, the attributes a
// destination holds that the mapping no longer sends: Kept are left
// alone, Cleared are emptied (clear_unmapped).
type UnmappedAttributes struct {
	Kept    []string `json:"kept,omitempty"`
	Cleared []string `json:"cleared,omitempty"`
}

// IsZero reports whether the destination holds no unmapped attribute.
func (u UnmappedAttributes) IsZero() bool { return len(u.Kept) == 0 && len(u.Cleared) == 0 }

// MergeAttributes is a and b as one map, b's value winning; nil when both
// are empty.
func MergeAttributes(a, b map[string]json.RawMessage) map[string]json.RawMessage {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}
