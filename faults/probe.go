package faults

import (
	"context"
	"fmt"
	"time"
)

// probeContacts numbers the contacts of aimed crashes apart from the
// workload's.
const probeContacts = 900000

// probe is one aimed crash: a consent change whose Brevo call is applied
// but whose answer never reaches synclayer, because the process is killed
// while the answer is held; then the opposite change. A random kill lands
// in that window rarely (and so does a lost answer); this lands in it
// every time.
type probe struct {
	name   string
	setup  []string // consent states (optIn, optOut, "" for a create without consent), delivered one by one
	held   string   // the change whose answer is lost
	after  string   // the change sent once the process is back
	holdOn string   // the method of the write to hold
}

var probes = []probe{
	{name: "opt-out applied, then owner opt-in", setup: []string{optIn}, held: optOut, after: optIn, holdOn: "PUT"},
	{name: "owner opt-in applied, then opt-out", setup: []string{""}, held: optIn, after: optOut, holdOn: "PUT"},
	{name: "re-opt-in applied, then opt-out", setup: []string{optIn, optOut}, held: optIn, after: optOut, holdOn: "PUT"},
	{name: "create in the list applied, then opt-out", held: optIn, after: optOut, holdOn: "POST"},
}

// probeEvent is the k-th event of a probe contact: a create first, then
// consent changes from the owner.
func probeEvent(n, k int, base time.Time, state string) *Event {
	at := base.Add(time.Duration(k) * time.Minute)
	if k == 1 {
		return shopifyCustomer(n, k, at, base, "customers/create", state, at)
	}
	return shopifyConsent(n, k, at, state)
}

// aimedCrashes runs every probe once, with the workload's traffic done and
// the queue idle, so each outcome has a single cause.
func (h *harness) aimedCrashes(ctx context.Context) error {
	base := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	for i, p := range probes {
		n, k := probeContacts+i, 0
		for _, state := range p.setup {
			k++
			h.tr.deliver(Send{Event: probeEvent(n, k, base, state)})
			if _, err := h.waitIdle(ctx); err != nil {
				return err
			}
		}
		email := emailOf(n)
		ids := h.contactIDs(email)
		hd := h.brevo.holdNext(func(w *Write) bool {
			return w.Method == p.holdOn && (w.Email == email || ids[w.ExtID])
		})
		delivered := make(chan struct{})
		k++
		held := probeEvent(n, k, base, p.held)
		go func() { h.tr.deliver(Send{Event: held}); close(delivered) }()
		select {
		case <-hd.applied:
		case <-time.After(15 * time.Second):
			return fmt.Errorf("aimed crash %q: the %s to Brevo never came", p.name, p.holdOn)
		}
		start := time.Now()
		h.srv.kill()
		h.fault("aimed kill", start)
		h.rep.AimedKills++
		h.mark("aimed kill -9: " + p.name)
		close(hd.release)
		if err := h.srv.start(ctx); err != nil {
			return fmt.Errorf("restart after aimed crash %q: %w", p.name, err)
		}
		<-delivered
		h.tr.deliver(Send{Event: probeEvent(n, k+1, base, p.after)})
		if _, err := h.waitIdle(ctx); err != nil {
			return err
		}
		h.o.Logf("aimed crash %d (%s): done", i+1, p.name)
	}
	return nil
}

// contactIDs returns the synclayer contact IDs (Brevo ext_ids) of email.
func (h *harness) contactIDs(email string) map[string]bool {
	ids := map[string]bool{}
	for _, w := range h.brevo.Writes() {
		if w.Method == "POST" && w.Email == email {
			ids[w.ExtID] = true
		}
	}
	return ids
}
