package hubspot

import (
	"encoding/json"
	"slices"

	"synclayer"
)

// Planned paths, as Apply reads them back.
const (
	pathUpsert      = "/crm/v3/objects/contacts/batch/upsert"
	pathCompanies   = "/crm/v3/objects/companies/batch/upsert"
	pathAssociate   = "/crm/v4/objects/contacts/{contactId}/associations/default/companies/{companyId}"
	pathContact     = "/crm/v3/objects/contacts/{contactId}"
	pathGDPRDelete  = "/crm/v3/objects/contacts/gdpr-delete"
	pathSubscribe   = "/communication-preferences/v3/subscribe"
	pathUnsubscribe = "/communication-preferences/v3/unsubscribe"
)

// planDetail is the plan's note for the trace.
type planDetail struct {
	Consent string `json:"consent,omitempty"`
}

// Plan decides the calls that bring HubSpot from prev to c. It does no
// I/O. Consent, only with options.subscription_id:
//
//   - an opt-out unsubscribes, once: not when HubSpot is known to hold an
//     unsubscribe; the Intent marks it synclayer's before the call;
//   - an opt-in (Marketable) subscribes only with options.legal_basis, and
//     never an address known to have been unsubscribed, by anyone; Apply
//     reads the address's status first and skips the subscribe for one
//     HubSpot reports opted out;
//   - anything else writes no consent.
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
	live := prev.live()
	moved := live && prev.Email != "" && prev.Email != email
	var held map[string]json.RawMessage
	if live && !moved {
		held = synclayer.MergeAttributes(prev.Kept, prev.Values)
		s.heldByHubSpot(c, held, vals)
	}
	diff := synclayer.DiffAttributes(held, vals, s.mapped, s.clearUnmapped)
	next := state{Email: email, Values: vals}
	if len(diff.Kept) > 0 {
		next.Kept = diff.Kept
	}
	if prev != nil {
		next.ID, next.Subscribed, next.Unsubscribed, next.UnsubscribedByUs = prev.ID, prev.Subscribed, prev.Unsubscribed, prev.UnsubscribedByUs
		if !live {
			next.ID, next.Subscribed = "", false
		}
	}

	var calls []synclayer.PlannedCall
	props := asStrings(diff.Send)
	for _, p := range slices.Concat(diff.Clear, diff.ClearUnmapped) {
		props[p] = "" // HubSpot empties a property set to ""
	}
	if moved {
		props["email"] = email
		calls = append(calls, synclayer.PlannedCall{Method: "PATCH", Path: pathContact + "?idProperty=email", Body: patchBody{Email: prev.Email, Properties: props}})
	} else if !live || len(props) > 0 {
		props["email"] = email
		if clear := stageClear(held, props); clear != nil {
			calls = append(calls, *clear)
		}
		calls = append(calls, synclayer.PlannedCall{Method: "POST", Path: pathUpsert, Body: upsertBody{Inputs: []UpsertInput{{ID: email, IDProperty: "email", Properties: props}}}})
	}

	if prev != nil && live {
		next.Company = prev.Company
	}
	if _, ok := s.mapping[synclayer.FieldCompany]; ok {
		if company := companyName(c); company != "" && (next.Company != company || moved) {
			next.Company = company
			calls = append(calls,
				synclayer.PlannedCall{Method: "POST", Path: pathCompanies, Body: upsertBody{Inputs: []UpsertInput{{ID: synclayer.CompanyKey(company), IDProperty: CompanyKeyProperty, Properties: map[string]string{"name": company}}}}},
				synclayer.PlannedCall{Method: "PUT", Path: pathAssociate})
		}
	}
	note, consent := s.planConsent(c, prev, &next, email)
	if consent != nil {
		calls = append(calls, *consent)
	}
	if len(calls) == 0 {
		reason := "nothing the mapping sends has changed"
		if note != "" {
			reason += "; " + note
		}
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(next), Reason: reason, Unmapped: diff.Unmapped()}, nil
	}
	op := synclayer.PlanUpsert
	if live {
		op = synclayer.PlanUpdate
	}
	out := &synclayer.Plan{Op: op, Calls: calls, Next: mustJSON(next), Detail: planDetail{Consent: note}, Unmapped: diff.Unmapped()}
	if consent != nil && consent.Path == pathUnsubscribe {
		intent := state{}
		if prev != nil {
			intent = *prev
		}
		intent.UnsubscribedByUs = true
		out.Intent = mustJSON(intent)
	}
	return out, nil
}

// planConsent returns the consent call to make, if any, and a note.
func (s *ContactSync) planConsent(c *synclayer.Contact, prev, next *state, email string) (string, *synclayer.PlannedCall) {
	optOut := c.EmailConsent.State == synclayer.ConsentUnsubscribed
	if s.opt.SubscriptionID == "" {
		if optOut || c.Marketable() {
			return "consent not written: options.subscription_id is not set", nil
		}
		return "", nil
	}
	req := SubscriptionRequest{EmailAddress: email, SubscriptionID: s.opt.SubscriptionID}
	switch {
	case optOut:
		if prev != nil && prev.Unsubscribed {
			return "already unsubscribed in HubSpot", nil
		}
		next.Unsubscribed, next.UnsubscribedByUs, next.Subscribed = true, true, false
		return "opt-out: unsubscribe from subscription " + s.opt.SubscriptionID, &synclayer.PlannedCall{Method: "POST", Path: pathUnsubscribe, Body: req}
	case c.Marketable():
		switch {
		case prev != nil && prev.Unsubscribed:
			return "unsubscribed in HubSpot: never resubscribed", nil
		case prev.live() && prev.Subscribed:
			return "", nil
		case s.opt.LegalBasis == "":
			return "opt-in not written: options.legal_basis is not set", nil
		}
		req.LegalBasis, req.LegalBasisExplanation = s.opt.LegalBasis, s.opt.LegalBasisExplanation
		next.Subscribed = true
		return "explicit opt-in: subscribe with legal basis " + s.opt.LegalBasis, &synclayer.PlannedCall{Method: "POST", Path: pathSubscribe, Body: req}
	}
	return "", nil
}

func (s *ContactSync) planDelete(prev *state) *synclayer.Plan {
	if !prev.live() {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(prev), Reason: "not in HubSpot"}
	}
	next := *prev
	next.Deleted, next.Subscribed, next.Values, next.Kept = true, false, nil, nil
	if s.hardDelete {
		next.ID = ""
		return &synclayer.Plan{Op: synclayer.PlanDelete, Next: mustJSON(next),
			Calls: []synclayer.PlannedCall{{Method: "POST", Path: pathGDPRDelete, Body: map[string]string{"objectId": prev.Email, "idProperty": "email"}}}}
	}
	return &synclayer.Plan{Op: synclayer.PlanDelete, Next: mustJSON(next),
		Calls: []synclayer.PlannedCall{{Method: "DELETE", Path: pathContact, Body: patchBody{Email: prev.Email}}}}
}

type upsertBody struct {
	Inputs []UpsertInput `json:"inputs"`
}

// patchBody is a planned PATCH or DELETE by email: the address it acts
// on, and the properties.
type patchBody struct {
	Email      string            `json:"email"`
	Properties map[string]string `json:"properties,omitempty"`
}

func remarshal(src, dst any) {
	b, _ := json.Marshal(src)
	_ = json.Unmarshal(b, dst)
}
