package mailchimp

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// Plan decides the calls that bring Mailchimp from prev to c. It does no
// I/O. Consent rules, in order:
//
//   - an opt-out sends status "unsubscribed" (unless Mailchimp already
//     holds the member unsubscribed or cleaned), and the Intent marks the
//     unsubscribe as synclayer's before the call;
//   - an explicit opt-in (Marketable) sends "subscribed" to a member not
//     known to be unsubscribed or cleaned; to an unsubscribed member it
//     sends "pending" when the opt-in is newer than the unsubscribe, so
//     Mailchimp asks the person to confirm; a cleaned member is never
//     resubscribed;
//   - anything else sends no status, only status_if_new "transactional",
//     so a new member is kept for transactional mail and a later genuine
//     opt-in can still subscribe them.
//
// Apply re-checks the member before any "subscribed" or "pending" (a
// member may have unsubscribed inside Mailchimp since the last delivery).
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
	if prev != nil && prev.Forgotten && strings.EqualFold(prev.Email, email) {
		return nil, synclayer.Permanent(errors.New("mailchimp: the address was permanently deleted from the audience and Mailchimp refuses to re-add it; only the person can, with a Mailchimp signup form"))
	}
	fields, err := s.mergeFields(c)
	if err != nil {
		return nil, err
	}
	tags, tagged := s.tags(c)

	next := memberState{Email: email, MergeFields: fields, Tags: tags}
	known := ""
	if prev != nil {
		next.UnsubscribedByUs, next.UnsubscribedAt, next.OptInAt = prev.UnsubscribedByUs, prev.UnsubscribedAt, prev.OptInAt
		if prev.live() {
			known = prev.Status
		}
	}
	d := decideStatus(c, prev, known, &next)
	next.Status = firstNonEmpty(d.status, known, d.ifNew)

	live := prev.live()
	moved := live && !strings.EqualFold(prev.Email, email)
	put := MemberRequest{EmailAddress: email, StatusIfNew: d.ifNew, Status: d.status, MergeFields: map[string]any{}}
	var held map[string]json.RawMessage
	if live {
		held = synclayer.MergeAttributes(prev.Kept, prev.MergeFields)
	}
	diff := synclayer.DiffAttributes(held, fields, s.mapped, s.clearUnmapped)
	send := diff.Send
	if moved {
		send = fields // the new address gets every value
	}
	for tag, v := range send {
		put.MergeFields[tag] = v
	}
	for _, tag := range slices.Concat(diff.Clear, diff.ClearUnmapped) {
		put.MergeFields[tag] = "" // a cleared field is emptied in Mailchimp
	}
	if len(diff.Kept) > 0 {
		next.Kept = diff.Kept
	}
	var tagOps []Tag
	if tagged {
		var had []string
		if live {
			had = prev.Tags
		}
		tagOps = tagChanges(had, tags)
	} else if live {
		next.Tags = prev.Tags
	}

	var calls []synclayer.PlannedCall
	hash := SubscriberHash(email)
	if moved {
		calls = append(calls, synclayer.PlannedCall{Method: "PATCH", Path: memberPath(s.audience, SubscriberHash(prev.Email)),
			Body: MemberRequest{EmailAddress: email}})
	}
	if !live || moved || d.status != "" || len(put.MergeFields) > 0 {
		if len(put.MergeFields) == 0 {
			put.MergeFields = nil
		}
		calls = append(calls, synclayer.PlannedCall{Method: "PUT", Path: memberPath(s.audience, hash), Body: put})
	}
	if len(tagOps) > 0 {
		calls = append(calls, synclayer.PlannedCall{Method: "POST", Path: memberPath(s.audience, hash) + "/tags", Body: tagsBody{Tags: tagOps, IsSyncing: true}})
	}
	if len(calls) == 0 {
		reason := "nothing the mapping sends has changed"
		if d.note != "" {
			reason += "; " + d.note
		}
		held := *prev // the same, with what is no longer mapped kept apart
		held.MergeFields, held.Kept = fields, next.Kept
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(held), Reason: reason, Unmapped: diff.Unmapped()}, nil
	}
	op := synclayer.PlanUpdate
	if !live {
		op = synclayer.PlanCreate
	}
	out := &synclayer.Plan{Op: op, Calls: calls, Next: mustJSON(next), Detail: planDetail{Note: d.note}, Unmapped: diff.Unmapped()}
	if d.status == StatusUnsubscribed && (prev == nil || !prev.UnsubscribedByUs || !prev.UnsubscribedAt.Equal(next.UnsubscribedAt)) {
		intent := memberState{}
		if prev != nil {
			intent = *prev
		}
		intent.UnsubscribedByUs, intent.UnsubscribedAt = true, next.UnsubscribedAt
		out.Intent = mustJSON(intent)
	}
	return out, nil
}

