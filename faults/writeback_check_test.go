package faults

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/source/shopify/shopifysim"
)

// The customer of contact 1, and a real-time clock for the writes' arrivals.
var (
	customer1 = strconv.FormatInt(shopifyID(1), 10)
	wall      = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
)

func arrival(s float64) time.Time { return wall.Add(time.Duration(s * float64(time.Second))) }

// unsubscribedAt is the simulator's customer 1 holding an opt-out at t.
func unsubscribedAt(t time.Time) map[string]shopifysim.Customer {
	return map[string]shopifysim.Customer{customer1: {ID: customer1, Email: emailOf(1),
		EmailConsent: &shopifysim.Consent{MarketingState: "UNSUBSCRIBED", ConsentUpdatedAt: t}}}
}

// written is an applied email write-back of contact 1's opt-out at
// consent, arriving at s seconds and answered 50 ms later.
func written(s float64, consent time.Time) AdminWrite {
	return AdminWrite{At: arrival(s), Answered: arrival(s + 0.05), Op: emailMutation, CustomerID: customer1, State: "UNSUBSCRIBED",
		ConsentAt: consent, Status: 200, Applied: true}
}

func TestCompareWriteBack(t *testing.T) {
	t.Parallel()
	created := shopifyCustomer(1, 1, at(1), at(0), "customers/create", optIn, at(1))
	brevoOut := brevoEvent(1, 0, "unsubscribed", at(2), 101)
	optedOutInBrevo := []*Event{created, brevoOut}
	byBrevo := canonical{Found: true, State: "unsubscribed", Source: "brevo", At: at(2), ShopifyID: customer1}
	kill := fault{kind: "kill", start: arrival(0.02), end: arrival(0.2)}
	for _, tc := range []struct {
		name      string
		events    []*Event
		canonical canonical
		customers map[string]shopifysim.Customer
		writes    []AdminWrite
		echoes    []echo
		faults    []fault
		check     func(WriteBackReport) bool
	}{
		{"AllGood", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)), []AdminWrite{written(0, at(2))},
			[]echo{{Event: &Event{}, Write: written(0, at(2)), Acked: true}}, nil,
			func(r WriteBackReport) bool {
				return !r.Failed() && r.Expected == 1 && r.Done == 1 && r.Written == 1 && r.Echoes == 1 && len(r.Details) == 0
			}},
		{"NotWritten", optedOutInBrevo, byBrevo, map[string]shopifysim.Customer{customer1: {ID: customer1,
			EmailConsent: &shopifysim.Consent{MarketingState: "NOT_SUBSCRIBED"}}}, nil, nil, nil,
			func(r WriteBackReport) bool { return r.Lost == 1 && r.Done == 0 && r.Flagged[0] == emailOf(1) }},
		{"WrittenAtAnotherTime", optedOutInBrevo, byBrevo, unsubscribedAt(at(5)), []AdminWrite{written(0, at(5))}, nil, nil,
			func(r WriteBackReport) bool { return r.Lost == 1 && r.Unwanted == 1 }},
		{"NoShopifyCustomerNoWriteBack", optedOutInBrevo, canonical{Found: true, State: "unsubscribed", Source: "brevo", At: at(2)}, nil, nil, nil, nil,
			func(r WriteBackReport) bool { return !r.Failed() && r.Expected == 0 }},
		// Shopify's own opt-out decided: nothing to write back, and
		// writing it is unwanted.
		{"ShopifysOwnOptOut", []*Event{created, shopifyConsent(1, 2, at(2), optOut)},
			canonical{Found: true, State: "unsubscribed", Source: "shopify", At: at(2), ShopifyID: customer1}, nil, nil, nil, nil,
			func(r WriteBackReport) bool { return !r.Failed() && r.Expected == 0 }},
		{"ShopifysOwnOptOutWritten", []*Event{created, shopifyConsent(1, 2, at(2), optOut)},
			canonical{Found: true, State: "unsubscribed", Source: "shopify", At: at(2), ShopifyID: customer1}, unsubscribedAt(at(2)),
			[]AdminWrite{written(0, at(2))}, nil, nil,
			func(r WriteBackReport) bool { return r.Unwanted == 1 }},
		{"WrittenSubscribed", []*Event{created}, canonical{Found: true, State: "subscribed", Source: "shopify", At: at(1), ShopifyID: customer1}, nil,
			[]AdminWrite{{At: arrival(0), Op: emailMutation, CustomerID: customer1, State: "SUBSCRIBED", ConsentAt: at(1), Status: 200, Applied: true}}, nil, nil,
			func(r WriteBackReport) bool { return r.Subscribed == 1 }},
		// Refused or not, a call that asks for SUBSCRIBED is the broken promise.
		{"AskedSubscribedAndThrottled", []*Event{created}, canonical{Found: true, State: "subscribed", Source: "shopify", At: at(1), ShopifyID: customer1}, nil,
			[]AdminWrite{{At: arrival(0), Op: emailMutation, CustomerID: customer1, State: "SUBSCRIBED", Status: 200, Code: "THROTTLED"}}, nil, nil,
			func(r WriteBackReport) bool { return r.Subscribed == 1 && r.Throttled == 1 && r.Written == 0 }},
		{"WrittenTwiceWithoutFault", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)), []AdminWrite{written(0, at(2)), written(5, at(2))}, nil, nil,
			func(r WriteBackReport) bool { return r.Duplicated == 1 && r.Written == 1 && r.InDoubt == 0 }},
		{"WrittenAgainAfterAKill", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)), []AdminWrite{written(0, at(2)), written(5, at(2))}, nil,
			[]fault{kill}, func(r WriteBackReport) bool { return !r.Failed() && r.InDoubt == 1 && r.Written == 1 }},
		// A kill in doubt for the first repeat does not excuse a third write.
		{"ThirdWriteAfterAKill", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)),
			[]AdminWrite{written(0, at(2)), written(5, at(2)), written(40, at(2))}, nil, []fault{kill},
			func(r WriteBackReport) bool { return r.InDoubt == 1 && r.Duplicated == 1 }},
		// A kill long after the write's commit is no excuse either.
		{"KillAfterTheCommitWindow", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)), []AdminWrite{written(0, at(2)), written(60, at(2))}, nil,
			[]fault{{kind: "kill", start: arrival(30), end: arrival(30.2)}}, func(r WriteBackReport) bool { return r.Duplicated == 1 }},
		// An opt-out, an owner opt-in, a second opt-out elsewhere: two
		// statements, each written once.
		{"TwoStatements", append(optedOutInBrevo, shopifyConsent(1, 3, at(3), optIn), customUpdateWith(1, 4, at(4), optOut)),
			canonical{Found: true, State: "unsubscribed", Source: "custom", At: at(4), ShopifyID: customer1}, unsubscribedAt(at(4)),
			[]AdminWrite{written(0, at(2)), written(5, at(4))}, nil, nil,
			func(r WriteBackReport) bool { return !r.Failed() && r.Written == 2 && r.Done == 1 }},
		{"FailedCallsAreNotWrites", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)),
			[]AdminWrite{{At: arrival(0), Op: emailMutation, CustomerID: customer1, State: "UNSUBSCRIBED", ConsentAt: at(2), Status: 429},
				{At: arrival(1), Op: emailMutation, CustomerID: customer1, State: "UNSUBSCRIBED", ConsentAt: at(2)},
				{At: arrival(2), Op: emailMutation, CustomerID: customer1, State: "UNSUBSCRIBED", ConsentAt: at(2), Status: 500},
				written(3, at(2))}, nil, nil,
			func(r WriteBackReport) bool {
				return !r.Failed() && r.Calls == 4 && r.Answered429 == 1 && r.Unanswered == 1 && r.Status5xx == 1 && r.Written == 1
			}},
		{"SMSWritten", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)),
			[]AdminWrite{written(0, at(2)), {At: arrival(0.1), Op: smsMutation, CustomerID: customer1, State: "UNSUBSCRIBED", ConsentAt: at(2), Status: 200, Applied: true}},
			nil, nil, func(r WriteBackReport) bool { return r.Unwanted == 1 }},
		{"EchoChangedTheContact", optedOutInBrevo, byBrevo, unsubscribedAt(at(2)), []AdminWrite{written(0, at(2))},
			[]echo{{Event: &Event{}, Write: written(0, at(2)), Acked: true, Applied: true}}, nil,
			func(r WriteBackReport) bool { return r.EchoChanged == 1 }},
		// A stale owner opt-in after Brevo's opt-out leaves it standing: a
		// store that says subscribed is wrong.
		{"StoreResubscribed", append(optedOutInBrevo, shopifyCustomer(1, 3, at(3), at(0), "customers/update", optIn, at(1))),
			canonical{Found: true, State: "subscribed", Source: "shopify", At: at(1), ShopifyID: customer1}, unsubscribedAt(at(2)),
			[]AdminWrite{written(0, at(2))}, nil, nil,
			func(r WriteBackReport) bool { return r.ConsentWrong == 1 && r.Lost == 0 }},
		{"NotInTheStore", optedOutInBrevo, canonical{}, nil, nil, nil, nil,
			func(r WriteBackReport) bool { return r.ConsentWrong == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rep WriteBackReport
			CompareWriteBack(&rep, writeBackInput{expect: Expect(tc.events), canonical: map[string]canonical{emailOf(1): tc.canonical},
				customers: tc.customers, elsewhere: elsewhere(tc.events), writes: tc.writes, echoes: tc.echoes, faults: tc.faults})
			if !tc.check(rep) {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

// TestCompare_BrevoBlock: Brevo's own block may outlive a newer owner
// opt-in (synclayer lifts only a block it made), but the contact must be
// listed again, and an opt-out made in Brevo must unlist it.
func TestCompare_BrevoBlock(t *testing.T) {
	t.Parallel()
	created := shopifyCustomer(1, 1, at(1), at(0), "customers/create", optIn, at(1))
	reOptIn := []*Event{created, brevoEvent(1, 0, "spam", at(2), 101), shopifyConsent(1, 3, at(3), optIn)}
	holding := func(lists []int64, blocked bool) []brevosim.Contact {
		return []brevosim.Contact{{Email: emailOf(1), ListIDs: lists, EmailBlacklisted: blocked,
			Attributes: map[string]any{attrFirst: firstName(1, 1), attrLast: lastName(1, 1), attrTags: tagsOf(1)}}}
	}
	for _, tc := range []struct {
		name     string
		events   []*Event
		contacts []brevosim.Contact
		check    func(Findings) bool
	}{
		{"ReOptInBrevoKeepsItsBlock", reOptIn, holding([]int64{listID}, true), func(f Findings) bool { return len(f.Details) == 0 && f.BrevoKept == 1 }},
		{"ReOptInBlockLifted", reOptIn, holding([]int64{listID}, false), func(f Findings) bool { return len(f.Details) == 0 && f.BrevoKept == 0 }},
		{"ReOptInNotListed", reOptIn, holding(nil, true), func(f Findings) bool { return f.LostConsent == 1 }},
		{"OptedOutInBrevoStillListed", reOptIn[:2], holding([]int64{listID}, true), func(f Findings) bool { return f.Resubscribed == 1 }},
		{"OptedOutInBrevo", reOptIn[:2], holding(nil, true), func(f Findings) bool { return len(f.Details) == 0 }},
		// A stale owner opt-in after Brevo's opt-out lifts nothing.
		{"StaleOptInAfterBrevo", append(reOptIn[:2:2], shopifyCustomer(1, 4, at(4), at(0), "customers/update", optIn, at(1))),
			[]brevosim.Contact{{Email: emailOf(1), EmailBlacklisted: true,
				Attributes: map[string]any{attrFirst: firstName(1, 4), attrLast: lastName(1, 4), attrTags: tagsOf(4)}}},
			func(f Findings) bool { return len(f.Details) == 0 }},
		{"StaleOptInAfterBrevoResubscribes", append(reOptIn[:2:2], shopifyCustomer(1, 4, at(4), at(0), "customers/update", optIn, at(1))),
			[]brevosim.Contact{{Email: emailOf(1), ListIDs: []int64{listID}, EmailBlacklisted: true,
				Attributes: map[string]any{attrFirst: firstName(1, 4), attrLast: lastName(1, 4), attrTags: tagsOf(4)}}},
			func(f Findings) bool { return f.Resubscribed == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if f := Compare(Expect(tc.events), tc.contacts, nil, listID); !tc.check(f) {
				t.Errorf("findings %+v", f)
			}
		})
	}
}

// TestPlanBrevoSide checks the plan has what the scenario relies on:
// every kind, a contact with two, redeliveries, and each opt-out dated
// after its contact's creation, half a minute off its events' minutes.
func TestPlanBrevoSide(t *testing.T) {
	t.Parallel()
	w := Generate(rand.New(rand.NewPCG(1, 2)), genOptions{contacts: 300, minEvents: 4, maxEvents: 10}, t0)
	side := planBrevoSide(rand.New(rand.NewPCG(3, 4)), w, t0, 0.2)
	kinds, per, redelivered := map[string]int{}, map[int]int{}, 0
	for _, o := range side.optOuts {
		ev := o.Event
		kinds[ev.Topic]++
		per[ev.Contact]++
		if o.redeliver {
			redelivered++
		}
		if !ev.At.After(at(1)) || ev.At.Second() != 30 || ev.Consent == nil || ev.Consent.State != optOut || ev.Consent.Owner || ev.Source != "brevo" {
			t.Errorf("opt-out %s: at %s, consent %+v, source %s", ev.ID, ev.At, ev.Consent, ev.Source)
		}
	}
	two := 0
	for _, n := range per {
		if n == 2 {
			two++
		}
	}
	for _, k := range brevoOptOutKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s", k)
		}
	}
	if two == 0 || redelivered == 0 || len(per) < 30 {
		t.Errorf("%d contacts, %d with two opt-outs, %d redelivered", len(per), two, redelivered)
	}
}
