package klaviyo

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"synclayer"
)

// state is what Klaviyo is known to hold for a contact after the last
// successful delivery: the sync state customer-sync records.
type state struct {
	ProfileID string `json:"profileId,omitempty"`
	Email     string `json:"email,omitempty"`
	// Values are the mapped values sent, by target: "first_name",
	// "location.city", or a custom property name.
	Values map[string]json.RawMessage `json:"values,omitempty"`
	// Kept are the values an earlier mapping sent to targets this one no
	// longer maps: Klaviyo still holds them, left alone.
	Kept map[string]json.RawMessage `json:"kept,omitempty"`
	// Consent is Klaviyo's email marketing consent as last known:
	// SUBSCRIBED, UNSUBSCRIBED, NEVER_SUBSCRIBED, or "" for unknown.
	Consent string `json:"consent,omitempty"`
	// ConsentByUs records that synclayer's own call set Consent.
	ConsentByUs bool `json:"consentByUs,omitempty"`
	// UnsubscribedByUs records that synclayer unsubscribed the profile,
	// written before the call (the plan's Intent): only an opt-out
	// synclayer made may be lifted by a later opt-in.
	UnsubscribedByUs bool `json:"unsubscribedByUs,omitempty"`
	// KlaviyoOptOut records that Klaviyo holds an opt-out or suppression
	// synclayer did not make (the person unsubscribed in Klaviyo, a spam
	// complaint, a manual suppression). Synclayer never subscribes such a
	// profile again: Klaviyo's subscribe job would lift it.
	KlaviyoOptOut bool `json:"klaviyoOptOut,omitempty"`
	InList        bool `json:"inList,omitempty"` // a member of list_id through synclayer
	Deleted       bool `json:"deleted,omitempty"`
}

func decodeState(raw json.RawMessage) (*state, error) {
	if isNull(raw) {
		return nil, nil
	}
	st := &state{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("klaviyo: decode sync state: %w", err)
	}
	return st, nil
}

// marks is the part of st that outlives the profile: who opted the person
// out. A deleted or recreated profile keeps it.
func (st *state) marks() state {
	if st == nil {
		return state{}
	}
	return state{UnsubscribedByUs: st.UnsubscribedByUs, KlaviyoOptOut: st.KlaviyoOptOut}
}

// Fields flattens a state for dry runs: email, profileId, each mapped
// target, consent, inList, klaviyoOptOut and deleted.
func (s *ContactSync) Fields(raw json.RawMessage) (map[string]json.RawMessage, error) {
	st, err := decodeState(raw)
	if err != nil || st == nil {
		return map[string]json.RawMessage{}, err
	}
	out := map[string]json.RawMessage{}
	held := synclayer.MergeAttributes(st.Kept, st.Values)
	for _, k := range slices.Sorted(maps.Keys(held)) {
		out[k] = held[k]
	}
	if st.Email != "" {
		out["email"] = mustJSON(st.Email)
	}
	if st.ProfileID != "" {
		out["profileId"] = mustJSON(st.ProfileID)
	}
	if st.Consent != "" {
		out["subscriptions.email.marketing.consent"] = mustJSON(st.Consent)
	}
	out["inList"] = mustJSON(st.InList)
	out["klaviyoOptOut"] = mustJSON(st.KlaviyoOptOut)
	out["deleted"] = mustJSON(st.Deleted)
	return out, nil
}

// profileValues reads the mapped targets back from a profile's attributes.
func (s *ContactSync) profileValues(p *Profile) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	var loc, props map[string]json.RawMessage
	_ = json.Unmarshal(p.Attributes["location"], &loc)
	_ = json.Unmarshal(p.Attributes["properties"], &props)
	for _, target := range s.mapping {
		var v json.RawMessage
		switch {
		case target == "email":
			continue
		case strings.HasPrefix(target, "location."):
			v = loc[strings.TrimPrefix(target, "location.")]
		case isStandard(target):
			v = p.Attributes[target]
		default:
			v = props[target]
		}
		if !isNull(v) {
			out[target] = canon(v)
		}
	}
	return out
}