// planDetail is the plan's note for the trace.
type planDetail struct {
	Note string `json:"note,omitempty"`
}

type tagsBody struct {
	Tags      []Tag `json:"tags"`
	IsSyncing bool  `json:"is_syncing"`
}

// statusDecision is the status a PUT sends ("" for none) and its
// status_if_new, with a note for the trace.
type statusDecision struct {
	status, ifNew, note string
}

func decideStatus(c *synclayer.Contact, prev *memberState, known string, next *memberState) statusDecision {
	consent := c.EmailConsent
	switch {
	case consent.State == synclayer.ConsentUnsubscribed:
		if known == StatusUnsubscribed || known == StatusCleaned {
			return statusDecision{ifNew: StatusUnsubscribed, note: "already " + known + " in Mailchimp"}
		}
		next.UnsubscribedByUs, next.UnsubscribedAt = true, firstTime(consent.OptOutAt, consent.At)
		return statusDecision{status: StatusUnsubscribed, ifNew: StatusUnsubscribed, note: "opt-out"}
	case c.Marketable():
		optIn := firstTime(consent.OptInAt, consent.At)
		switch known {
		case StatusSubscribed, StatusPending:
			return statusDecision{ifNew: StatusSubscribed}
		case StatusCleaned:
			return statusDecision{ifNew: StatusTransactional, note: "cleaned in Mailchimp (the address bounced): never resubscribed"}
		case StatusUnsubscribed:
			if optIn.After(prev.UnsubscribedAt) && optIn.After(prev.OptInAt) {
				next.OptInAt, next.UnsubscribedByUs, next.UnsubscribedAt = optIn, false, time.Time{}
				return statusDecision{status: StatusPending, ifNew: StatusPending,
					note: "a newer opt-in after an unsubscribe: pending, so Mailchimp asks the person to confirm"}
			}
			return statusDecision{ifNew: StatusTransactional, note: "unsubscribed in Mailchimp and no newer opt-in: left unsubscribed"}
		}
		next.OptInAt = optIn
		return statusDecision{status: StatusSubscribed, ifNew: StatusSubscribed, note: "explicit opt-in"}
	case consent.State == synclayer.ConsentNone && !consent.WithdrawnAt.IsZero() && known == StatusSubscribed &&
		prev != nil && !prev.OptInAt.IsZero() && consent.WithdrawnAt.After(prev.OptInAt):
		// The consent synclayer subscribed the member on was withdrawn
		// since: Mailchimp has no "no longer subscribed" short of
		// unsubscribed, and marketing must stop. A later opt-in then goes
		// to pending, as after any unsubscribe.
		next.UnsubscribedByUs, next.UnsubscribedAt = true, consent.WithdrawnAt
		return statusDecision{status: StatusUnsubscribed, ifNew: StatusTransactional, note: "consent withdrawn"}
	}
	return statusDecision{ifNew: StatusTransactional}
}

func (s *ContactSync) planDelete(prev *memberState) *synclayer.Plan {
	if !prev.live() {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(prev), Reason: "not in Mailchimp"}
	}
	next := *prev
	next.Deleted = true
	path := memberPath(s.audience, SubscriberHash(prev.Email))
	if s.hardDelete {
		next.Forgotten, next.Status, next.MergeFields, next.Tags = true, "", nil, nil
		return &synclayer.Plan{Op: synclayer.PlanDelete, Next: mustJSON(next),
			Calls: []synclayer.PlannedCall{{Method: "POST", Path: path + "/actions/delete-permanent"}}}
	}
	next.Status = StatusArchived
	return &synclayer.Plan{Op: synclayer.PlanDelete, Next: mustJSON(next),
		Calls: []synclayer.PlannedCall{{Method: "DELETE", Path: path}}}
}

// tagChanges returns the tags to add (active) and remove (inactive).
func tagChanges(had, want []string) []Tag {
	var out []Tag
	for _, t := range want {
		if !slices.Contains(had, t) {
			out = append(out, Tag{Name: t, Status: "active"})
		}
	}
	for _, t := range had {
		if !slices.Contains(want, t) {
			out = append(out, Tag{Name: t, Status: "inactive"})
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func firstTime(t ...time.Time) time.Time {
	for _, x := range t {
		if !x.IsZero() {
			return x
		}
	}
	return time.Time{}
}

// mergeNames lists a body's merge tags for the trace.
func mergeNames(m map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
