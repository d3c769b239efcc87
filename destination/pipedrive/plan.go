package pipedrive

import (
	"encoding/json"
	"slices"
	"strings"

	"synclayer"
)

// personBody is a planned create, update or delete, in the mapping's
// terms (custom fields by target, not by code), for the trace and dry
// runs; Apply turns it into a PersonInput.
type personBody struct {
	ID    int64  `json:"id,omitempty"` // 0: found by email at Apply
	Email string `json:"email"`
	// SetEmail writes the email (a new person, or a changed address,
	// replacing OldEmail among the person's addresses).
	SetEmail bool   `json:"setEmail,omitempty"`
	OldEmail string `json:"oldEmail,omitempty"`
	Name     string `json:"name,omitempty"`
	// Phone, when set, is the primary phone to write; ClearPhone removes it.
	Phone      string          `json:"phone,omitempty"`
	ClearPhone bool            `json:"clearPhone,omitempty"`
	OwnerID    json.RawMessage `json:"owner_id,omitempty"`
	// Org is the company whose organization the person is linked to,
	// found or created by name at Apply; OrgID the one known for it.
	Org       string                     `json:"organization,omitempty"`
	OrgID     int64                      `json:"org_id,omitempty"`
	Custom    map[string]json.RawMessage `json:"custom_fields,omitempty"` // target → value; null empties
	Marketing string                     `json:"marketing_status,omitempty"`
}

func (b personBody) empty() bool {
	return !b.SetEmail && b.Name == "" && b.Phone == "" && !b.ClearPhone && b.OwnerID == nil && len(b.Custom) == 0 && b.Marketing == "" && b.Org == ""
}

