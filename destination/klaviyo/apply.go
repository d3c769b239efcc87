package klaviyo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"synclayer"
)

// Apply makes the plan's calls in order and returns the trace line. It
// replaces *cp's Next with what Klaviyo holds afterwards: the profile ID
// Klaviyo gave, and an opt-out found by the read before a subscribe. A
// profile gone from Klaviyo (deleted there) is imported again in full.
func (s *ContactSync) Apply(ctx context.Context, c *synclayer.Contact, cp *synclayer.Plan) (string, error) {
	if cp.Op == synclayer.PlanNone {
		return "klaviyo: no call (" + cp.Reason + ")", nil
	}
	d, ok := cp.Detail.(*planDetail)
	if !ok {
		return "", fmt.Errorf("klaviyo: the plan for contact %s was not made by this destination", c.ID)
	}
	next, err := decodeState(cp.Next)
	if err != nil || next == nil {
		return "", fmt.Errorf("klaviyo: plan without a next state: %v", err)
	}
	r := &run{s: s, c: c, next: next}
	if err := r.steps(ctx, d); err != nil {
		return "", err
	}
	cp.Next = mustJSON(r.next)
	return "klaviyo: " + strings.Join(r.parts, "; "), nil
}

// run is one Apply: the state it builds and the summary parts.
type run struct {
	s     *ContactSync
	c     *synclayer.Contact
	next  *state
	parts []string
	// created says this run's profile-import created the profile: a
	// profile new to Klaviyo has no opt-out to protect, so the read
	// before a subscribe is not needed.
	created bool
}

func (r *run) say(format string, args ...any) {
	r.parts = append(r.parts, fmt.Sprintf(format, args...))
}

func (r *run) steps(ctx context.Context, d *planDetail) error {
	cl, st := r.s.client, r.next
	if d.Upsert != nil {
		if err := r.upsert(ctx, *d.Upsert); err != nil {
			return err
		}
	}
	if d.Unsubscribe {
		if err := cl.Unsubscribe(ctx, st.Email); err != nil {
			return err
		}
		r.say("POST /api/profile-subscription-bulk-delete-jobs → 202 unsubscribed")
	}
	if d.Subscribe != nil {
		if err := r.subscribe(ctx, *d.Subscribe); err != nil {
			return err
		}
	}
	if d.AddToList {
		if err := cl.AddToList(ctx, r.s.listID, st.ProfileID); err != nil {
			return err
		}
		r.say("POST /api/lists/{id}/relationships/profiles → 204 added to list")
	}
	if d.RemoveFromList {
		err := cl.RemoveFromList(ctx, r.s.listID, st.ProfileID)
		switch {
		case IsNotFound(err):
			r.say("DELETE /api/lists/{id}/relationships/profiles → 404, not there")
		case err != nil:
			return err
		default:
			r.say("DELETE /api/lists/{id}/relationships/profiles → 204 removed from list")
		}
	}
	if d.Delete {
		return r.delete(ctx)
	}
	return nil
}

// upsert imports the profile. A 404 on a known ID (deleted in Klaviyo)
// imports everything again without the ID; a 409 (the identifiers match
// another profile) is retried once as an update of the profile Klaviyo
// names, and is permanent when that conflicts too.
func (r *run) upsert(ctx context.Context, u ProfileUpsert) error {
	id, created, err := r.s.client.UpsertProfile(ctx, u)
	if IsNotFound(err) && u.ID != "" {
		full := r.s.upsert(r.c, nil, true, r.s.diff(nil, true, r.next.Values), r.next.Email)
		r.say("POST /api/profile-import → 404, the profile is gone from Klaviyo")
		r.next.InList, r.next.Kept = false, nil
		return r.upsert(ctx, *full)
	}
	if dup := DuplicateProfileID(err); dup != "" && u.ID == "" {
		r.say("POST /api/profile-import → 409 duplicate_profile")
		u.ID = dup
		id, created, err = r.s.client.UpsertProfile(ctx, u)
		if DuplicateProfileID(err) != "" {
			return synclayer.Permanent(fmt.Errorf("klaviyo: the contact's email, phone and external_id belong to different Klaviyo profiles (one is %s); merge them in Klaviyo, then retry the delivery: %w", dup, err))
		}
	}
	if err != nil {
		return err
	}
	r.next.ProfileID, r.created = id, created
	if created {
		r.say("POST /api/profile-import → 201 created")
	} else {
		r.say("POST /api/profile-import → 200 updated")
	}
	return nil
}

// subscribe sends the opt-in. With Check it first reads what Klaviyo
// holds: an UNSUBSCRIBED consent or any suppression means someone opted
// out in Klaviyo (the subscribe would lift it), so the subscribe is
// skipped and the profile marked never to be subscribed by synclayer; a
// profile already subscribed only joins the list.
func (r *run) subscribe(ctx context.Context, step subscribeStep) error {
	cl, st := r.s.client, r.next
	if step.Check && !r.created {
		p, err := r.profile(ctx)
		if err != nil {
			return err
		}
		if m := p.EmailMarketing; m != nil {
			switch {
			case m.Consent == ConsentUnsubscribed || len(m.Suppression) > 0:
				st.Consent, st.ConsentByUs, st.KlaviyoOptOut, st.InList = m.Consent, false, true, false
				r.say("GET /api/profiles/{id} → 200 %s in Klaviyo, subscribe not sent", optOutWord(m))
				return nil
			case m.Consent == ConsentSubscribed:
				st.Consent, st.ConsentByUs = ConsentSubscribed, false
				r.say("GET /api/profiles/{id} → 200 already SUBSCRIBED")
				if step.ListID == "" {
					return nil
				}
				if err := cl.AddToList(ctx, step.ListID, st.ProfileID); err != nil {
					return err
				}
				r.say("POST /api/lists/{id}/relationships/profiles → 204 added to list")
				return nil
			}
		}
	}
	if err := cl.Subscribe(ctx, step.ListID, "synclayer", Subscriber{ProfileID: st.ProfileID, Email: st.Email}); err != nil {
		return err
	}
	r.say("POST /api/profile-subscription-bulk-create-jobs → 202 subscribed")
	return nil
}

// profile reads the contact's profile with its subscriptions, by ID when
// known, else by email.
func (r *run) profile(ctx context.Context) (*Profile, error) {
	if id := r.next.ProfileID; id != "" {
		return r.s.client.GetProfile(ctx, id, true)
	}
	ps, err := r.s.client.FindProfiles(ctx, "email", r.next.Email, true)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return &Profile{}, nil
	}
	r.next.ProfileID = ps[0].ID
	return ps[0], nil
}

func (r *run) delete(ctx context.Context) error {
	t := DeletionTarget{ProfileID: r.next.ProfileID}
	if t.ProfileID == "" {
		t.Email = r.c.Email
	}
	if t.ProfileID == "" && t.Email == "" {
		return synclayer.Permanent(errors.New("klaviyo: nothing identifies the profile to delete"))
	}
	if err := r.s.client.RequestDeletion(ctx, t); err != nil {
		return err
	}
	r.say("POST /api/data-privacy-deletion-jobs → 202 deletion requested")
	return nil
}

func optOutWord(m *EmailMarketing) string {
	if m.Consent == ConsentUnsubscribed {
		return ConsentUnsubscribed
	}
	return "suppressed (" + m.Suppression[0].Reason + ")"
}
