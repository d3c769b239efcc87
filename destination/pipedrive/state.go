package pipedrive

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

// state is what Pipedrive is known to hold for a contact after the last
// successful delivery: the sync state customer-sync records.
type state struct {
	ID     int64                      `json:"id,omitempty"` // the person's ID
	Email  string                     `json:"email,omitempty"`
	Values map[string]json.RawMessage `json:"values,omitempty"` // mapping target → the value sent
	// Kept are the values an earlier mapping sent to fields this one no
	// longer maps: Pipedrive still holds them, left alone.
	Kept map[string]json.RawMessage `json:"kept,omitempty"`
	// Marketing is the marketing_status known: subscribed, unsubscribed,
	// or "" (no_consent, archived, or not known). Unsubscribed is never
	// lifted by synclayer.
	Marketing string `json:"marketing,omitempty"`
	// UnsubscribedByUs records that synclayer wrote the unsubscribe,
	// written (as the plan's Intent) before the call.
	UnsubscribedByUs bool `json:"unsubscribedByUs,omitempty"`
	Deleted          bool `json:"deleted,omitempty"`
	// OrgID is the organization the person was linked to, for
	// Values[org_id], the company's name.
	OrgID int64 `json:"orgId,omitempty"`
}

func decodeState(raw json.RawMessage) (*state, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	st := &state{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("pipedrive: decode sync state: %w", err)
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

// contactEmail returns c's address, lowercased, or a Permanent error
// saying why Pipedrive cannot be matched on it. The address itself is
// never in the error.
func contactEmail(c *synclayer.Contact) (string, error) {
	var email string
	_ = json.Unmarshal(c.Value(synclayer.FieldEmail), &email)
	if email == "" {
		email = c.Email
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", synclayer.Permanent(fmt.Errorf("contact %s has no email: Pipedrive persons are found by email here", c.ID))
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return "", synclayer.Permanent(fmt.Errorf("contact %s has an email that is not a plain address like name@example.com; fix it at the source", c.ID))
	}
	return email, nil
}

// values converts the mapped canonical fields to what Pipedrive takes:
// text as strings, numbers as JSON numbers (double fields), dates as
// YYYY-MM-DD (date fields), lists joined with ", " (text fields), and
// the owner as a user ID. The email is apart.
func (s *ContactSync) values(c *synclayer.Contact) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, field := range slices.Sorted(maps.Keys(s.mapping)) {
		target := s.mapping[field]
		if target == TargetEmail {
			continue
		}
		if target == TargetOrg {
			if name := companyName(c); name != "" {
				out[target] = mustJSON(name)
			}
			continue
		}
		raw := c.Value(field)
		if raw == nil || string(raw) == "null" {
			continue
		}
		kind := synclayer.KindOf(field)
		if target == TargetOwner {
			kind = synclayer.KindNumber
		}
		v, err := fieldValue(kind, raw)
		if err != nil {
			return nil, synclayer.Permanent(fmt.Errorf("field %s (Pipedrive %s): %w", field, target, err))
		}
		if target == TargetOwner {
			if n, err := strconv.ParseInt(string(v), 10, 64); err != nil || n <= 0 {
				return nil, synclayer.Permanent(fmt.Errorf("field owner (Pipedrive owner_id): not a Pipedrive user ID"))
			}
		}
		out[target] = v
	}
	return out, nil
}

func fieldValue(k synclayer.FieldKind, raw json.RawMessage) (json.RawMessage, error) {
	switch k {
	case synclayer.KindNumber:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, fmt.Errorf("not a number")
			}
			n = json.Number(strings.TrimSpace(s))
		}
		if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
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
	if s, ok := v.(string); ok {
		return mustJSON(s), nil
	}
	return mustJSON(string(raw)), nil
}

func str(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return string(v)
	}
	return s
}

// Fields flattens a state for dry runs: email, fields.<target>,
// marketing_status and deleted.
func (s *ContactSync) Fields(raw json.RawMessage) (map[string]json.RawMessage, error) {
	st, err := decodeState(raw)
	if err != nil || st == nil {
		return nil, err
	}
	out := map[string]json.RawMessage{"email": mustJSON(st.Email)}
	for k, v := range synclayer.MergeAttributes(st.Kept, st.Values) {
		out["fields."+k] = v
	}
	if st.Marketing != "" {
		out["marketing_status"] = mustJSON(st.Marketing)
	}
	if st.Deleted {
		out["deleted"] = mustJSON(true)
	}
	return out, nil
}
