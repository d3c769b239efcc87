package faults

import (
	"fmt"
	"testing"
	"time"
)

func slackMsg(o *shopOrder, sec int) Delivery {
	return Delivery{At: t0.Add(time.Duration(sec) * time.Second), Status: 200,
		Body: mustJSON(map[string]string{"text": fmt.Sprintf("order %s total %s for %s", o.key(), o.Total, shopEmail(o.Contact))})}
}

func hookMsg(o *shopOrder, id string, sec int, repeat bool) Delivery {
	body := mustJSON(map[string]any{"type": "workflow.action", "data": map[string]any{"rule": ruleName, "trigger": map[string]any{"key": o.key()}}})
	return Delivery{At: t0.Add(time.Duration(sec) * time.Second), Status: 200, ID: id, Body: body, Repeat: repeat}
}

func cartEvent(c *shopCart, total string, sec int) EventCall {
	return EventCall{At: t0.Add(time.Duration(sec) * time.Second), Name: "cart_abandoned", CartID: c.ID(), Total: total, Status: 204}
}

// TestCompareShop breaks one thing at a time and checks CompareShop
// names it, and that a repeat with a kill between its two deliveries is
// counted in doubt, not as a duplicate.
func TestCompareShop(t *testing.T) {
	t.Parallel()
	high := &shopOrder{ID: 1, Contact: shopContacts, Total: "600.00", High: true, Events: []*Event{{ID: "o1"}}}
	low := &shopOrder{ID: 2, Contact: shopContacts + 1, Total: "499.99", Events: []*Event{{ID: "o2"}}}
	kill := fault{kind: "kill", start: t0.Add(5 * time.Second), end: t0.Add(5*time.Second + 30*time.Millisecond)}
	left := func() *shopCart {
		return &shopCart{Kind: cartAbandoned, Source: "shopify", Token: "k1", Consent: true, Want: 1, LastChange: t0}
	}
	good := func() shopInput {
		return shopInput{orders: []*shopOrder{high, low}, carts: []*shopCart{left()}, acked: func(*Event) bool { return true },
			slack: []Delivery{slackMsg(high, 1)}, hook: []Delivery{hookMsg(high, "wf_1", 1, false)},
			events: []EventCall{cartEvent(left(), "20.00", 3)}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*shopInput)
		check func(ShopReport) bool
	}{
		{"AllGood", func(*shopInput) {}, func(r ShopReport) bool {
			return !r.Failed() && r.HighOrders == 1 && r.Orders == 2 && r.Abandonments == 1
		}},
		{"SlackLost", func(in *shopInput) { in.slack = nil }, func(r ShopReport) bool { return r.SlackLost == 1 }},
		{"SlackRepeatWithoutFault", func(in *shopInput) { in.slack = append(in.slack, slackMsg(high, 9)) },
			func(r ShopReport) bool { return r.SlackDuplicated == 1 && r.InDoubtSlack == 0 }},
		{"SlackRepeatAcrossKill", func(in *shopInput) { in.slack = append(in.slack, slackMsg(high, 9)); in.faults = []fault{kill} },
			func(r ShopReport) bool { return !r.Failed() && r.InDoubtSlack == 1 }},
		{"KillBeforeBoth", func(in *shopInput) {
			in.slack = []Delivery{slackMsg(high, 7), slackMsg(high, 9)}
			in.faults = []fault{kill}
		}, func(r ShopReport) bool { return r.SlackDuplicated == 1 }},
		{"KillLongAfterTheFirst", func(in *shopInput) {
			in.slack = []Delivery{slackMsg(high, 1), slackMsg(high, 60)}
			in.faults = []fault{{kind: "kill", start: t0.Add(30 * time.Second), end: t0.Add(30 * time.Second)}}
		}, func(r ShopReport) bool { return r.SlackDuplicated == 1 }},
		{"HeldAnswerThenKill", func(in *shopInput) {
			first := slackMsg(high, 1)
			first.Answered = t0.Add(40 * time.Second) // held across the kill at 30 s
			in.slack = []Delivery{first, slackMsg(high, 45)}
			in.faults = []fault{{kind: "aimed kill", start: t0.Add(30 * time.Second), end: t0.Add(30 * time.Second)}}
		}, func(r ShopReport) bool { return !r.Failed() && r.InDoubtSlack == 1 }},
		{"LowValueMessage", func(in *shopInput) { in.slack = append(in.slack, slackMsg(low, 2)) }, func(r ShopReport) bool { return r.SlackUnwanted == 1 }},
		{"SlackRefusedIsNoMessage", func(in *shopInput) { in.slack = append([]Delivery{{At: t0, Status: 503}}, in.slack...) },
			func(r ShopReport) bool { return !r.Failed() && r.SlackRefused == 1 }},
		{"WrongTotal", func(in *shopInput) {
			d := slackMsg(high, 1)
			d.Body = mustJSON(map[string]string{"text": fmt.Sprintf("order %s total 6.00 for %s", high.key(), shopEmail(high.Contact))})
			in.slack = []Delivery{d}
		}, func(r ShopReport) bool { return r.SlackUnwanted == 1 }},
		{"UnackedOrderIsUnchecked", func(in *shopInput) { in.acked = func(*Event) bool { return false }; in.slack, in.hook = nil, nil },
			func(r ShopReport) bool { return r.SlackLost == 0 && r.Undetermined == 2 }},
		{"HookLost", func(in *shopInput) { in.hook = nil }, func(r ShopReport) bool { return r.HookLost == 1 }},
		{"HookRepeatIsIgnored", func(in *shopInput) { in.hook = append(in.hook, hookMsg(high, "wf_1", 9, true)) },
			func(r ShopReport) bool { return !r.Failed() && r.HookRepeats == 1 && r.HookRepeatsNoFault == 1 }},
		{"HookUnderTwoIDs", func(in *shopInput) {
			in.hook = append(in.hook, hookMsg(high, "wf_2", 9, false))
			in.faults = []fault{kill}
		},
			func(r ShopReport) bool { return r.HookDuplicated == 1 }},
		{"HookForged", func(in *shopInput) { in.hook = append(in.hook, Delivery{Status: 400, Forged: true}) }, func(r ShopReport) bool { return r.HookForged == 1 }},
		{"CartLost", func(in *shopInput) { in.events = nil }, func(r ShopReport) bool { return r.EventsLost == 1 }},
		{"ConvertedCartSent", func(in *shopInput) { in.carts[0].Want = 0 }, func(r ShopReport) bool { return r.EventsUnwanted == 1 }},
		{"LateConversionMaySend", func(in *shopInput) { in.carts[0].Want, in.carts[0].MayExtra = 0, true },
			func(r ShopReport) bool { return !r.Failed() && r.LateSent == 1 }},
		{"LateConversionMayNotSendTwo", func(in *shopInput) {
			in.carts[0].Want, in.carts[0].MayExtra = 0, true
			in.events = append(in.events, cartEvent(left(), "40.00", 8))
		}, func(r ShopReport) bool { return r.EventsUnwanted == 2 }},
		{"ChangedCartTwice", func(in *shopInput) {
			in.carts[0].Want = 2
			in.events = append(in.events, cartEvent(left(), "40.00", 8))
		},
			func(r ShopReport) bool { return !r.Failed() }},
		{"CartRepeatWithoutFault", func(in *shopInput) { in.events = append(in.events, cartEvent(left(), "20.00", 8)) },
			func(r ShopReport) bool { return r.EventsDuplicated == 1 }},
		{"CartRepeatAcrossKill", func(in *shopInput) {
			in.events = append(in.events, cartEvent(left(), "20.00", 8))
			in.faults = []fault{kill}
		},
			func(r ShopReport) bool { return !r.Failed() && r.InDoubtEvents == 1 && r.WaitsAcrossFaults == 1 }},
		{"EventForNoSuchCart", func(in *shopInput) {
			in.events = append(in.events, EventCall{At: t0, Name: "cart_abandoned", CartID: "shopify:nope", Status: 204})
		}, func(r ShopReport) bool { return r.EventsUnwanted == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := good()
			tc.edit(&in)
			var r ShopReport
			CompareShop(&r, in)
			if !tc.check(r) {
				t.Errorf("report %+v", r)
			}
		})
	}
}
