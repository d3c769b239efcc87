package faults

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"synclayer/destination/brevo"
)

// ShopReport is what the shop side (shop.go) measured and found. Every
// count of messages or events is of what the receivers and the simulator
// took, which is what a person or a Brevo automation would see.
type ShopReport struct {
	Orders, HighOrders, OrderWebhooks int // orders acknowledged; of which at least highValue; webhooks sent about them
	SlackMessages, SlackRefused       int // messages posted; deliveries answered 503 (retried)
	HookDeliveries, HookRepeats       int // webhooks processed; repeats of a webhook-id the receiver ignored
	HookRepeatsNoFault                int // of those repeats, with no fault between them and the first
	Carts                             int
	CartKinds                         string
	Abandonments                      int // distinct abandonments expected
	CartEvents                        int // cart_abandoned events Brevo took
	LateConversions                   int // conversions acknowledged after the wait could have ended: one event more allowed
	LateSent                          int // of which did send one
	WaitsAcrossFaults                 int // abandonments whose wait had a kill or a PostgreSQL restart in it
	InDoubtSlack, InDoubtEvents       int // repeats with a fault between the first and the repeat: the documented window
	AimedKills                        int
	AimedHeld                         string
	Replayed                          int // done jobs dead-lettered and replayed with `synclayer dlq retry`
	ReplaySent                        int // messages, webhooks and events the replay sent: must be none
	Undetermined                      int // orders or carts with a webhook never acknowledged, left unchecked

	SlackLost, SlackDuplicated, SlackUnwanted int // a high-value order without a message; repeats not in doubt; messages for no such order
	HookLost, HookDuplicated, HookUnwanted    int // the same for the webhook action, where a second webhook-id for one order is a duplicate
	HookForged                                int // deliveries whose signature did not verify
	EventsLost, EventsDuplicated              int // abandonments without an event; repeats not in doubt
	EventsUnwanted                            int // events for a converted cart, a contact without consent, or no such cart

	Notes   []string // what the run could not do as planned
	Details []string
}

// Failed reports whether an action fired other than once.
func (s *ShopReport) Failed() bool {
	return s.SlackLost+s.SlackDuplicated+s.SlackUnwanted+s.HookLost+s.HookDuplicated+s.HookUnwanted+s.HookForged+
		s.EventsLost+s.EventsDuplicated+s.EventsUnwanted+s.ReplaySent > 0
}

func (s *ShopReport) note(format string, args ...any) {
	if len(s.Details) < maxDetails {
		s.Details = append(s.Details, fmt.Sprintf(format, args...))
	}
}

// shopInput is what CompareShop holds against each other.
type shopInput struct {
	orders []*shopOrder
	carts  []*shopCart
	acked  func(*Event) bool
	slack  []Delivery
	hook   []Delivery
	events []EventCall
	faults []fault
}

// inDoubt reports whether a fault fell between two deliveries of one
// message, close enough after the first to have cut it off from its
// commit: the one way a repeat may happen (Slack and Brevo events take no
// idempotency key, so a crash after their 2xx and before the job's commit
// runs the action again). The fault must begin before commitWindow has
// passed since the first answer left (a live process commits well within
// it), and end after the first arrived, give or take a request already
// on its way when the process died.
func inDoubt(faults []fault, first, repeat Delivery) bool {
	answered := first.Answered
	if answered.IsZero() {
		answered = first.At
	}
	return slices.ContainsFunc(faults, func(f fault) bool {
		return f.end.Add(inFlight).After(first.At) && f.start.Before(answered.Add(commitWindow)) && repeat.At.After(f.start)
	})
}

const (
	commitWindow = 15 * time.Second       // answer → the job's commit, at most, even with SQLite's busy timeout
	inFlight     = 500 * time.Millisecond // a request sent before a kill and read after it
)

var slackText = regexp.MustCompile(`^order (\S+) total (\S+) for (\S+)$`)

