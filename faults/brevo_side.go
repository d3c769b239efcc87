package faults

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The opt-outs made in Brevo: a person unsubscribes from a campaign, an
// address hard-bounces, a recipient reports spam. Brevo blocklists the
// contact and tells synclayer by its marketing webhook (POST
// /webhooks/brevo with the bearer token), which it retries with the same
// payload until it is acknowledged, as the harness retries Shopify's
// webhooks across kills. Each is an opt-out of source brevo at the
// event's ts_event, dated in its contact's history (at a minute and a
// half past one of its events), so the contact's later events, sent
// after it, may be stale (a Shopify customers/update still saying
// subscribed, which must resubscribe nobody) or newer (an owner opt-in
// that lifts it).

// Brevo's marketing events that opt a contact out, as deliveries name them.
var brevoOptOutKinds = []string{"unsubscribed", "hard_bounced", "spam"}

// brevoHookID is the id of synclayer's webhook in Brevo, which every
// delivery carries.
const brevoHookID = 7

// brevoOptOut is one opt-out made in Brevo and when in the run to send it.
type brevoOptOut struct {
	Event     *Event
	pos       float64 // in the fault phases, 0 to 1
	redeliver bool    // Brevo sends it once more after the acknowledgement

	claimed atomic.Bool // taken by its schedule or by fireNearFault

	// Set by whoever claimed it.
	sent, acked time.Time // the first attempt, and the acknowledgement (zero if never)
	skipped     bool      // its contact was not in Brevo in time
}

// brevoSide is every opt-out made in Brevo during a run.
type brevoSide struct {
	optOuts []*brevoOptOut
	wg      sync.WaitGroup
}

// planBrevoSide picks a share of the workload's contacts for an opt-out
// made in Brevo (a few get two), mostly unsubscribes, some hard bounces
// and spam complaints, each dated after one of its contact's events
// (base is the workload's clock) and sent at a random point of the fault
// phases; some are delivered twice, as Brevo does when it misses an
// answer.
func planBrevoSide(rng *rand.Rand, w *Workload, base time.Time, share float64) *brevoSide {
	count := map[int]int{}
	for _, ev := range w.Events {
		count[ev.Contact]++
	}
	side := &brevoSide{}
	for n := range w.Contacts {
		if rng.Float64() >= share {
			continue
		}
		times := 1
		if rng.Float64() < 0.1 {
			times = 2
		}
		var used []int
		for i := range times {
			k := 1 + rng.IntN(count[n])
			if slices.Contains(used, k) {
				continue
			}
			used = append(used, k)
			kind := "unsubscribed"
			switch r := rng.Float64(); {
			case r < 0.15:
				kind = "hard_bounced"
			case r < 0.3:
				kind = "spam"
			}
			at := base.Add(time.Duration(k)*time.Minute + 30*time.Second)
			side.optOuts = append(side.optOuts, &brevoOptOut{
				Event: brevoEvent(n, i, kind, at, 100+rng.IntN(50)),
				pos:   0.05 + rng.Float64()*0.85, redeliver: rng.Float64() < 0.15,
			})
		}
	}
	return side
}

// brevoEvent is the marketing webhook Brevo sends when contact n opts
// out in Brevo at at, in campaign camp: the documented payload of
// unsubscribed, hard_bounced or spam (brevosim's marketingPayload).
func brevoEvent(n, i int, kind string, at time.Time, camp int) *Event {
	ts := at.Unix()
	p := map[string]any{"id": brevoHookID, "camp_id": camp, "email": emailOf(n), "campaign name": fmt.Sprintf("Fault campaign %d", camp),
		"date_sent": at.Add(-time.Hour).UTC().Format(time.DateTime), "date_event": at.UTC().Format(time.DateTime), "event": kind, "tag": "",
		"ts_sent": ts - 3600, "ts_event": ts, "ts": ts}
	switch kind {
	case "spam":
		p["reason"] = "undesired"
	case "hard_bounced":
		p["reason"], p["sending_ip"] = "mailbox does not exist", "192.0.2.1"
	case "unsubscribed":
		p["sending_ip"], p["list_id"] = "192.0.2.1", []int{listID}
	}
	return &Event{ID: fmt.Sprintf("fzb-%d-%d", n, i), Contact: n, Source: "brevo", Topic: kind, At: at, Attrs: map[string]any{},
		Consent: &Claim{State: optOut, At: at}, Body: mustJSON(p)}
}

