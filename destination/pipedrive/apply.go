package pipedrive

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"synclayer"
)

// Apply makes the plan's calls and returns the trace line. A create
// first looks the address up (GET /api/v2/persons/search, a read it does
// not list) and updates the person it finds instead; an update of a
// person deleted in Pipedrive creates it again. Before writing
// subscribed to an existing person it reads the person's
// marketing_status and writes nothing over unsubscribed or archived.
func (s *ContactSync) Apply(ctx context.Context, c *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	next, err := decodeState(plan.Next)
	if err != nil {
		return "", err
	}
	var lines []string
	fail := func(err error) (string, error) { return strings.Join(lines, "; "), err }
	for _, k := range plan.Calls {
		var b personBody
		remarshal(k.Body, &b)
		switch {
		case k.Method == "POST" && k.Path == pathPersons:
			l, err := s.write(ctx, b, next, false)
			lines = append(lines, l...)
			if err != nil {
				return fail(err)
			}
		case k.Method == "PATCH" && k.Path == pathPerson:
			l, err := s.write(ctx, b, next, true)
			lines = append(lines, l...)
			if err != nil {
				return fail(err)
			}
		case k.Method == "DELETE" && k.Path == pathPerson:
			l, err := s.delete(ctx, b)
			lines = append(lines, l...)
			if err != nil {
				return fail(err)
			}
		default:
			return fail(synclayer.Permanent(fmt.Errorf("pipedrive: the plan holds a call Apply does not know: %s %s", k.Method, k.Path)))
		}
	}
	plan.Next = mustJSON(next)
	return strings.Join(lines, "; "), nil
}

// write creates or updates the person of b and records its ID in next.
func (s *ContactSync) write(ctx context.Context, b personBody, next *state, known bool) ([]string, error) {
	var lines []string
	id := b.ID
	if !known || id == 0 {
		// Found, or created once across instances (personOnce): the
		// create is the whole person, under the shared key's claim.
		defer s.client.personLocks.lock(strings.ToLower(b.Email))()
		var made []string
		found, created, err := s.client.once(ctx, s.client.personOnce(b.Email, func(ctx context.Context) (int64, error) {
			l, err := s.create(ctx, b, next, append(slices.Clone(lines), "pipedrive: GET "+pathPersonSearch+" → 200 (no person with the address)"))
			made = l
			if err != nil {
				return 0, err
			}
			return next.ID, nil
		}))
		if made != nil && (created || err != nil) {
			return made, err
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, fmt.Sprintf("pipedrive: GET %s → 200 (person %d)", pathPersonSearch, found))
		if b.OldEmail == "" {
			b.SetEmail = false // the person has the address already
		}
		id = found
	}
	var p *Person
	if b.Marketing == MarketingSubscribed || b.SetEmail || b.Phone != "" || b.ClearPhone {
		var err error
		p, err = s.client.GetPerson(ctx, id, b.Marketing == MarketingSubscribed)
		if IsNotFound(err) {
			return s.recreate(ctx, next, b, append(lines, fmt.Sprintf("pipedrive: GET %s → 404 (person %d deleted in Pipedrive)", pathPerson, id)))
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, fmt.Sprintf("pipedrive: GET %s → 200", pathPerson))
		if b.Marketing == MarketingSubscribed {
			switch p.MarketingStatus {
			case MarketingUnsubscribed:
				b.Marketing, next.Marketing = "", MarketingUnsubscribed
				lines = append(lines, "pipedrive: the person unsubscribed in Pipedrive: not subscribed again")
			case MarketingArchived:
				b.Marketing, next.Marketing = "", ""
				lines = append(lines, "pipedrive: the person's consent is archived in Pipedrive: left as it is")
			case MarketingSubscribed:
				b.Marketing = ""
			}
		}
	}
	lines, err := s.linkOrg(ctx, &b, next, lines)
	if err != nil {
		return lines, err
	}
	in, err := s.input(ctx, b, p)
	if err != nil {
		return lines, err
	}
	if in.empty() {
		next.ID = id
		return append(lines, "pipedrive: nothing left to write"), nil
	}
	if _, err := s.client.UpdatePerson(ctx, id, in); IsNotFound(err) {
		return s.recreate(ctx, next, b, append(lines, fmt.Sprintf("pipedrive: PATCH %s → 404 (person %d deleted in Pipedrive)", pathPerson, id)))
	} else if err != nil {
		return lines, err
	}
	next.ID = id
	return append(lines, fmt.Sprintf("pipedrive: PATCH %s → 200 (person %d updated%s)", pathPerson, id, consentNote(in))), nil
}

