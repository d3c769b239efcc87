package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"synclayer"
)

// Apply makes the plan's calls in order and returns one trace line per
// call. Before a subscribe it reads the address's status (a read it does
// not list): an address HubSpot reports opted out, or already
// subscribed, is not subscribed, and HubSpot's own refusal of an
// opted-out address is recorded as an unsubscribe, not an error.
func (s *ContactSync) Apply(ctx context.Context, c *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	next, err := decodeState(plan.Next)
	if err != nil {
		return "", err
	}
	var lines []string
	var companyID string
	fail := func(err error) (string, error) { return strings.Join(lines, "; "), err }
	for _, k := range plan.Calls {
		switch {
		case k.Method == "POST" && k.Path == pathUpsert:
			var b upsertBody
			remarshal(k.Body, &b)
			res, err := s.client.UpsertContacts(ctx, b.Inputs)
			if err != nil {
				return fail(err)
			}
			if len(res.Errors) > 0 || len(res.Results) == 0 {
				msg := "no result"
				if len(res.Errors) > 0 {
					msg = res.Errors[0].Category + ": " + redact(res.Errors[0].Message)
				}
				return fail(synclayer.Permanent(fmt.Errorf("hubspot: POST %s refused the contact: %s", pathUpsert, msg)))
			}
			next.ID = res.Results[0].ID
			verb := "updated"
			if res.Results[0].New {
				verb = "created"
			}
			lines = append(lines, fmt.Sprintf("hubspot: POST %s → 200 (%s; %d properties)", pathUpsert, verb, len(b.Inputs[0].Properties)))
		case k.Method == "POST" && k.Path == pathCompanies:
			var b upsertBody
			remarshal(k.Body, &b)
			id, err := upsertCompany(ctx, s.client, b.Inputs[0].Properties["name"])
			if err != nil {
				return fail(err)
			}
			companyID = id
			lines = append(lines, "hubspot: POST "+pathCompanies+" → 200 (company "+id+")")
		case k.Method == "PUT" && k.Path == pathAssociate:
			contactID := next.ID
			if contactID == "" {
				o, err := s.client.GetContactByEmail(ctx, next.Email, nil)
				if err != nil {
					return fail(err)
				}
				contactID, next.ID = o.ID, o.ID
			}
			if err := s.client.AssociateDefault(ctx, "contacts", contactID, objectCompanies, companyID); err != nil {
				return fail(err)
			}
			lines = append(lines, "hubspot: PUT "+pathAssociate+" → 200 (contact "+contactID+", company "+companyID+")")
		case k.Method == "PATCH":
			var b patchBody
			remarshal(k.Body, &b)
			o, err := s.client.UpdateContactByEmail(ctx, b.Email, b.Properties)
			if IsNotFound(err) {
				// The old address is not in HubSpot: the new one is created.
				b.Properties["email"] = next.Email
				res, err := s.client.UpsertContacts(ctx, []UpsertInput{{ID: next.Email, IDProperty: "email", Properties: b.Properties}})
				if err != nil {
					return fail(err)
				}
				if len(res.Results) > 0 {
					next.ID = res.Results[0].ID
				}
				lines = append(lines, "hubspot: PATCH "+pathContact+" → 404 (the old address is not in HubSpot); POST "+pathUpsert+" → 200")
				continue
			}
			if err != nil {
				return fail(err)
			}
			next.ID = o.ID
			lines = append(lines, "hubspot: PATCH "+pathContact+" → 200 (email changed)")
		case k.Method == "DELETE":
			var b patchBody
			remarshal(k.Body, &b)
			o, err := s.client.GetContactByEmail(ctx, b.Email, nil)
			if IsNotFound(err) {
				lines = append(lines, "hubspot: DELETE "+pathContact+" → not in HubSpot (already gone)")
				continue
			}
			if err != nil {
				return fail(err)
			}
			if err := s.client.ArchiveContact(ctx, o.ID); err != nil && !IsNotFound(err) {
				return fail(err)
			}
			lines = append(lines, "hubspot: DELETE "+pathContact+" → 204 archived")
		case k.Path == pathGDPRDelete:
			var b patchBody
			remarshal(map[string]any{"email": bodyString(k.Body, "objectId")}, &b)
			if err := s.client.GDPRDeleteContact(ctx, b.Email); err != nil && !IsNotFound(err) {
				return fail(err)
			}
			lines = append(lines, "hubspot: POST "+pathGDPRDelete+" → 204 permanently deleted")
		case k.Path == pathUnsubscribe:
			var r SubscriptionRequest
			remarshal(k.Body, &r)
			if err := s.client.Unsubscribe(ctx, r); err != nil {
				return fail(err)
			}
			next.Unsubscribed, next.Subscribed = true, false
			lines = append(lines, "hubspot: POST "+pathUnsubscribe+" → 200 (subscription "+r.SubscriptionID+")")
		case k.Path == pathSubscribe:
			var r SubscriptionRequest
			remarshal(k.Body, &r)
			line, err := s.subscribe(ctx, r, next)
			if err != nil {
				return fail(err)
			}
			lines = append(lines, line)
		default:
			return fail(synclayer.Permanent(fmt.Errorf("hubspot: the plan holds a call Apply does not know: %s %s", k.Method, k.Path)))
		}
	}
	plan.Next = mustJSON(next)
	return strings.Join(lines, "; "), nil
}