// planDetail is the plan's note for the trace.
type planDetail struct {
	Consent string `json:"consent,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Plan decides the calls that bring Pipedrive from prev to c. It does no
// I/O. A contact never delivered is a POST /api/v2/persons, which Apply
// turns into a PATCH when a person with the address already exists; a
// known person is one PATCH of what changed. Consent is the person's
// marketing_status (options.marketing_status):
//
//   - an opt-out writes unsubscribed, once; the Intent marks it
//     synclayer's before the call;
//   - an opt-in (Marketable) writes subscribed only in
//     subscribe_and_unsubscribe mode, and never over unsubscribed: Apply
//     reads an existing person's status first and writes nothing over
//     unsubscribed or archived;
//   - anything else writes no consent.
//
// A changed company (org_id) links the person to its organization,
// found or created by name at Apply.
func (s *ContactSync) Plan(c *synclayer.Contact, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	prev, err := decodeState(prevRaw)
	if err != nil {
		return nil, err
	}
	if c.Deleted {
		return s.planDelete(prev), nil
	}
	email, err := contactEmail(c)
	if err != nil {
		return nil, err
	}
	vals, err := s.values(c)
	if err != nil {
		return nil, err
	}
	live := prev.live() && prev.ID != 0
	var held map[string]json.RawMessage
	if live {
		held = synclayer.MergeAttributes(prev.Kept, prev.Values)
	}
	diff := synclayer.DiffAttributes(held, vals, s.mapped, s.clearUnmapped)
	next := state{Email: email, Values: vals}
	if len(diff.Kept) > 0 {
		next.Kept = diff.Kept
	}
	if prev != nil {
		next.UnsubscribedByUs = prev.UnsubscribedByUs
		if prev.Marketing == MarketingUnsubscribed || live {
			next.Marketing = prev.Marketing
		}
		if live {
			next.ID, next.OrgID = prev.ID, prev.OrgID
		}
	}

	b := personBody{Email: email, ID: next.ID}
	if !live {
		b.SetEmail = true
	} else if prev.Email != email {
		b.SetEmail, b.OldEmail = true, prev.Email
	}
	changed := func(t string) bool { return diff.Send[t] != nil || slices.Contains(diff.Clear, t) }
	if !live || changed(TargetFirstName) || changed(TargetLastName) {
		b.Name = strings.TrimSpace(str(vals[TargetFirstName]) + " " + str(vals[TargetLastName]))
		if b.Name == "" && !live {
			b.Name = email // Pipedrive requires a name
		}
	}
	for t, v := range diff.Send {
		switch t {
		case TargetFirstName, TargetLastName:
		case TargetPhone:
			b.Phone = str(v)
		case TargetOwner:
			b.OwnerID = v
		case TargetOrg:
			b.Org, next.OrgID = str(v), 0
		default:
			if b.Custom == nil {
				b.Custom = map[string]json.RawMessage{}
			}
			b.Custom[t] = v
		}
	}
	for _, t := range slices.Concat(diff.Clear, diff.ClearUnmapped) {
		switch t {
		case TargetFirstName, TargetLastName, TargetOwner, TargetOrg:
			// The name is rewritten from what is left; a person always has
			// an owner, so a cleared owner is left as it is; a cleared
			// company leaves the person in its organization, which a
			// salesperson may have set on purpose.
		case TargetPhone:
			b.ClearPhone = true
		default:
			if b.Custom == nil {
				b.Custom = map[string]json.RawMessage{}
			}
			b.Custom[t] = json.RawMessage("null")
		}
	}
	note := s.planConsent(c, prev, &next, &b, live)

	if live && b.empty() {
		reason := "nothing the mapping sends has changed"
		if note != "" {
			reason += "; " + note
		}
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(next), Reason: reason, Unmapped: diff.Unmapped()}, nil
	}
	call := synclayer.PlannedCall{Method: "PATCH", Path: pathPerson, Body: b}
	op := synclayer.PlanUpdate
	if !live {
		call, op = synclayer.PlannedCall{Method: "POST", Path: pathPersons, Body: b}, synclayer.PlanUpsert
	}
	out := &synclayer.Plan{Op: op, Calls: []synclayer.PlannedCall{call}, Next: mustJSON(next), Detail: planDetail{Consent: note}, Unmapped: diff.Unmapped()}
	if b.Marketing == MarketingUnsubscribed {
		intent := state{}
		if prev != nil {
			intent = *prev
		}
		intent.UnsubscribedByUs = true
		out.Intent = mustJSON(intent)
	}
	return out, nil
}

// planConsent sets the marketing_status to write, if any, and returns a
// note for the trace.
func (s *ContactSync) planConsent(c *synclayer.Contact, prev, next *state, b *personBody, live bool) string {
	optOut := c.EmailConsent.State == synclayer.ConsentUnsubscribed
	if s.consent == ConsentOff {
		if optOut || c.Marketable() {
			return "consent not written: options.marketing_status is off"
		}
		return ""
	}
	switch {
	case optOut:
		if prev != nil && prev.Marketing == MarketingUnsubscribed {
			return "already unsubscribed in Pipedrive"
		}
		b.Marketing = MarketingUnsubscribed
		next.Marketing, next.UnsubscribedByUs = MarketingUnsubscribed, true
		return "opt-out: marketing_status unsubscribed"
	case c.Marketable():
		switch {
		case prev != nil && prev.Marketing == MarketingUnsubscribed:
			return "unsubscribed in Pipedrive: never resubscribed"
		case live && prev.Marketing == MarketingSubscribed:
			return ""
		case s.consent == ConsentUnsubscribeOnly:
			return "opt-in not written: options.marketing_status is unsubscribe_only"
		}
		b.Marketing = MarketingSubscribed
		next.Marketing = MarketingSubscribed
		return "explicit opt-in: marketing_status subscribed"
	}
	return ""
}

func (s *ContactSync) planDelete(prev *state) *synclayer.Plan {
	if !prev.live() {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(prev), Reason: "not in Pipedrive"}
	}
	next := *prev
	next.Deleted, next.ID, next.Values, next.Kept = true, 0, nil, nil
	if next.Marketing != MarketingUnsubscribed {
		next.Marketing = ""
	}
	note := "Pipedrive marks the person deleted and purges it after 30 days"
	if s.hardDelete {
		note = "hard delete: Pipedrive's API has one delete, which purges the person after 30 days"
	}
	return &synclayer.Plan{Op: synclayer.PlanDelete, Next: mustJSON(next), Detail: planDetail{Note: note},
		Calls: []synclayer.PlannedCall{{Method: "DELETE", Path: pathPerson, Body: personBody{ID: prev.ID, Email: prev.Email}}}}
}

func remarshal(src, dst any) {
	b, _ := json.Marshal(src)
	_ = json.Unmarshal(b, dst)
}
