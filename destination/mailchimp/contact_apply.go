package mailchimp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"synclayer"
)

// Apply makes the plan's calls in order and returns one trace line per
// call. Before a PUT that subscribes or asks for a confirmation it reads
// the member (a read it does not list), and corrects the plan: a member
// who unsubscribed inside Mailchimp gets pending only for an opt-in newer
// than the unsubscribe, and a cleaned member is never resubscribed.
func (s *ContactSync) Apply(ctx context.Context, c *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	next, err := decodeState(plan.Next)
	if err != nil {
		return "", err
	}
	var lines []string
	for i := range plan.Calls {
		k := &plan.Calls[i]
		hash := hashOf(k.Path)
		switch {
		case k.Method == http.MethodPatch:
			var req MemberRequest
			remarshal(k.Body, &req)
			_, err := s.client.PatchMember(ctx, s.audience, hash, req)
			switch {
			case IsNotFound(err):
				lines = append(lines, "mailchimp: PATCH "+memberRoute+" → 404 (the old address is not in Mailchimp; the new one is added)")
				continue
			case err != nil:
				return strings.Join(lines, "; "), err
			}
			lines = append(lines, "mailchimp: PATCH "+memberRoute+" → 200 (email address changed)")
		case k.Method == http.MethodPut:
			var req MemberRequest
			remarshal(k.Body, &req)
			if req.Status == StatusSubscribed || req.Status == StatusPending {
				note, err := s.recheck(ctx, c, hash, &req, next)
				if err != nil {
					return strings.Join(lines, "; "), err
				}
				k.Body = req
				if note != "" {
					lines = append(lines, "mailchimp: "+note)
				}
			}
			m, err := s.client.PutMember(ctx, s.audience, hash, req)
			if err != nil {
				return strings.Join(lines, "; "), s.putError(err)
			}
			next.Status = m.Status
			lines = append(lines, fmt.Sprintf("mailchimp: PUT %s → 200 (%s)", memberRoute, describe(req)))
		case k.Method == http.MethodPost && strings.HasSuffix(k.Path, "/tags"):
			var body tagsBody
			remarshal(k.Body, &body)
			if err := s.client.UpdateMemberTags(ctx, s.audience, hash, body.Tags); err != nil {
				return strings.Join(lines, "; "), err
			}
			lines = append(lines, fmt.Sprintf("mailchimp: POST %s/tags → 204 (%d tag changes)", memberRoute, len(body.Tags)))
		case k.Method == http.MethodDelete:
			err := s.client.ArchiveMember(ctx, s.audience, hash)
			if err != nil && !IsNotFound(err) {
				return strings.Join(lines, "; "), err
			}
			lines = append(lines, "mailchimp: DELETE "+memberRoute+" → "+gone(err, "204 archived"))
		case k.Method == http.MethodPost && strings.HasSuffix(k.Path, "/actions/delete-permanent"):
			err := s.client.DeleteMemberPermanent(ctx, s.audience, hash)
			if err != nil && !IsNotFound(err) {
				return strings.Join(lines, "; "), err
			}
			lines = append(lines, "mailchimp: POST "+memberRoute+"/actions/delete-permanent → "+gone(err, "204 permanently deleted"))
		default:
			return strings.Join(lines, "; "), synclayer.Permanent(fmt.Errorf("mailchimp: the plan holds a call Apply does not know: %s", k.Method))
		}
	}
	plan.Next = mustJSON(next)
	return strings.Join(lines, "; "), nil
}

