package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

// ReadBack reads the contact's profile with its subscriptions, by
// external_id and then by email, after an attempt whose answer was lost.
// What only synclayer knows comes from local: that an opt-out was its own,
// and list membership (reading it would cost a call at 1/s). It returns
// nil when Klaviyo holds no profile and synclayer recorded nothing.
func (s *ContactSync) ReadBack(ctx context.Context, c *synclayer.Contact, localRaw json.RawMessage) (json.RawMessage, error) {
	local, err := decodeState(localRaw)
	if err != nil {
		return nil, err
	}
	ps, err := s.client.FindProfiles(ctx, "external_id", c.ID, true)
	if err == nil && len(ps) == 0 && c.Email != "" {
		ps, err = s.client.FindProfiles(ctx, "email", c.Email, true)
	}
	if err != nil {
		return nil, fmt.Errorf("read the profile back from Klaviyo after an unanswered attempt: %w", err)
	}
	if len(ps) == 0 {
		if local == nil {
			return nil, nil
		}
		gone := local.marks()
		gone.Deleted = true
		return mustJSON(gone), nil
	}
	p := ps[0]
	st := local.marks()
	st.ProfileID, st.Email, st.Values = p.ID, p.Email, s.profileValues(p)
	if local != nil && !local.Deleted {
		st.InList = local.InList
		st.Kept = local.Kept // not read back: what the mapping no longer sends is left alone
	}
	if m := p.EmailMarketing; m != nil {
		st.Consent = m.Consent
		ours := local != nil && local.UnsubscribedByUs && onlyUnsubscribe(m)
		if (m.Consent == ConsentUnsubscribed || len(m.Suppression) > 0) && !ours {
			st.KlaviyoOptOut = true
		}
		st.ConsentByUs = local != nil && local.ConsentByUs && local.Consent == m.Consent
	}
	return mustJSON(st), nil
}

// onlyUnsubscribe reports whether m's opt-out is no more than an
// unsubscribe, the one kind synclayer makes.
func onlyUnsubscribe(m *EmailMarketing) bool {
	for _, x := range m.Suppression {
		if x.Reason != "UNSUBSCRIBE" {
			return false
		}
	}
	return true
}
