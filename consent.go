package synclayer

import "time"

// ConsentState is a contact's marketing consent on one channel. The zero
// value means no source has said anything yet.
type ConsentState string

const (
	ConsentUnknown      ConsentState = ""
	ConsentNone         ConsentState = "not_subscribed" // never opted in; synced, not marketed to
	ConsentSubscribed   ConsentState = "subscribed"     // explicit opt-in
	ConsentUnsubscribed ConsentState = "unsubscribed"   // explicit opt-out; blocklisted downstream
)

// Valid reports whether s is one of the known states.
func (s ConsentState) Valid() bool {
	switch s {
	case ConsentUnknown, ConsentNone, ConsentSubscribed, ConsentUnsubscribed:
		return true
	}
	return false
}

// Consent is the consent on one channel with where and when it was decided.
type Consent struct {
	State  ConsentState `json:"state,omitempty"`
	Source string       `json:"source,omitempty"`
	At     time.Time    `json:"at,omitzero"`
}

// ConsentChange is what a source says about consent on one channel. At is
// when the consent was given or withdrawn, as the source reports it.
type ConsentChange struct {
	State ConsentState `json:"state"`
	At    time.Time    `json:"at"`
}

// mergeConsent applies ch to cur under the consent rules and returns the
// result and the rule that decided it:
//
//   - an opt-out from any source stands, if it is newer than what is held;
//   - only an explicit opt-in from the consent owner, newer than what is
//     held, lifts an opt-out or grants consent;
//   - "not subscribed" never lifts an opt-out, because it is not an opt-in.
//
// So no update, resync or default value can resubscribe anyone.
func mergeConsent(cur Consent, ch ConsentChange, source, owner string) (Consent, string) {
	next := Consent{State: ch.State, Source: source, At: ch.At}
	if cur.State == ch.State {
		return cur, RuleUnchanged
	}
	if !cur.At.IsZero() && !ch.At.After(cur.At) {
		return cur, RuleStale
	}
	switch ch.State {
	case ConsentUnsubscribed:
		return next, RuleConsentOptOut
	case ConsentSubscribed:
		if owner != "" && source != owner {
			return cur, RuleConsentProtected
		}
		return next, RuleConsentOptIn
	case ConsentNone:
		if cur.State == ConsentUnsubscribed {
			return cur, RuleConsentProtected
		}
		if cur.State == ConsentSubscribed && owner != "" && source != owner {
			return cur, RuleConsentProtected
		}
		return next, RuleNewerWins
	}
	return cur, RuleConsentProtected
}
