package klaviyo

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"

	"synclayer"
)

// planDetail is what Apply does, in this order; it is also the plan's
// Detail in the trace.
type planDetail struct {
	Upsert         *ProfileUpsert `json:"upsert,omitempty"`
	Unsubscribe    bool           `json:"unsubscribe,omitempty"`
	Subscribe      *subscribeStep `json:"subscribe,omitempty"`
	AddToList      bool           `json:"addToList,omitempty"`
	RemoveFromList bool           `json:"removeFromList,omitempty"`
	Delete         bool           `json:"delete,omitempty"`
}

// subscribeStep is a subscribe to email marketing. With Check, Apply first
// reads the profile's subscriptions and skips the subscribe when Klaviyo
// holds an opt-out or suppression, since synclayer did not set the state.
type subscribeStep struct {
	ListID string `json:"listId,omitempty"`
	Check  bool   `json:"check,omitempty"`
}

// Plan decides the calls that bring Klaviyo from prev to c. Consent: an
// opt-out is always sent (globally) and marked as synclayer's before the
// call; an opt-in is sent only for a Marketable contact whose profile
// Klaviyo has not opted out itself; a contact without consent gets no
// subscription call at all.
func (s *ContactSync) Plan(c *synclayer.Contact, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	prev, err := decodeState(prevRaw)
	if err != nil {
		return nil, err
	}
	if c.Deleted {
		return s.planDelete(prev), nil
	}
	values, err := s.values(c)
	if err != nil {
		return nil, err
	}
	email := strings.TrimSpace(c.Email)
	if email == "" {
		return nil, synclayer.Permanent(errors.New("klaviyo: the contact has no email, and customer-sync keys Klaviyo profiles and their consent by email"))
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, synclayer.Permanent(errors.New("klaviyo: the contact's email is not a valid address, which Klaviyo rejects; correct it at the source"))
	}
	fresh := prev == nil || prev.Deleted
	next := prev.marks()
	next.Email, next.Values = email, values
	if prev != nil {
		next.ProfileID, next.Consent, next.ConsentByUs, next.InList = prev.ProfileID, prev.Consent, prev.ConsentByUs, prev.InList
	}
	diff := s.diff(prev, fresh, values)
	if len(diff.Kept) > 0 {
		next.Kept = diff.Kept
	}
	d := &planDetail{Upsert: s.upsert(c, prev, fresh, diff, email)}
	held := prev
	if held == nil {
		held = &state{}
	}
	var reasons []string
	switch {
	case c.EmailConsent.State == synclayer.ConsentUnsubscribed:
		if fresh || held.Consent != ConsentUnsubscribed {
			d.Unsubscribe = true
			next.Consent, next.ConsentByUs, next.UnsubscribedByUs = ConsentUnsubscribed, true, true
		}
		if held.InList && s.listID != "" {
			d.RemoveFromList, next.InList = true, false
		}
	case c.Marketable() && (held.KlaviyoOptOut || (held.Consent == ConsentUnsubscribed && !held.UnsubscribedByUs)):
		next.KlaviyoOptOut = true
		reasons = append(reasons, "Klaviyo holds an opt-out synclayer did not make, so the opt-in is not sent")
	case c.Marketable() && held.Consent == ConsentSubscribed && held.ConsentByUs:
		if s.listID != "" && !held.InList {
			d.AddToList, next.InList = true, true
		}
	case c.Marketable():
		d.Subscribe = &subscribeStep{ListID: s.listID, Check: !held.ConsentByUs}
		next.Consent, next.ConsentByUs, next.UnsubscribedByUs = ConsentSubscribed, true, false
		next.InList = next.InList || s.listID != ""
	case held.InList && s.listID != "":
		// Consent withdrawn (not an opt-out): leave the list, keep the
		// consent Klaviyo holds.
		d.RemoveFromList, next.InList = true, false
	}
	op := synclayer.PlanUpdate
	if fresh {
		op = synclayer.PlanCreate
	}
	if *d == (planDetail{}) {
		reasons = append([]string{"nothing the mapping sends has changed"}, reasons...)
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(next), Reason: strings.Join(reasons, "; "), Unmapped: diff.Unmapped()}, nil
	}
	p := s.contactPlan(op, d, prev, next)
	p.Unmapped = diff.Unmapped()
	return p, nil
}

// diff compares what Klaviyo holds (nothing for a profile not, or no
// longer, there) with the values the mapping sends now.
func (s *ContactSync) diff(prev *state, fresh bool, values map[string]json.RawMessage) synclayer.AttributeDiff {
	held := map[string]json.RawMessage{}
	if !fresh {
		for k, v := range synclayer.MergeAttributes(prev.Kept, prev.Values) {
			held[k] = canon(v)
		}
	}
	return synclayer.DiffAttributes(held, values, s.mapped, s.clearUnmapped)
}

// upsert is the profile-import of the plan: every value for a profile
// not (or no longer) in Klaviyo, else only what changed, with cleared
// standard attributes sent as null and cleared properties unset. What the
// mapping no longer sends is left alone, or cleared the same way with
// clear_unmapped.
func (s *ContactSync) upsert(c *synclayer.Contact, prev *state, fresh bool, d synclayer.AttributeDiff, email string) *ProfileUpsert {
	changed := maps.Clone(d.Send)
	var unset []string
	for _, k := range slices.Concat(d.Clear, d.ClearUnmapped) {
		if isStandard(k) {
			changed[k] = json.RawMessage("null")
		} else {
			unset = append(unset, k)
		}
	}
	if !fresh && len(changed) == 0 && len(unset) == 0 && email == prev.Email {
		return nil
	}
	attrs := map[string]any{"email": email, "external_id": c.ID}
	for k, v := range changed {
		if sub, ok := strings.CutPrefix(k, "location."); ok {
			loc, _ := attrs["location"].(map[string]any)
			if loc == nil {
				loc = map[string]any{}
				attrs["location"] = loc
			}
			loc[sub] = v
		} else if isStandard(k) {
			attrs[k] = v
		} else {
			props, _ := attrs["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				attrs["properties"] = props
			}
			props[k] = v
		}
	}
	u := &ProfileUpsert{Attributes: attrs, Unset: unset}
	if prev != nil && !prev.Deleted {
		u.ID = prev.ProfileID
	}
	return u
}

// values converts the mapped canonical fields (all but email) to the
// values Klaviyo stores, by target. Only mapped fields leave synclayer.
func (s *ContactSync) values(c *synclayer.Contact) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, field := range slices.Sorted(maps.Keys(s.mapping)) {
		target := s.mapping[field]
		raw := c.Value(field)
		if field == synclayer.FieldTags && c.Value(synclayer.FieldWorkflowTags) != nil {
			raw = mustJSON(c.AllTags()) // the sources' tags with the workflows' (add_tag)
		}
		if target == "email" || raw == nil {
			continue
		}
		v, err := convert(synclayer.KindOf(field), raw)
		if err != nil {
			return nil, synclayer.Permanent(fmt.Errorf("klaviyo: field %s (Klaviyo %s): %w", field, target, err))
		}
		if v != nil && isStandard(target) && stringTarget(target) && v[0] != '"' {
			return nil, synclayer.Permanent(fmt.Errorf("klaviyo: field %s holds a %s, but Klaviyo's %s takes a string; map it to a custom property", field, kindName(v), target))
		}
		if v != nil {
			out[target] = v
		}
	}
	return out, nil
}

func kindName(v json.RawMessage) string {
	switch v[0] {
	case '[':
		return "list"
	case '{':
		return "object"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}
