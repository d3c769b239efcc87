package synclayer

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

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

// Consent is the consent on one channel: the state, which statement decided
// it, and the newest time of each kind of statement with authority. The
// state is derived from those times, not from the order statements arrive
// in, so reordered and duplicated webhooks cannot change the outcome.
type Consent struct {
	State ConsentState `json:"state,omitempty"`
	// Source and At are of the deciding statement: the opt-in that
	// stands, or, while opted out, the newest opt-out.
	Source string    `json:"source,omitempty"`
	At     time.Time `json:"at,omitzero"`

	OptOutAt    time.Time `json:"optOutAt,omitzero"`    // newest opt-out, from any source
	OptInAt     time.Time `json:"optInAt,omitzero"`     // newest opt-in from a consent source
	WithdrawnAt time.Time `json:"withdrawnAt,omitzero"` // newest "not subscribed" that withdrew a consent source's opt-in
}

// ConsentChange is what a source says about consent on one channel. At is
// when the consent was given or withdrawn, as the source reports it.
type ConsentChange struct {
	State ConsentState `json:"state"`
	At    time.Time    `json:"at"`
}

// mergeConsent records ch in cur and returns the result and the rule that
// decided it, with a note when the statement had no authority. sources are
// the consent sources: the sources whose opt-ins count (none: every
// source). The rules:
//
//   - an opt-out from any source stands until an explicit opt-in from a
//     consent source that is strictly newer than every opt-out;
//   - an opt-in from any other source has no authority and is ignored;
//   - a consent source's "not subscribed" withdraws a consent given before
//     it, only when that consent was its own or there is none: a second
//     store whose customer never ticked the box says nothing about the
//     first store's opt-in; and it never lifts an opt-out, because it is
//     not an opt-in.
//
// So no update, resync, default value or reordering can resubscribe anyone.
func mergeConsent(cur Consent, ch ConsentChange, source string, sources []string) (Consent, string, string) {
	isConsentSource := len(sources) == 0 || slices.Contains(sources, source)
	next := cur
	switch {
	case ch.State == ConsentUnsubscribed:
		if !ch.At.After(cur.OptOutAt) && !cur.OptOutAt.IsZero() {
			return cur, RuleStale, ""
		}
		next.OptOutAt = ch.At
	case ch.State == ConsentSubscribed && isConsentSource:
		if !ch.At.After(cur.OptInAt) && !cur.OptInAt.IsZero() {
			return cur, RuleStale, ""
		}
		next.OptInAt = ch.At
	case ch.State == ConsentSubscribed:
		return cur, RuleConsentProtected, fmt.Sprintf("%s is not a consent source (consent_sources: %s): its opt-in is not applied", source, strings.Join(sources, ", "))
	case ch.State == ConsentNone && isConsentSource:
		if cur.State == ConsentSubscribed && cur.Source != source {
			return cur, RuleConsentProtected, fmt.Sprintf("the consent was given at %s; %s saying not subscribed does not withdraw it (an opt-out would)", cur.Source, source)
		}
		if !ch.At.After(cur.WithdrawnAt) && !cur.WithdrawnAt.IsZero() {
			return cur, RuleStale, ""
		}
		next.WithdrawnAt = ch.At
	default:
		return cur, RuleConsentProtected, ""
	}
	state, at := deriveConsent(next)
	if state == cur.State {
		if state == ConsentUnsubscribed && ch.State == ConsentUnsubscribed {
			// A newer opt-out of one already opted out is now the one
			// that stands: its system is the one a destination asks
			// about (Brevo never lifts a block it reported itself) and
			// the write-backs tell the others of.
			next.At, next.Source = at, source
		}
		return next, RuleUnchanged, ""
	}
	next.State, next.At, next.Source = state, at, source
	switch state {
	case ConsentUnsubscribed:
		return next, RuleConsentOptOut, ""
	case ConsentSubscribed:
		return next, RuleConsentOptIn, ""
	}
	return next, RuleNewerWins, ""
}

// deriveConsent computes the state from the newest statement times.
func deriveConsent(c Consent) (ConsentState, time.Time) {
	switch {
	case !c.OptOutAt.IsZero() && !c.OptInAt.After(c.OptOutAt):
		return ConsentUnsubscribed, c.OptOutAt
	case !c.OptInAt.IsZero() && c.OptInAt.After(c.WithdrawnAt):
		return ConsentSubscribed, c.OptInAt
	case !c.WithdrawnAt.IsZero() || !c.OptInAt.IsZero():
		return ConsentNone, c.WithdrawnAt
	}
	return ConsentUnknown, time.Time{}
}
