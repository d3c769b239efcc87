package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"synclayer"
	"synclayer/skill"
	"synclayer/source/shopify/shopifysim"
)

// The Shopify side of the write-back: an opt-out that did not come from
// Shopify (an opt-out made in Brevo, the custom source's opt-outs) is
// written back to the Shopify customer with
// customerEmailMarketingConsentUpdate UNSUBSCRIBED, by a job on the
// queue consent-writeback@shopify. The harness serves the Admin API
// simulator, holds every customer of the model in it, and answers each
// write it applies with the echo Shopify would send: a customers/update
// webhook saying unsubscribed at the consentUpdatedAt written, which
// must change nothing.

// echoes are Shopify's customers/update webhooks answering the writes.
type echoes struct {
	mu      sync.Mutex
	sent    []*echo
	pending atomic.Int64
}

// echo is one echo webhook and what came of it.
type echo struct {
	Event   *Event
	Write   AdminWrite
	Acked   bool
	Applied bool // an answer said the webhook changed the contact
}

// echoEvent is the customers/update webhook, under webhook id id, that
// Shopify sends after contact n's email consent was set to unsubscribed
// at at. Its updated_at is at, in the model's past, and it carries no
// field but the email, so it says nothing about names or tags that the
// model would have to date: only the consent, which is the point.
func echoEvent(n int, at time.Time, id string) *Event {
	at = at.UTC()
	return &Event{ID: id, Contact: n, Source: "shopify", Topic: "customers/update", At: at, Attrs: map[string]any{},
		Consent: &Claim{State: optOut, At: at, Owner: true},
		Body: mustJSON(map[string]any{"id": shopifyID(n), "email": emailOf(n), "updated_at": stamp(at),
			"email_marketing_consent": map[string]any{"state": optOut, "opt_in_level": "single_opt_in", "consent_updated_at": stamp(at)}})}
}

// sendEcho delivers Shopify's echo of the applied write w, a moment
// after it, until it is acknowledged.
func (h *harness) sendEcho(w AdminWrite) {
	n, err := strconv.ParseInt(w.CustomerID, 10, 64)
	if err != nil || w.ConsentAt.IsZero() {
		h.echoes.mu.Lock()
		h.echoes.sent = append(h.echoes.sent, &echo{Write: w})
		h.echoes.mu.Unlock()
		return
	}
	h.echoes.mu.Lock()
	e := &echo{Write: w, Event: echoEvent(int(n-shopifyID(0)), w.ConsentAt, fmt.Sprintf("fze-%s-%d", w.CustomerID, len(h.echoes.sent)))}
	h.echoes.sent = append(h.echoes.sent, e)
	h.echoes.mu.Unlock()
	h.echoes.pending.Add(1)
	go func() {
		defer h.echoes.pending.Add(-1)
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		acked := !h.ack(e.Event, false).IsZero()
		_, applied := h.tr.applied.Load(e.Event.ID)
		h.echoes.mu.Lock()
		e.Acked, e.Applied = acked, applied
		h.echoes.mu.Unlock()
	}()
}

// echoList returns a copy of the echoes sent so far.
func (h *harness) echoList() []echo {
	h.echoes.mu.Lock()
	defer h.echoes.mu.Unlock()
	out := make([]echo, len(h.echoes.sent))
	for i, e := range h.echoes.sent {
		out[i] = *e
	}
	return out
}

// settleWriteBacks waits until every echo is acknowledged and the queue
// is idle, again as long as that made new writes (an echo must make
// none, but a broken one would, and its write has an echo of its own).
func (h *harness) settleWriteBacks(ctx context.Context) error {
	for range 3 {
		calls := h.admin.calls()
		deadline := time.Now().Add(retryFor + 10*time.Second)
		for h.echoes.pending.Load() > 0 && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if _, err := h.waitIdle(ctx); err != nil {
			return err
		}
		if h.admin.calls() == calls && h.echoes.pending.Load() == 0 {
			return nil
		}
	}
	return nil
}

// adminTrouble injects Admin API failures until ctx ends: every second
// or so, once a call came since the last one, the next call gets a 429,
// a 500 or 503, or finds the cost bucket empty (THROTTLED). With empty,
// the bucket is also emptied at every tick, call or not, as when other
// apps of the shop spend it.
func (h *harness) adminTrouble(ctx context.Context, seed uint64, empty bool) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	seen := h.admin.calls()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(700+rng.IntN(700)) * time.Millisecond):
		}
		if empty {
			h.admin.Sim.SetAvailable(0)
		}
		n := h.admin.calls()
		if n == seen {
			continue
		}
		seen = n
		switch status := []int{0, 0, http.StatusTooManyRequests, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable}[rng.IntN(6)]; status {
		case 0:
			h.admin.Sim.SetAvailable(0)
		default:
			h.admin.Sim.FailNext(1, status)
		}
	}
}

