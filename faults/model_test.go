package faults

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestExpect_Consent(t *testing.T) {
	t.Parallel()
	owner := func(state string, m int) *Event {
		return &Event{Contact: 1, Source: "shopify", At: at(m), Consent: &Claim{State: state, At: at(m), Owner: true}}
	}
	other := func(state string, m int) *Event {
		return &Event{Contact: 1, Source: "custom", At: at(m), Consent: &Claim{State: state, At: at(m)}}
	}
	for _, tc := range []struct {
		name    string
		events  []*Event
		want    string
		reOptIn bool
	}{
		{"OwnerOptIn", []*Event{owner(optIn, 1)}, optIn, false},
		{"OtherSourceOptInDoesNotCount", []*Event{other(optIn, 1)}, "", false},
		{"OptOutFromAnySource", []*Event{owner(optIn, 1), other(optOut, 2)}, optOut, false},
		{"NewerOwnerOptInLifts", []*Event{owner(optOut, 2), owner(optIn, 3)}, optIn, true},
		{"OtherSourceCannotLift", []*Event{owner(optOut, 2), other(optIn, 3)}, optOut, false},
		{"OlderOptInDoesNotLift", []*Event{owner(optIn, 3), owner(optOut, 5)}, optOut, false},
		// The opt-in at 6 lifted the opt-out at 5, so a false was once
		// right, but the opt-out at 8 stands, whatever the arrival order.
		{"TwoOptOutsAroundAnOptIn", []*Event{owner(optOut, 5), other(optOut, 8), owner(optIn, 6)}, optOut, true},
		{"OptInAfterBoth", []*Event{owner(optIn, 5), owner(optIn, 9), other(optOut, 7)}, optIn, true},
		{"SameInstantOptOutWins", []*Event{owner(optIn, 2), other(optOut, 2)}, optOut, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := Expect(tc.events)[emailOf(1)]
			if e.Consent != tc.want || e.ReOptIn != tc.reOptIn {
				t.Errorf("consent %q reOptIn %v, want %q %v", e.Consent, e.ReOptIn, tc.want, tc.reOptIn)
			}
		})
	}
}

func TestExpect_NewestValueWinsInAnyOrder(t *testing.T) {
	t.Parallel()
	evs := []*Event{
		shopifyCustomer(1, 3, at(3), at(0), "customers/update", "", time.Time{}),
		shopifyCustomer(1, 1, at(1), at(0), "customers/create", "", time.Time{}),
		customUpdateWith(1, 2, at(2), ""),
	}
	e := Expect(evs)[emailOf(1)]
	if v := e.Attrs[attrFirst]; v.Version != 3 || v.V != firstName(1, 3) {
		t.Errorf("FIRSTNAME %+v, want version 3", v)
	}
}

// TestGenerate checks the workload has what the scenario relies on: every
// kind of event, reordered pairs and redeliveries.
func TestGenerate(t *testing.T) {
	t.Parallel()
	w := Generate(rand.New(rand.NewPCG(1, 2)), genOptions{contacts: 200, minEvents: 4, maxEvents: 10, reorder: 0.15, redeliver: 0.08}, t0)
	topics := map[string]int{}
	redelivered, reordered, otherOptIns, ownerOptIns, optOuts := 0, 0, 0, 0, 0
	last := map[int]int{}
	for _, s := range w.Sends {
		if s.Redelivery {
			redelivered++
			continue
		}
		topics[s.Event.Topic]++
		if s.Event.Version < last[s.Event.Contact] {
			reordered++
		}
		last[s.Event.Contact] = max(last[s.Event.Contact], s.Event.Version)
		if c := s.Event.Consent; c != nil {
			switch {
			case c.State == optOut:
				optOuts++
			case c.Owner:
				ownerOptIns++
			default:
				otherOptIns++
			}
		}
	}
	for _, topic := range []string{"customers/create", "customers/update", "customers_email_marketing_consent/update", "customer_updated"} {
		if topics[topic] == 0 {
			t.Errorf("no %s events", topic)
		}
	}
	if redelivered == 0 || reordered == 0 || otherOptIns == 0 || ownerOptIns == 0 || optOuts == 0 {
		t.Errorf("redelivered %d, reordered %d, other-source opt-ins %d, owner opt-ins %d, opt-outs %d; want all > 0",
			redelivered, reordered, otherOptIns, ownerOptIns, optOuts)
	}
}
