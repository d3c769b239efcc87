package faults

import (
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func at(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

// brevoHolding is the Brevo contact the expectation for contact 1 calls
// for after events, built by hand so a test can break one thing.
func brevoHolding(version int, lists []int64, blacklisted bool) brevosim.Contact {
	return brevosim.Contact{ID: 1, Email: emailOf(1), ExtID: "ct_1", ListIDs: lists, EmailBlacklisted: blacklisted,
		Attributes: map[string]any{attrFirst: firstName(1, version), attrLast: lastName(1, version), attrTags: tagsOf(version)}}
}

func create(ext string) Write {
	return Write{Method: "POST", Email: emailOf(1), ExtID: ext, Status: 201, Body: []byte(`{"email":"` + emailOf(1) + `","ext_id":"` + ext + `"}`)}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	optedIn := []*Event{shopifyCustomer(1, 1, at(1), at(0), "customers/create", optIn, at(1)), shopifyCustomer(1, 2, at(2), at(0), "customers/update", optIn, at(1))}
	optedOut := append(optedIn[:2:2], shopifyConsent(1, 3, at(3), optOut))
	for _, tc := range []struct {
		name     string
		events   []*Event
		contacts []brevosim.Contact
		writes   []Write
		check    func(Findings) bool
	}{
		{"AllGood", optedIn, []brevosim.Contact{brevoHolding(2, []int64{5}, false)}, []Write{create("ct_1")},
			func(f Findings) bool { return len(f.Details) == 0 }},
		{"OlderValue", optedIn, []brevosim.Contact{brevoHolding(1, []int64{5}, false)}, nil,
			func(f Findings) bool { return f.Lost == 1 && f.LostFields == 3 }},
		{"PlatformSetOwnedTotal", optedIn, []brevosim.Contact{withTotal(brevoHolding(2, []int64{5}, false))}, []Write{create("ct_1")},
			func(f Findings) bool { return f.OwnedOverwrites == 1 && f.Lost == 0 }},
		// A deliberately broken expectation: the model claims a version 3
		// Brevo never saw, and Compare must call it lost.
		{"BrokenExpectation", append(optedIn[:2:2], shopifyCustomer(1, 3, at(3), at(0), "customers/update", optIn, at(1))),
			[]brevosim.Contact{brevoHolding(2, []int64{5}, false)}, nil,
			func(f Findings) bool { return f.Lost == 1 }},
		{"Missing", optedIn, nil, nil, func(f Findings) bool { return f.Lost == 1 }},
		{"OptInNotApplied", optedIn, []brevosim.Contact{brevoHolding(2, nil, false)}, nil,
			func(f Findings) bool { return f.Lost == 1 && f.LostConsent == 1 }},
		{"OptedOutStillListed", optedOut, []brevosim.Contact{brevoHolding(2, []int64{5}, true)}, nil,
			func(f Findings) bool { return f.Resubscribed == 1 }},
		{"OptedOutNotBlocklisted", optedOut, []brevosim.Contact{brevoHolding(2, nil, false)}, nil,
			func(f Findings) bool { return f.Resubscribed == 1 }},
		{"BlacklistFalseWithoutReOptIn", optedOut, []brevosim.Contact{brevoHolding(2, nil, true)},
			[]Write{create("ct_1"), {Method: "PUT", ExtID: "ct_1", Status: 204, Body: []byte(`{"emailBlacklisted": false}`)}},
			func(f Findings) bool { return f.Resubscribed == 1 }},
		{"OtherSourceOptInListed", []*Event{customUpdateWith(1, 1, at(1), optIn)}, []brevosim.Contact{{Email: emailOf(1), ListIDs: []int64{5}, Attributes: map[string]any{attrFirst: firstName(1, 1)}}}, nil,
			func(f Findings) bool { return f.Resubscribed == 1 }},
		{"TwoCreates", optedIn, []brevosim.Contact{brevoHolding(2, []int64{5}, false)}, []Write{create("ct_1"), create("ct_1")},
			func(f Findings) bool { return f.Duplicated == 1 }},
		{"CreateWhoseAnswerWasLost", optedIn, []brevosim.Contact{brevoHolding(2, []int64{5}, false)},
			[]Write{{Method: "POST", Email: emailOf(1), ExtID: "ct_1", Applied: 201}, create("ct_1")},
			func(f Findings) bool { return f.Duplicated == 1 }},
		{"StaleOverwrite", optedIn, []brevosim.Contact{brevoHolding(2, []int64{5}, false)},
			[]Write{create("ct_1"), {Method: "PUT", ExtID: "ct_1", Status: 204, Body: []byte(`{"attributes":{"FIRSTNAME":"F1v2"}}`)},
				{Method: "PUT", ExtID: "ct_1", Status: 204, Body: []byte(`{"attributes":{"FIRSTNAME":"F1v1"}}`)},
				{Method: "PUT", ExtID: "ct_1", Status: 204, Body: []byte(`{"attributes":{"FIRSTNAME":"F1v2"}}`)}},
			func(f Findings) bool { return f.StaleOverwrites == 1 && f.Lost == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := Compare(Expect(tc.events), tc.contacts, tc.writes, listID)
			if !tc.check(f) {
				t.Errorf("findings %+v", f)
			}
		})
	}
}

func withTotal(c brevosim.Contact) brevosim.Contact {
	c.Attributes[attrOrders] = float64(2)
	return c
}

// customUpdateWith is a custom-source event that sets FIRSTNAME and claims
// consent state.
func customUpdateWith(n, k int, when time.Time, state string) *Event {
	return &Event{ID: "c", Contact: n, Source: "custom", At: when, Version: k,
		Attrs: map[string]any{attrFirst: firstName(n, k)}, Consent: &Claim{State: state, At: when}}
}