// CompareShop checks that every acknowledged high-value order produced
// exactly one Slack message (repeats in doubt aside) and one webhook
// after deduplication by webhook-id, and no low-value order either; and
// that every cart sent one cart_abandoned per abandonment it was left
// in, none when converted in time or when its contact has no consent.
func CompareShop(rep *ShopReport, in shopInput) {
	orders := map[string]*shopOrder{}
	for _, o := range in.orders {
		orders[o.key()] = o
	}
	acked := func(o *shopOrder) bool { return slices.ContainsFunc(o.Events, in.acked) }

	slackBy := map[string][]Delivery{}
	for _, d := range in.slack {
		if !d.Taken() {
			if d.Status == 503 {
				rep.SlackRefused++
			}
			continue
		}
		rep.SlackMessages++
		var m struct{ Text string }
		_ = json.Unmarshal(d.Body, &m)
		f := slackText.FindStringSubmatch(m.Text)
		if f == nil {
			rep.SlackUnwanted++
			rep.note("slack: unreadable message %s", d.Body)
			continue
		}
		if o := orders[f[1]]; o != nil && (f[2] != o.Total || f[3] != shopEmail(o.Contact)) {
			rep.SlackUnwanted++
			rep.note("slack: message %q, want total %s for %s", m.Text, o.Total, shopEmail(o.Contact))
		}
		slackBy[f[1]] = append(slackBy[f[1]], d)
	}
	hookBy := map[string][]Delivery{}
	firstOf := map[string]Delivery{}
	for _, d := range in.hook {
		switch {
		case d.Forged:
			rep.HookForged++
			rep.note("webhook: %s does not verify", d.ID)
			continue
		case d.Status/100 != 2:
			continue
		case d.Repeat:
			rep.HookRepeats++
			if !inDoubt(in.faults, firstOf[d.ID], d) {
				rep.HookRepeatsNoFault++
			}
			continue
		}
		rep.HookDeliveries++
		firstOf[d.ID] = d
		var b struct {
			Data struct {
				Rule    string
				Trigger struct{ Key string }
			}
		}
		_ = json.Unmarshal(d.Body, &b)
		if b.Data.Rule != ruleName {
			rep.HookUnwanted++
			rep.note("webhook: %s names rule %q", d.ID, b.Data.Rule)
			continue
		}
		hookBy[b.Data.Trigger.Key] = append(hookBy[b.Data.Trigger.Key], d)
	}

	for _, key := range sortedKeys(orders) {
		o := orders[key]
		msgs, hooks := slackBy[key], hookBy[key]
		delete(slackBy, key)
		delete(hookBy, key)
		rep.OrderWebhooks += len(o.Events)
		if !acked(o) {
			rep.Undetermined++
			continue
		}
		rep.Orders++
		if !o.High {
			if len(msgs)+len(hooks) > 0 {
				rep.SlackUnwanted += len(msgs)
				rep.HookUnwanted += len(hooks)
				rep.note("order %s of %s: %d Slack messages and %d webhooks, want none below %s", key, o.Total, len(msgs), len(hooks), highValue)
			}
			continue
		}
		rep.HighOrders++
		if len(msgs) == 0 {
			rep.SlackLost++
			rep.note("order %s of %s: no Slack message", key, o.Total)
		}
		for i := 1; i < len(msgs); i++ {
			if inDoubt(in.faults, msgs[i-1], msgs[i]) {
				rep.InDoubtSlack++
				continue
			}
			rep.SlackDuplicated++
			rep.note("order %s: Slack message repeated at %s (first %s) with no fault between", key, msgs[i].At.Format("15:04:05.000"), msgs[i-1].At.Format("15:04:05.000"))
		}
		switch {
		case len(hooks) == 0:
			rep.HookLost++
			rep.note("order %s of %s: no webhook", key, o.Total)
		case len(hooks) > 1:
			rep.HookDuplicated += len(hooks) - 1
			rep.note("order %s: %d webhooks under different webhook-ids", key, len(hooks))
		}
	}
	for _, key := range sortedKeys(slackBy) {
		rep.SlackUnwanted += len(slackBy[key])
		rep.note("slack: %d messages for %s, which the harness never sent", len(slackBy[key]), key)
	}
	for _, key := range sortedKeys(hookBy) {
		rep.HookUnwanted += len(hookBy[key])
		rep.note("webhook: %d deliveries for %s, which the harness never sent", len(hookBy[key]), key)
	}

	compareCarts(rep, in)
}