// startBrevoSide sends the planned opt-outs over span, each from its own
// goroutine, which finish waits for.
func (h *harness) startBrevoSide(span time.Duration) {
	start := time.Now()
	for _, o := range h.side.optOuts {
		h.side.wg.Go(func() {
			time.Sleep(time.Until(start.Add(time.Duration(o.pos * float64(span)))))
			if o.claimed.CompareAndSwap(false, true) {
				h.sendBrevoOptOut(o, start.Add(span+15*time.Second))
			}
		})
	}
}

// fireNearFault sends at once a planned opt-out whose contact is in
// Brevo, so that the kill or restart about to come finds it, or the jobs
// it queues, in flight. It must be called before finish waits.
func (h *harness) fireNearFault() {
	for _, o := range h.side.optOuts {
		if o.claimed.Load() {
			continue
		}
		if _, ok := h.brevo.Sim.ContactByEmail(emailOf(o.Event.Contact)); !ok || !o.claimed.CompareAndSwap(false, true) {
			continue
		}
		h.side.wg.Go(func() { h.sendBrevoOptOut(o, time.Now()) })
		return
	}
}

// sendBrevoOptOut waits until o's contact is in Brevo (Brevo can only
// report on a contact it has), at most until deadline, then blocklists it
// in the simulator, as Brevo does, and delivers the webhook until it is
// acknowledged.
func (h *harness) sendBrevoOptOut(o *brevoOptOut, deadline time.Time) {
	email := emailOf(o.Event.Contact)
	for {
		if _, ok := h.brevo.Sim.ContactByEmail(email); ok {
			break
		}
		if time.Now().After(deadline) {
			o.skipped = true
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	h.brevo.Sim.Blocklist(email)
	o.sent = time.Now()
	if o.acked = h.ack(o.Event, false); o.acked.IsZero() || !o.redeliver {
		return
	}
	time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
	h.ack(o.Event, true)
}

// nearFault is how soon after an opt-out's acknowledgement a fault still
// finds its jobs (the Brevo contact's, the write-back's) in flight.
const nearFault = 2 * time.Second

// brevoSideCounts fills the report's counts of the opt-outs made in Brevo:
// how they were sent, and how many of the contacts' own owner opt-ins
// came after them stale, or stand newer at the end.
func (h *harness) brevoSideCounts(rep *WriteBackReport, model *Model, expect map[string]Expectation) {
	out := map[int][]*brevoOptOut{}
	for _, o := range h.side.optOuts {
		if !o.acked.IsZero() {
			out[o.Event.Contact] = append(out[o.Event.Contact], o)
		}
	}
	reOptedIn := map[int]bool{}
	for _, ev := range model.Acked() {
		c := ev.Consent
		if c == nil || c.State != optIn || !c.Owner || len(out[ev.Contact]) == 0 {
			continue
		}
		for _, o := range out[ev.Contact] {
			if c.At.Before(o.Event.At) && model.AckedAt(ev).After(o.acked) {
				rep.StaleOptIns++
				break
			}
		}
		if e, ok := expect[emailOf(ev.Contact)]; ok && e.Consent == optIn && !reOptedIn[ev.Contact] {
			reOptedIn[ev.Contact] = true
			rep.ReOptIns++
		}
	}
	h.mu.Lock()
	faults := slices.Clone(h.faults)
	h.mu.Unlock()
	kinds := map[string]int{}
	for _, o := range h.side.optOuts {
		if o.skipped {
			rep.BrevoSkipped++
			continue
		}
		rep.BrevoSent++
		kinds[o.Event.Topic]++
		if o.redeliver {
			rep.BrevoRedelivered++
		}
		if o.acked.IsZero() {
			continue
		}
		rep.BrevoAcked++
		if slices.ContainsFunc(faults, func(f fault) bool { return f.end.After(o.sent) && f.start.Before(o.acked.Add(nearFault)) }) {
			rep.BrevoNearFaults++
		}
	}
	for _, k := range brevoOptOutKinds {
		if kinds[k] > 0 {
			rep.BrevoKinds = append(rep.BrevoKinds, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
}
