package hubspot

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// state is what HubSpot is known to hold for a contact after the last
// successful delivery: the sync state customer-sync records.
type state struct {
	ID     string                     `json:"id,omitempty"` // HubSpot's record ID
	Email  string                     `json:"email,omitempty"`
	Values map[string]json.RawMessage `json:"values,omitempty"` // property → the string value sent
	// Kept are the values an earlier mapping sent to properties this one
	// no longer maps: HubSpot still holds them, left alone.
	Kept map[string]json.RawMessage `json:"kept,omitempty"`
	// Subscribed records that the address is subscribed to the
	// subscription (synclayer's subscribe, or read back).
	Subscribed bool `json:"subscribed,omitempty"`
	// Unsubscribed records that the address was unsubscribed from the
	// subscription or opted out of all email, by synclayer or inside
	// HubSpot. Synclayer never subscribes it again.
	Unsubscribed bool `json:"unsubscribed,omitempty"`
	// UnsubscribedByUs records that synclayer sent the unsubscribe,
	// written (as the plan's Intent) before the call.
	UnsubscribedByUs bool `json:"unsubscribedByUs,omitempty"`
	Deleted          bool `json:"deleted,omitempty"`
	// Company is the company the contact was associated with (its name).
	Company string `json:"company,omitempty"`
}

func decodeState(raw json.RawMessage) (*state, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	st := &state{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("hubspot: decode sync state: %w", err)
	}
	return st, nil
}

func (st *state) live() bool { return st != nil && !st.Deleted }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// contactEmail returns c's address, lowercased as HubSpot keeps it, or a
// Permanent error saying why HubSpot cannot hold c. The address itself
// is never in the error.
func contactEmail(c *synclayer.Contact) (string, error) {
	var email string
	_ = json.Unmarshal(c.Value(synclayer.FieldEmail), &email)
	if email == "" {
		email = c.Email
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", synclayer.Permanent(fmt.Errorf("contact %s has no email: HubSpot contacts are keyed by email", c.ID))
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return "", synclayer.Permanent(fmt.Errorf("contact %s has an email HubSpot would refuse (not a plain address like name@example.com); fix it at the source", c.ID))
	}
	return email, nil
}

// values converts the mapped canonical fields to HubSpot property values,
// which are all strings: numbers as decimals, dates as YYYY-MM-DD, lists
// joined with ";", everything else as text. The email is apart.
func (s *ContactSync) values(c *synclayer.Contact) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, field := range slices.Sorted(maps.Keys(s.mapping)) {
		prop := s.mapping[field]
		if prop == "email" {
			continue
		}
		raw := c.Value(field)
		if raw == nil || string(raw) == "null" {
			continue
		}
		v, err := propertyValue(synclayer.KindOf(field), raw)
		if err != nil {
			return nil, synclayer.Permanent(fmt.Errorf("field %s (property %s): %w", field, prop, err))
		}
		out[prop] = mustJSON(v)
	}
	return out, nil
}

func propertyValue(k synclayer.FieldKind, raw json.RawMessage) (string, error) {
	switch k {
	case synclayer.KindNumber:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "", fmt.Errorf("not a number")
			}
			n = json.Number(s)
		}
		if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
			return "", fmt.Errorf("not a number")
		}
		return n.String(), nil
	case synclayer.KindDate:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("not a date")
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "", fmt.Errorf("not an RFC 3339 date")
		}
		return t.UTC().Format("2006-01-02"), nil
	case synclayer.KindList:
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return "", fmt.Errorf("not a list of strings")
		}
		return strings.Join(l, ";"), nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64, bool:
		return string(raw), nil
	}
	return string(raw), nil
}

// strings converts state values back to the map HubSpot takes.
func asStrings(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		_ = json.Unmarshal(v, &s)
		out[k] = s
	}
	return out
}

// Fields flattens a state for dry runs: email, properties.<name>,
// subscribed, unsubscribed and deleted.
func (s *ContactSync) Fields(raw json.RawMessage) (map[string]json.RawMessage, error) {
	st, err := decodeState(raw)
	if err != nil || st == nil {
		return nil, err
	}
	out := map[string]json.RawMessage{"email": mustJSON(st.Email)}
	for k, v := range synclayer.MergeAttributes(st.Kept, st.Values) {
		out["properties."+k] = v
	}
	if st.Subscribed {
		out["subscribed"] = mustJSON(true)
	}
	if st.Unsubscribed {
		out["unsubscribed"] = mustJSON(true)
	}
	if st.Deleted {
		out["deleted"] = mustJSON(true)
	}
	return out, nil
}