// compareCarts counts each cart's events by abandonment (its total tells
// them apart): a repeat of one abandonment is in doubt or a duplicate; a
// missing one is lost; one too many is unwanted, unless a conversion or
// change was acknowledged too late to be sure it beat the wait.
func compareCarts(rep *ShopReport, in shopInput) {
	byCart := map[string][]Delivery{}
	totals := map[string][]string{}
	for _, e := range in.events {
		if !e.OK() || e.Name != brevo.CartAbandonedEvent {
			continue
		}
		rep.CartEvents++
		byCart[e.CartID] = append(byCart[e.CartID], Delivery{At: e.At, Answered: e.Answered})
		totals[e.CartID] = append(totals[e.CartID], e.Total)
	}
	kinds := map[cartKind]int{}
	for _, c := range in.carts {
		kinds[c.Kind]++
		id := c.ID()
		evs, tots := byCart[id], totals[id]
		delete(byCart, id)
		if c.Note != "" {
			rep.Notes = append(rep.Notes, "cart "+id+": "+c.Note)
		}
		if c.Undetermined {
			rep.Undetermined++
			continue
		}
		rep.Carts++
		rep.Abandonments += c.Want
		if c.MayExtra {
			rep.LateConversions++
		}
		last := map[string]Delivery{}
		var distinct []string
		for i, t := range tots {
			if prev, ok := last[t]; ok {
				if inDoubt(in.faults, prev, evs[i]) {
					rep.InDoubtEvents++
				} else {
					rep.EventsDuplicated++
					rep.note("cart %s (%s): cart_abandoned for total %s repeated at %s with no fault since %s", id, cartKindNames[c.Kind], t,
						evs[i].At.Format("15:04:05.000"), prev.At.Format("15:04:05.000"))
				}
			} else {
				distinct = append(distinct, t)
			}
			last[t] = evs[i]
		}
		switch n := len(distinct); {
		case n < c.Want:
			rep.EventsLost += c.Want - n
			rep.note("cart %s (%s, consent %v): %d abandonments sent, want %d", id, cartKindNames[c.Kind], c.Consent, n, c.Want)
		case n == c.Want+1 && c.MayExtra:
			rep.LateSent++
		case n > c.Want:
			rep.EventsUnwanted += n - c.Want
			rep.note("cart %s (%s, consent %v): %d abandonments sent (totals %v), want %d", id, cartKindNames[c.Kind], c.Consent, n, distinct, c.Want)
		}
		if c.Want > 0 && len(evs) > 0 && slices.ContainsFunc(in.faults, func(f fault) bool {
			return f.start.After(c.LastChange) && f.start.Before(evs[len(evs)-1].At)
		}) {
			rep.WaitsAcrossFaults++
		}
	}
	for _, id := range sortedKeys(byCart) {
		rep.EventsUnwanted += len(byCart[id])
		rep.note("cart_abandoned: %d events for %s, which the harness never sent", len(byCart[id]), id)
	}
	var parts []string
	for k := range numCartKinds {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], cartKindNames[k]))
		}
	}
	rep.CartKinds = fmt.Sprint(parts)
}

// withoutShop drops the writes about the shop's contacts, whose
// attributes and consent the model does not predict.
func withoutShop(writes []Write) []Write {
	shopExt := map[string]bool{}
	out := writes[:0:0]
	for _, w := range writes {
		if w.Method == "POST" && isShopEmail(w.Email) && w.ExtID != "" {
			shopExt[w.ExtID] = true
		}
		if isShopEmail(w.Email) || (w.Email == "" && shopExt[w.ExtID]) {
			continue
		}
		out = append(out, w)
	}
	return out
}