func (s *ContactSync) create(ctx context.Context, b personBody, next *state, lines []string) ([]string, error) {
	b.SetEmail = true
	if b.Name == "" {
		b.Name = strings.TrimSpace(str(next.Values[TargetFirstName]) + " " + str(next.Values[TargetLastName]))
		if b.Name == "" {
			b.Name = b.Email
		}
	}
	lines, err := s.linkOrg(ctx, &b, next, lines)
	if err != nil {
		return lines, err
	}
	in, err := s.input(ctx, b, nil)
	if err != nil {
		return lines, err
	}
	p, err := s.client.CreatePerson(ctx, in)
	if err != nil {
		return lines, mayHaveMade(err)
	}
	next.ID = p.ID
	return append(lines, fmt.Sprintf("pipedrive: POST %s → 201 (person %d created%s)", pathPersons, p.ID, consentNote(in))), nil
}

// recreate creates, in full, a person deleted in Pipedrive that the
// state still named. An opt-out synclayer knows is written again; a
// subscription only when this plan writes one.
func (s *ContactSync) recreate(ctx context.Context, next *state, planned personBody, lines []string) ([]string, error) {
	b := personBody{Email: next.Email, SetEmail: true, Marketing: planned.Marketing, Custom: map[string]json.RawMessage{}}
	for t, v := range next.Values {
		switch t {
		case TargetFirstName, TargetLastName:
		case TargetPhone:
			b.Phone = str(v)
		case TargetOwner:
			b.OwnerID = v
		case TargetOrg:
			b.Org, b.OrgID = str(v), next.OrgID
		default:
			b.Custom[t] = v
		}
	}
	if next.Marketing == MarketingUnsubscribed {
		b.Marketing = MarketingUnsubscribed
	} else if b.Marketing != MarketingSubscribed {
		next.Marketing = ""
	}
	lines, err := s.create(ctx, b, next, lines)
	if err == nil {
		s.client.rememberPerson(ctx, next.Email, next.ID)
	}
	return lines, err
}

// linkOrg finds or creates the organization of b.Org, if any, and
// records it in b and next; the person's write links it.
func (s *ContactSync) linkOrg(ctx context.Context, b *personBody, next *state, lines []string) ([]string, error) {
	if b.Org == "" {
		return lines, nil
	}
	id, created, err := s.client.EnsureOrganization(ctx, b.Org, b.OrgID)
	if err != nil {
		return lines, fmt.Errorf("organization of the contact's company: %w", err)
	}
	b.OrgID, next.OrgID = id, id
	if created {
		return append(lines, fmt.Sprintf("pipedrive: POST %s → 201 (organization %d created)", pathOrganizations, id)), nil
	}
	return append(lines, fmt.Sprintf("pipedrive: organization %d found", id)), nil
}

func consentNote(in PersonInput) string {
	if in.MarketingStatus != "" {
		return ", marketing_status " + in.MarketingStatus
	}
	return ""
}

func (in PersonInput) empty() bool {
	return in.Name == "" && in.Emails == nil && in.Phones == nil && in.OwnerID == 0 && in.OrgID == 0 && len(in.CustomFields) == 0 && in.MarketingStatus == ""
}

// input turns b into a request body; p, when read, is the person as it
// is, whose other addresses and phones are kept.
func (s *ContactSync) input(ctx context.Context, b personBody, p *Person) (PersonInput, error) {
	in := PersonInput{Name: b.Name, MarketingStatus: b.Marketing, OrgID: b.OrgID}
	if b.SetEmail {
		var others []Channel
		if p != nil {
			for _, e := range p.Emails {
				if !strings.EqualFold(e.Value, b.Email) && !strings.EqualFold(e.Value, b.OldEmail) && e.Value != "" {
					e.Primary = false
					others = append(others, e)
				}
			}
		}
		in.Emails = append([]Channel{{Value: b.Email, Primary: true, Label: "work"}}, others...)
	}
	if b.Phone != "" || b.ClearPhone {
		var phones []Channel
		if b.Phone != "" {
			phones = append(phones, Channel{Value: b.Phone, Primary: true, Label: "work"})
		}
		if p != nil {
			for _, ph := range p.Phones {
				if !ph.Primary && ph.Value != b.Phone && ph.Value != "" {
					phones = append(phones, ph)
				}
			}
		}
		if phones == nil {
			phones = []Channel{}
		}
		in.Phones = &phones
	}
	if b.OwnerID != nil {
		n, err := strconv.ParseInt(string(b.OwnerID), 10, 64)
		if err != nil || n <= 0 {
			return in, synclayer.Permanent(fmt.Errorf("pipedrive: owner_id must be a Pipedrive user ID"))
		}
		in.OwnerID = n
	}
	if len(b.Custom) > 0 {
		codes, err := s.fieldCodes(ctx)
		if err != nil {
			return in, err
		}
		in.CustomFields = map[string]any{}
		for t, v := range b.Custom {
			code, ok := codes[t]
			if !ok {
				return in, synclayer.Permanent(fmt.Errorf("pipedrive: the company has no person field %s", t))
			}
			in.CustomFields[code] = v
		}
	}
	return in, nil
}