// aimedWriteBack kills the server while Shopify's answer to an applied
// write-back is held: Shopify has the opt-out, and the job cannot have
// recorded that it wrote it. After the lease the job must write it once
// more (an in-doubt repeat, never a third time). Then, with the queue
// quiet, Shopify's echo comes once more: it must make no Brevo write and
// no Admin call, which only a quiet queue can show. A stale
// customers/update still saying subscribed, sent last, must resubscribe
// nobody.
func (h *harness) aimedWriteBack(ctx context.Context) error {
	base := time.Now().UTC().Add(-23 * time.Hour).Truncate(time.Second)
	n := probeContacts + 100
	id := strconv.FormatInt(shopifyID(n), 10)
	h.admin.Sim.AddCustomer(id, emailOf(n), phoneOf(n))
	if h.ack(probeEvent(n, 1, base, optIn), false).IsZero() {
		return fmt.Errorf("aimed write-back: the customer was never acknowledged")
	}
	if _, err := h.waitIdle(ctx); err != nil {
		return err
	}
	hd := h.admin.holdNext(func(w *AdminWrite) bool { return w.CustomerID == id })
	h.brevo.Sim.Blocklist(emailOf(n))
	if h.ack(brevoEvent(n, 0, "unsubscribed", base.Add(90*time.Second), 150), false).IsZero() {
		return fmt.Errorf("aimed write-back: Brevo's unsubscribe was never acknowledged")
	}
	select {
	case <-hd.applied:
	case <-time.After(20 * time.Second):
		h.admin.holdNext(func(*AdminWrite) bool { return false })
		close(hd.release)
		return fmt.Errorf("aimed write-back: no write to customer %s within 20s", id)
	}
	start := time.Now()
	h.srv.kill()
	h.fault("aimed kill", start)
	h.rep.WriteBack.AimedKills++
	h.mark("aimed kill -9: Shopify's answer to a write-back held")
	close(hd.release)
	if err := h.srv.start(ctx); err != nil {
		return fmt.Errorf("restart after the aimed write-back kill: %w", err)
	}
	if err := h.settleWriteBacks(ctx); err != nil {
		return err
	}
	var written []AdminWrite
	for _, w := range h.admin.Writes() {
		if w.CustomerID == id && w.Applied {
			written = append(written, w)
		}
	}
	applied := len(written)
	if applied > 0 {
		// Shopify's echo once more, in a quiet queue, so that what it
		// causes is its own: no Brevo write and no Admin call.
		email, ids := emailOf(n), h.contactIDs(emailOf(n))
		ofContact := func() int {
			k := 0
			for _, w := range h.brevo.Writes() {
				if w.Email == email || ids[w.ExtID] {
					k++
				}
			}
			return k
		}
		brevoBefore, callsBefore := ofContact(), h.admin.calls()
		late := echoEvent(n, written[0].ConsentAt, "fze-late-"+id)
		h.ack(late, false)
		if _, err := h.waitIdle(ctx); err != nil {
			return err
		}
		_, changed := h.tr.applied.Load(late.ID)
		if b, c := ofContact()-brevoBefore, h.admin.calls()-callsBefore; b > 0 || c > 0 || changed {
			h.rep.WriteBack.EchoChanged++
			h.rep.WriteBack.flag(email)
			h.rep.WriteBack.note("echo: a late echo of customer %s's opt-out, in a quiet queue, was applied=%v and made %d Brevo writes and %d Admin calls; want none",
				id, changed, b, c)
		}
		h.rep.WriteBack.QuietEchoes++
	}
	h.ack(shopifyCustomer(n, 2, base.Add(2*time.Minute), base, "customers/update", optIn, base.Add(time.Minute)), false)
	_, err := h.waitIdle(ctx)
	if applied < 2 {
		h.rep.WriteBack.Notes = append(h.rep.WriteBack.Notes, fmt.Sprintf("aimed write-back: customer %s was written %d times, want the held write repeated once", id, applied))
	}
	h.o.Logf("aimed write-back kill: customer %s written %d times; done", id, applied)
	return err
}

// writeBackQueue is the write-back's queue, as cmd/synclayer names it.
var writeBackQueue = synclayer.Queue(skill.ConsentWriteBackName, "shopify")

// writtenBack returns the store IDs of the contacts whose opt-out was
// written to Shopify, for replayDead.
func (h *harness) writtenBack(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, w := range h.admin.Writes() {
		n, err := strconv.ParseInt(w.CustomerID, 10, 64)
		if !w.Applied || err != nil || seen[w.CustomerID] {
			continue
		}
		seen[w.CustomerID] = true
		cs, err := h.db.FindContacts(ctx, synclayer.ContactFilter{Email: emailOf(int(n - shopifyID(0)))})
		if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			return nil, fmt.Errorf("find the contact of customer %s: %w", w.CustomerID, err)
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// compareWriteBack reads each model contact's canonical consent from the
// store and its customer from the simulator, and runs CompareWriteBack.
func (h *harness) compareWriteBack(ctx context.Context, model *Model, expect map[string]Expectation) error {
	rep := &h.rep.WriteBack
	h.brevoSideCounts(rep, model, expect)
	in := writeBackInput{expect: expect, canonical: map[string]canonical{}, customers: map[string]shopifysim.Customer{},
		elsewhere: elsewhere(model.Acked()), writes: h.admin.Writes(), echoes: h.echoList()}
	h.mu.Lock()
	in.faults = slices.Clone(h.faults)
	h.mu.Unlock()
	for _, email := range sortedKeys(expect) {
		cs, err := h.db.FindContacts(ctx, synclayer.ContactFilter{Email: email})
		if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			return fmt.Errorf("read %s from the store: %w", email, err)
		}
		if len(cs) == 0 {
			continue
		}
		if len(cs) > 1 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the store holds %d contacts with email %s; the first is checked", len(cs), email))
		}
		c := cs[0]
		k := canonical{Found: true, State: string(c.EmailConsent.State), Source: c.EmailConsent.Source, At: c.EmailConsent.At, ShopifyID: c.SourceIDs["shopify"]}
		in.canonical[email] = k
		if cu, ok := h.admin.Sim.Customer(k.ShopifyID); ok && k.ShopifyID != "" {
			in.customers[k.ShopifyID] = cu
		}
	}
	CompareWriteBack(rep, in)
	return nil
}