// recheck reads the member before a subscribe or pending and adjusts req
// and next to what Mailchimp holds now. It returns a note for the trace.
func (s *ContactSync) recheck(ctx context.Context, c *synclayer.Contact, hash string, req *MemberRequest, next *memberState) (string, error) {
	m, err := s.client.GetMember(ctx, s.audience, hash)
	if IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	optIn := firstTime(c.EmailConsent.OptInAt, c.EmailConsent.At)
	switch m.Status {
	case StatusCleaned:
		req.Status, req.StatusIfNew = "", StatusTransactional
		return "the member is cleaned in Mailchimp (the address bounced): not resubscribed", nil
	case StatusUnsubscribed:
		changed := parseTime(m.LastChanged)
		if req.Status == StatusPending || optIn.After(changed) {
			req.Status, req.StatusIfNew = StatusPending, StatusPending
			next.UnsubscribedByUs, next.UnsubscribedAt = false, time.Time{}
			return "the member unsubscribed in Mailchimp; the newer opt-in sets pending, so Mailchimp asks them to confirm", nil
		}
		req.Status, req.StatusIfNew = "", StatusTransactional
		next.UnsubscribedAt = changed
		return "the member unsubscribed in Mailchimp after this opt-in: left unsubscribed", nil
	case StatusSubscribed, StatusPending:
		req.Status = "" // already on the list or awaiting confirmation
	}
	return "", nil
}

// putError explains the answers that no retry can change.
func (s *ContactSync) putError(err error) error {
	switch {
	case IsComplianceState(err):
		return synclayer.Permanent(fmt.Errorf("mailchimp: the member unsubscribed, bounced or is under compliance review in Mailchimp, which forbids the API to subscribe them; only the person can, by confirming a signup: %w", err))
	case IsForgottenEmail(err):
		return synclayer.Permanent(fmt.Errorf("mailchimp: the address was permanently deleted and Mailchimp refuses to re-add it; only the person can, with a Mailchimp signup form: %w", err))
	}
	return err
}

// ReadBack reads the member of c's address (or of the address local last
// recorded, when c's changed and the move may not have happened) and
// returns it as a state, keeping the marks only synclayer knows. It
// returns nil when Mailchimp holds neither.
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
	if loc != nil && loc.Email != "" && !strings.EqualFold(loc.Email, email) {
		candidates = append(candidates, loc.Email)
	}
	for _, addr := range candidates {
		m, err := s.client.GetMember(ctx, s.audience, SubscriberHash(addr))
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return mustJSON(s.stateOf(m, loc)), nil
	}
	if loc != nil && loc.Forgotten {
		return mustJSON(memberState{Email: loc.Email, Deleted: true, Forgotten: true}), nil
	}
	return nil, nil
}

func (s *ContactSync) stateOf(m *Member, loc *memberState) memberState {
	st := memberState{Email: m.EmailAddress, Status: m.Status, MergeFields: map[string]json.RawMessage{},
		Deleted: m.Status == StatusArchived}
	for _, tag := range s.mapping {
		if v, ok := m.MergeFields[tag]; ok && string(v) != `""` && string(v) != "null" {
			st.MergeFields[tag] = v
		}
	}
	for _, target := range s.mapping {
		if target == "tags" {
			st.Tags = []string{}
			for _, t := range m.Tags {
				st.Tags = append(st.Tags, t.Name)
			}
		}
	}
	if loc != nil {
		st.OptInAt = loc.OptInAt
		st.Kept = loc.Kept // not read back: what the mapping no longer sends is left alone
	}
	if m.Status == StatusUnsubscribed || m.Status == StatusCleaned {
		if loc != nil && loc.UnsubscribedByUs {
			st.UnsubscribedByUs, st.UnsubscribedAt = true, loc.UnsubscribedAt
		} else {
			st.UnsubscribedAt = parseTime(m.LastChanged)
		}
	}
	return st
}

func describe(r MemberRequest) string {
	var parts []string
	if r.Status != "" {
		parts = append(parts, "status "+r.Status)
	}
	if r.StatusIfNew != "" {
		parts = append(parts, "status_if_new "+r.StatusIfNew)
	}
	if len(r.MergeFields) > 0 {
		parts = append(parts, "merge fields "+mergeNames(r.MergeFields))
	}
	return strings.Join(parts, "; ")
}

func gone(err error, ok string) string {
	if err != nil {
		return "404 (already gone)"
	}
	return ok
}

// hashOf returns the subscriber hash in a member path.
func hashOf(path string) string {
	_, rest, _ := strings.Cut(path, "/members/")
	h, _, _ := strings.Cut(rest, "/")
	return h
}

// remarshal copies a planned body into dst, whether it is still the typed
// value Plan made or came back from JSON.
func remarshal(src, dst any) {
	b, _ := json.Marshal(src)
	_ = json.Unmarshal(b, dst)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