// subscribe reads the status and subscribes only an address that has not
// opted out and is not subscribed yet.
func (s *ContactSync) subscribe(ctx context.Context, r SubscriptionRequest, next *state) (string, error) {
	st, err := s.client.GetEmailStatus(ctx, r.EmailAddress)
	if err != nil {
		return "", err
	}
	if st.OptedOut() {
		next.Subscribed, next.Unsubscribed = false, true
		return "hubspot: the address opted out of all email in HubSpot: not subscribed", nil
	}
	if x := st.Of(r.SubscriptionID); x != nil && x.Status == "SUBSCRIBED" {
		next.Subscribed = true
		return "hubspot: already subscribed to subscription " + r.SubscriptionID, nil
	}
	if err := s.client.Subscribe(ctx, r); err != nil {
		if isOptedOut(err) {
			next.Subscribed, next.Unsubscribed = false, true
			return "hubspot: HubSpot refuses to resubscribe the address (it opted out): not subscribed", nil
		}
		return "", err
	}
	next.Subscribed = true
	return "hubspot: POST " + pathSubscribe + " → 200 (subscription " + r.SubscriptionID + ", legal basis " + r.LegalBasis + ")", nil
}

func bodyString(body any, key string) string {
	var m map[string]any
	remarshal(body, &m)
	s, _ := m[key].(string)
	return s
}

// ReadBack reads the contact of c's address (or of the address local last
// recorded) and, with a subscription configured, its status, and returns
// them as a state, keeping the marks only synclayer knows. It returns nil
// when HubSpot holds neither address.
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
	var props []string
	for _, p := range s.mapping {
		props = append(props, p)
	}
	for _, addr := range candidates {
		o, err := s.client.GetContactByEmail(ctx, addr, props)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st := state{ID: o.ID, Email: addr, Values: map[string]json.RawMessage{}}
		for _, p := range s.mapping {
			if v, ok := o.Properties[p]; ok && p != "email" && v != "" {
				st.Values[p] = mustJSON(v)
			}
		}
		if loc != nil {
			st.Kept, st.Unsubscribed, st.UnsubscribedByUs = loc.Kept, loc.Unsubscribed, loc.UnsubscribedByUs
		}
		if s.opt.SubscriptionID != "" {
			es, err := s.client.GetEmailStatus(ctx, addr)
			if err != nil {
				return nil, err
			}
			x := es.Of(s.opt.SubscriptionID)
			st.Subscribed = x != nil && x.Status == "SUBSCRIBED" && !es.OptedOut()
			if es.OptedOut() {
				st.Unsubscribed = true
			}
		}
		return mustJSON(st), nil
	}
	return nil, nil
}