func (s *ContactSync) delete(ctx context.Context, b personBody) ([]string, error) {
	var lines []string
	id := b.ID
	if id == 0 {
		found, err := s.client.FindPersonByEmail(ctx, b.Email)
		if err != nil {
			return lines, err
		}
		lines = append(lines, "pipedrive: GET "+pathPersonSearch+" → 200")
		if found == 0 {
			return append(lines, "pipedrive: no person with the address (already gone)"), nil
		}
		id = found
	}
	if err := s.client.DeletePerson(ctx, id); IsNotFound(err) {
		return append(lines, fmt.Sprintf("pipedrive: DELETE %s → 404 (already gone)", pathPerson)), nil
	} else if err != nil {
		return lines, err
	}
	return append(lines, fmt.Sprintf("pipedrive: DELETE %s → 200 (person %d deleted; purged by Pipedrive after 30 days)", pathPerson, id)), nil
}

// ReadBack finds the person of c's address (or of the address local last
// recorded), reads it with its marketing_status, and returns it as a
// state, keeping the marks only synclayer knows. It returns nil when
// Pipedrive holds neither address.
func (s *ContactSync) ReadBack(ctx context.Context, c *synclayer.Contact, local json.RawMessage) (json.RawMessage, error) {
	loc, err := decodeState(local)
	if err != nil {
		return nil, err
	}
	email, _ := contactEmail(c)
	var candidates []string
	if email != "" {
		candidates = append(candidates, email)
	}
	if loc != nil && loc.Email != "" && loc.Email != email {
		candidates = append(candidates, loc.Email)
	}
	for _, addr := range candidates {
		id, err := s.client.FindPersonByEmail(ctx, addr)
		if err != nil {
			return nil, err
		}
		if id == 0 {
			continue
		}
		p, err := s.client.GetPerson(ctx, id, s.consent != ConsentOff)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st := state{ID: p.ID, Email: addr, Values: map[string]json.RawMessage{}}
		var codes map[string]string
		if len(s.customTargets()) > 0 {
			if codes, err = s.fieldCodes(ctx); err != nil {
				return nil, err
			}
		}
		for _, t := range s.mapping {
			var v json.RawMessage
			switch t {
			case TargetEmail:
				continue
			case TargetFirstName:
				v = nonEmpty(p.FirstName)
			case TargetLastName:
				v = nonEmpty(p.LastName)
			case TargetPhone:
				for _, ph := range p.Phones {
					if ph.Primary {
						v = nonEmpty(ph.Value)
					}
				}
			case TargetOwner:
				if p.OwnerID > 0 {
					v = mustJSON(p.OwnerID)
				}
			case TargetOrg:
				// The person names its organization by ID: the company
				// recorded is kept while it is still that organization.
				if loc != nil && p.OrgID != 0 && p.OrgID == loc.OrgID {
					v, st.OrgID = loc.Values[TargetOrg], p.OrgID
				}
			default:
				if raw := p.CustomFields[codes[t]]; len(raw) > 0 && string(raw) != "null" {
					v = raw
				}
			}
			if v != nil {
				st.Values[t] = v
			}
		}
		switch p.MarketingStatus {
		case MarketingSubscribed, MarketingUnsubscribed:
			st.Marketing = p.MarketingStatus
		}
		if loc != nil {
			st.Kept, st.UnsubscribedByUs = maps.Clone(loc.Kept), loc.UnsubscribedByUs
			if loc.Marketing == MarketingUnsubscribed {
				st.Marketing = MarketingUnsubscribed
			}
		}
		return mustJSON(st), nil
	}
	return nil, nil
}

func nonEmpty(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return mustJSON(s)
}
