package mailchimp

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// memberState is what Mailchimp is known to hold for a contact after the
// last successful delivery: the sync state Plan takes.
type memberState struct {
	Email       string                     `json:"email,omitempty"`
	Status      string                     `json:"status,omitempty"` // Mailchimp's, as last known
	MergeFields map[string]json.RawMessage `json:"mergeFields,omitempty"`
	// Kept are the merge fields an earlier mapping filled that this one no
	// longer maps: Mailchimp still holds them, left alone.
	Kept      map[string]json.RawMessage `json:"kept,omitempty"`
	Tags      []string                   `json:"tags,omitempty"`
	Deleted   bool                       `json:"deleted,omitempty"`   // archived or permanently deleted by synclayer
	Forgotten bool                       `json:"forgotten,omitempty"` // permanently deleted: Mailchimp refuses to re-add the address

	// UnsubscribedByUs records that synclayer sent the unsubscribe, written
	// (as Intent) before the call. UnsubscribedAt is when the member was
	// unsubscribed: the opt-out synclayer sent, or Mailchimp's last_changed
	// for one made inside Mailchimp; only a newer opt-in may ask the person
	// to confirm again.
	UnsubscribedByUs bool      `json:"unsubscribedByUs,omitempty"`
	UnsubscribedAt   time.Time `json:"unsubscribedAt,omitzero"`
	// OptInAt is the opt-in the last subscribe or pending acted on, so one
	// opt-in asks for at most one confirmation.
	OptInAt time.Time `json:"optInAt,omitzero"`
}

func decodeState(raw json.RawMessage) (*memberState, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	st := &memberState{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("decode Mailchimp sync state: %w", err)
	}
	return st, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// live reports whether Mailchimp holds a member for st, as far as known.
func (st *memberState) live() bool { return st != nil && !st.Deleted }

// email returns c's address, or a Permanent error saying why Mailchimp
// cannot hold c. The address itself is never in the error.
func contactEmail(c *synclayer.Contact) (string, error) {
	var email string
	_ = json.Unmarshal(c.Value(synclayer.FieldEmail), &email)
	if email == "" {
		email = c.Email
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return "", synclayer.Permanent(fmt.Errorf("contact %s has no email: Mailchimp identifies members by their address", c.ID))
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return "", synclayer.Permanent(fmt.Errorf("contact %s has an email Mailchimp would refuse (not a plain address like name@example.com); fix it at the source", c.ID))
	}
	return email, nil
}

// mapped reports whether tag is a merge field the mapping in effect fills.
func (s *ContactSync) mapped(tag string) bool {
	for _, t := range s.mapping {
		if t == tag {
			return true
		}
	}
	return false
}

// mergeFields converts the mapped canonical fields to merge values; only
// mapped fields leave synclayer.
func (s *ContactSync) mergeFields(c *synclayer.Contact) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, field := range slices.Sorted(maps.Keys(s.mapping)) {
		tag := s.mapping[field]
		if tag == "email" || tag == "tags" {
			continue
		}
		raw := c.Value(field)
		if raw == nil || string(raw) == "null" {
			continue
		}
		v, err := mergeValue(synclayer.KindOf(field), raw)
		if err != nil {
			return nil, synclayer.Permanent(fmt.Errorf("field %s (merge field %s): %w", field, tag, err))
		}
		out[tag] = v
	}
	return out, nil
}

// tags returns the tags the contact should carry, or nil when no field is
// mapped to Mailchimp tags.
func (s *ContactSync) tags(c *synclayer.Contact) ([]string, bool) {
	for field, target := range s.mapping {
		if target != "tags" {
			continue
		}
		var tags []string
		if field == synclayer.FieldTags {
			tags = c.AllTags()
		} else {
			_ = json.Unmarshal(c.Value(field), &tags)
		}
		slices.Sort(tags)
		return slices.Compact(tags), true
	}
	return nil, false
}

// mergeValue converts a canonical value to what a merge field of the
// matching type takes: numbers as JSON numbers, dates as YYYY-MM-DD,
// lists joined with ", ", everything else as text.
func mergeValue(k synclayer.FieldKind, raw json.RawMessage) (json.RawMessage, error) {
	switch k {
	case synclayer.KindNumber:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, fmt.Errorf("not a number")
			}
			n = json.Number(s)
		}
		if _, err := n.Float64(); err != nil {
			return nil, fmt.Errorf("not a number")
		}
		return json.RawMessage(n.String()), nil
	case synclayer.KindDate:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("not a date")
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fmt.Errorf("not an RFC 3339 date")
		}
		return mustJSON(t.UTC().Format("2006-01-02")), nil
	case synclayer.KindList:
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("not a list of strings")
		}
		return mustJSON(strings.Join(l, ", ")), nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case string:
		return mustJSON(x), nil
	case float64:
		return raw, nil
	case bool:
		return mustJSON(fmt.Sprint(x)), nil
	}
	return mustJSON(string(raw)), nil
}

// Fields flattens a state into field → value for dry runs: email, status,
// merge_fields.<TAG>, tags and deleted.
func (s *ContactSync) Fields(state json.RawMessage) (map[string]json.RawMessage, error) {
	st, err := decodeState(state)
	if err != nil || st == nil {
		return nil, err
	}
	out := map[string]json.RawMessage{"email": mustJSON(st.Email)}
	if st.Status != "" {
		out["status"] = mustJSON(st.Status)
	}
	for tag, v := range synclayer.MergeAttributes(st.Kept, st.MergeFields) {
		out["merge_fields."+tag] = v
	}
	if st.Tags != nil {
		out["tags"] = mustJSON(st.Tags)
	}
	if st.Deleted {
		out["deleted"] = mustJSON(true)
	}
	return out, nil
}
