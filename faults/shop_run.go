package faults

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/skill"
)

// shopRun is the shop side of one run (shop.go).
type shopRun struct {
	orders  []*shopOrder // scheduled with the contacts' traffic
	carts   []*shopCart  // each driven by its own script
	base    time.Time    // the platform clock of the carts
	scripts sync.WaitGroup

	mu     sync.Mutex
	extra  []*shopOrder // orders placed by scripts and probes
	probes []*shopCart  // the probes' carts
}

// fault is a window in which the harness broke something that can cut a
// delivery off from its commit: a kill -9 or a PostgreSQL restart.
type fault struct {
	kind       string
	start, end time.Time
}

func (h *harness) fault(kind string, start time.Time) {
	h.mu.Lock()
	h.faults = append(h.faults, fault{kind, start, time.Now()})
	h.mu.Unlock()
}

// ack delivers ev until it is acknowledged and returns when that was;
// zero when it never was.
func (h *harness) ack(ev *Event, redelivery bool) time.Time {
	h.tr.deliver(Send{Event: ev, Redelivery: redelivery})
	if h.tr.model.AckedAt(ev).IsZero() {
		return time.Time{}
	}
	return time.Now()
}

// startCarts runs the carts' scripts, started one after another over
// span, so their waits fall among the kills of the burst and into the
// Brevo outage.
func (h *harness) startCarts(span time.Duration) {
	carts := h.shop.carts
	h.shop.scripts.Add(len(carts))
	start := time.Now()
	go func() {
		for i, c := range carts {
			time.Sleep(time.Until(start.Add(span * time.Duration(i) / time.Duration(len(carts)))))
			go func() { defer h.shop.scripts.Done(); h.runCart(c) }()
		}
	}()
}

// runCart drives one cart as a shop would and records what it must have
// caused. The contact comes first, acknowledged, since consent is read
// when the wait ends. Whether a conversion beat the wait is known only
// when it was acknowledged before the wait could have ended (counted
// from before the cart was first sent); otherwise one more abandonment
// is allowed (MayExtra), never two.
func (h *harness) runCart(c *shopCart) {
	at := h.shop.base.Add(time.Duration(c.N) * time.Hour)
	never := func(what string) { c.Undetermined, c.Note = true, what+" was never acknowledged" }
	if h.ack(shopCustomer(c.Contact, c.Consent, at), false).IsZero() {
		never("the contact's customers/create")
		return
	}
	abandons := 0
	if c.Consent {
		abandons = 1
	}
	v1 := c.version(1, at.Add(time.Minute), 1, false)
	if c.Kind == cartOrderFirst {
		if h.ack(c.order(at.Add(2*time.Minute)), false).IsZero() {
			never("the order")
			return
		}
		if h.ack(v1, false).IsZero() {
			never("the checkout")
		}
		return
	}
	sent := time.Now()
	acked := h.ack(v1, false)
	if acked.IsZero() {
		never("the cart")
		return
	}
	c.Want, c.LastChange = abandons, acked
	late := func(t time.Time) bool { return t.After(sent.Add(abandonAfter)) }
	convert := func(ev *Event) {
		t := h.ack(ev, false)
		if t.IsZero() {
			never("the conversion")
			return
		}
		c.Want, c.MayExtra = 0, late(t) && abandons > 0
	}
	switch c.Kind {
	case cartCompleted:
		convert(c.version(2, at.Add(2*time.Minute), 1, true))
	case cartOrdered:
		convert(c.order(at.Add(2 * time.Minute)))
	case cartCustomDone:
		convert(c.checkoutCompleted(at.Add(2 * time.Minute)))
	case cartRewaited:
		t := h.ack(c.version(2, at.Add(2*time.Minute), 2, false), false)
		if t.IsZero() {
			never("the change")
			return
		}
		c.MayExtra, c.LastChange = late(t), t
	case cartChanged:
		if !h.waitEvents(c.ID(), 1, h.p.settle/2) {
			c.Note = fmt.Sprintf("its first abandonment sent no event within %s; not changed", h.p.settle/2)
			return
		}
		t := h.ack(c.version(2, at.Add(2*time.Minute), 2, false), false)
		if t.IsZero() {
			never("the change")
			return
		}
		c.Want, c.LastChange = 2, t
	case cartCustomSaid:
		// The platform says abandoned: no wait. Said again, it changes nothing.
		if c.LastChange = h.ack(c.custom(2, "cart_abandoned", at.Add(time.Minute), 1), false); c.LastChange.IsZero() {
			never("the cart_abandoned")
			return
		}
		if !c.Consent || !h.waitEvents(c.ID(), 1, h.p.settle/2) {
			time.Sleep(abandonAfter)
		}
		h.ack(c.custom(3, "cart_abandoned", at.Add(time.Minute), 1), false)
	case cartRedelivered:
		h.ack(v1, true)
		time.Sleep(abandonAfter + time.Duration(c.N%7)*200*time.Millisecond)
		h.ack(v1, true)
		// The same contents, newer: no change, no new wait.
		h.ack(c.version(2, at.Add(2*time.Minute), 1, false), false)
	}
	if c.Order != nil {
		h.shop.mu.Lock()
		h.shop.extra = append(h.shop.extra, c.Order)
		h.shop.mu.Unlock()
	}
}

// waitEvents waits until Brevo took n cart_abandoned events for cartID.
func (h *harness) waitEvents(cartID string, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		got := 0
		for _, e := range h.brevo.Events() {
			if e.OK() && e.Name == brevo.CartAbandonedEvent && e.CartID == cartID {
				got++
			}
		}
		if got >= n {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// aimedShop kills the server while three answers are held: Slack's to a
// high-value order's message, the webhook receiver's to its delivery,
// and Brevo's to a cart's cart_abandoned. Each was acted on; none can be
// recorded as done. The queue must run each again after the lease:
// Slack and Brevo get an in-doubt repeat, the webhook receiver the same
// webhook-id, which it ignores. A second cart, sent just before the
// kill, has the restart inside its wait.
func (h *harness) aimedShop(ctx context.Context) error {
	at := time.Now().UTC().Add(-12 * time.Hour).Truncate(time.Second)
	c := &shopCart{Kind: cartAbandoned, N: 9000, Contact: cartContacts + 9000, Consent: true, Source: "shopify", Token: "fzck-aimed"}
	waiting := &shopCart{Kind: cartAbandoned, N: 9001, Contact: cartContacts + 9001, Consent: true, Source: "shopify", Token: "fzck-aimed-wait"}
	o := &shopOrder{ID: 7900000000, Contact: shopContacts + 9000, Total: "777.00", High: true}
	order := orderEvent(o, "fzo-aimed", "orders/create", at, at, "")
	o.Events = append(o.Events, order)
	h.shop.mu.Lock()
	h.shop.extra, h.shop.probes = append(h.shop.extra, o), append(h.shop.probes, c, waiting)
	h.shop.mu.Unlock()
	for _, x := range []*shopCart{c, waiting} {
		if h.ack(shopCustomer(x.Contact, true, at), false).IsZero() {
			return fmt.Errorf("aimed shop crash: the contact was never acknowledged")
		}
	}
	ofOrder := func(d *Delivery) bool { return strings.Contains(string(d.Body), o.key()) }
	sh, hh := h.slack.holdNext(ofOrder), h.hook.holdNext(ofOrder)
	eh := h.brevo.holdNextEvent(func(e *EventCall) bool { return e.CartID == c.ID() })
	holds := []heldAnswer{{"Slack", signal(sh.applied), sh.release}, {"webhook", signal(hh.applied), hh.release},
		{"Brevo event", signal(eh.applied), eh.release}}
	sent := time.Now()
	acked := h.ack(c.version(1, at.Add(time.Minute), 1, false), false)
	if acked.IsZero() {
		return fmt.Errorf("aimed shop crash: the cart was never acknowledged")
	}
	c.Want, c.LastChange = 1, acked
	time.Sleep(time.Until(sent.Add(abandonAfter - 500*time.Millisecond)))
	if h.ack(order, false).IsZero() {
		return fmt.Errorf("aimed shop crash: the order was never acknowledged")
	}
	deadline := time.After(20 * time.Second)
	var held, missed []string
	for _, x := range holds {
		select {
		case <-x.applied:
			held = append(held, x.name)
		case <-deadline:
			missed = append(missed, x.name)
		}
	}
	if waiting.LastChange = h.ack(waiting.version(1, at.Add(time.Minute), 1, false), false); waiting.LastChange.IsZero() {
		return fmt.Errorf("aimed shop crash: the second cart was never acknowledged")
	}
	waiting.Want = 1
	start := time.Now()
	h.srv.kill()
	h.fault("aimed kill", start)
	h.rep.Shop.AimedKills++
	h.rep.Shop.AimedHeld = strings.Join(held, ", ")
	h.mark("aimed kill -9: Slack, webhook and Brevo event answers held")
	for _, x := range holds {
		close(x.release)
	}
	if len(missed) > 0 {
		h.rep.Shop.Notes = append(h.rep.Shop.Notes, "aimed shop crash: no answer of "+strings.Join(missed, ", ")+" was in flight within 20s")
	}
	if err := h.srv.start(ctx); err != nil {
		return fmt.Errorf("restart after the aimed shop crash: %w", err)
	}
	_, err := h.waitIdle(ctx)
	h.o.Logf("aimed shop crash: held %s; done", h.rep.Shop.AimedHeld)
	return err
}

// heldAnswer is one of the answers aimedShop holds.
type heldAnswer struct {
	name    string
	applied <-chan struct{}
	release chan struct{}
}

// signal turns a hold's applied channel into a plain signal.
func signal[T any](ch <-chan T) <-chan struct{} {
	out := make(chan struct{})
	go func() { <-ch; close(out) }()
	return out
}

// replayDead dead-letters jobs whose work is done (a Slack action, a
// webhook action, an abandoned cart's judgement, a consent write-back),
// as a failure after the commit would, and replays them with `synclayer
// dlq retry --all`, the operator's command. Nothing may be sent or
// written again. The server is stopped with SIGTERM meanwhile, which is
// no fault: a repeat after it is not in doubt.
func (h *harness) replayDead(ctx context.Context) error {
	before, wroteBefore := h.sent(), h.admin.applied()
	h.srv.stop()
	rows, err := h.db.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: ruleName, Limit: 1000})
	if err != nil {
		return fmt.Errorf("list workflow actions: %w", err)
	}
	type job struct{ skill, dest, key string }
	var jobs []job
	kinds := map[string]bool{}
	for _, r := range rows {
		if !kinds[r.Kind] {
			kinds[r.Kind] = true
			jobs = append(jobs, job{synclayer.WorkflowSkill, r.Kind, fmt.Sprint(r.ID)})
		}
	}
	for _, c := range append(h.shop.carts, h.shop.probes...) {
		if c.Want > 0 && !c.Undetermined {
			jobs = append(jobs, job{skill.CartEventsName, "brevo", c.ID()})
		}
	}
	writeBacks, err := h.writtenBack(ctx)
	if err != nil {
		return err
	}
	for _, id := range writeBacks {
		jobs = append(jobs, job{writeBackQueue, "shopify", id})
	}
	now := time.Now()
	if err := h.db.Tx(ctx, func(tx synclayer.Tx) error {
		for _, j := range jobs {
			if err := tx.EnqueueJob(ctx, j.skill, j.dest, j.key, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("queue jobs to replay: %w", err)
	}
	for _, s := range []string{synclayer.WorkflowSkill, skill.CartEventsName, writeBackQueue} {
		for {
			claimed, err := h.db.ClaimJobs(ctx, s, 100, time.Minute, now)
			if err != nil {
				return fmt.Errorf("claim %s jobs: %w", s, err)
			}
			if len(claimed) == 0 {
				break
			}
			for _, j := range claimed {
				if err := h.db.DeadJob(ctx, j, "faults: dead-lettered after its work was done, to be replayed", nil, now); err != nil {
					return err
				}
				if s == writeBackQueue {
					h.rep.WriteBack.Replayed++
				} else {
					h.rep.Shop.Replayed++
				}
			}
		}
	}
	if err := h.srv.start(ctx); err != nil {
		return fmt.Errorf("restart before the replay: %w", err)
	}
	cmd := exec.CommandContext(ctx, h.o.Bin, "dlq", "retry", "--all", "--config", h.srv.cfgPath)
	cmd.Dir, cmd.Env = h.o.Dir, append(cmd.Environ(), h.srv.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("synclayer dlq retry --all: %w\n%s", err, out)
	}
	_, err = h.waitIdle(ctx)
	h.rep.Shop.ReplaySent = h.sent() - before
	h.rep.WriteBack.ReplayWrote = h.admin.applied() - wroteBefore
	h.o.Logf("replayed %d dead-lettered jobs whose work was done; %d sent again; %d write-back jobs, %d written again",
		h.rep.Shop.Replayed, h.rep.Shop.ReplaySent, h.rep.WriteBack.Replayed, h.rep.WriteBack.ReplayWrote)
	return err
}

// sent counts what the receivers and Brevo's events endpoint took.
func (h *harness) sent() int {
	n := 0
	for _, ds := range [][]Delivery{h.slack.Deliveries(), h.hook.Deliveries()} {
		for _, d := range ds {
			if d.Status/100 == 2 {
				n++
			}
		}
	}
	for _, e := range h.brevo.Events() {
		if e.OK() {
			n++
		}
	}
	return n
}

// compareShop runs CompareShop on what the receivers and the simulator
// took, with every fault window the harness opened.
func (h *harness) compareShop(model *Model) {
	h.shop.mu.Lock()
	orders := append(slices.Clone(h.shop.orders), h.shop.extra...)
	carts := append(slices.Clone(h.shop.carts), h.shop.probes...)
	h.shop.mu.Unlock()
	h.mu.Lock()
	faults := slices.Clone(h.faults)
	h.mu.Unlock()
	events := h.brevo.Events()
	CompareShop(&h.rep.Shop, shopInput{orders: orders, carts: carts, acked: func(ev *Event) bool { return !model.AckedAt(ev).IsZero() },
		slack: h.slack.Deliveries(), hook: h.hook.Deliveries(), events: events, faults: faults})
	if n, sim := h.rep.Shop.CartEvents, len(h.brevo.Sim.EventsNamed(brevo.CartAbandonedEvent)); n != sim {
		h.rep.Shop.Notes = append(h.rep.Shop.Notes, fmt.Sprintf("the recorder counted %d cart_abandoned events, the simulator holds %d", n, sim))
	}
}

// changeWhileJudged changes a cart while its abandonment's event is in
// flight (Brevo's answer held), with no fault: the change must start a
// new wait beside the running job, and send once more after it.
func (h *harness) changeWhileJudged(ctx context.Context) error {
	at := time.Now().UTC().Add(-11 * time.Hour).Truncate(time.Second)
	c := &shopCart{Kind: cartChanged, N: 9002, Contact: cartContacts + 9002, Consent: true, Source: "shopify", Token: "fzck-judged"}
	h.shop.mu.Lock()
	h.shop.probes = append(h.shop.probes, c)
	h.shop.mu.Unlock()
	if h.ack(shopCustomer(c.Contact, true, at), false).IsZero() {
		return fmt.Errorf("change while judged: the contact was never acknowledged")
	}
	eh := h.brevo.holdNextEvent(func(e *EventCall) bool { return e.CartID == c.ID() })
	if c.LastChange = h.ack(c.version(1, at.Add(time.Minute), 1, false), false); c.LastChange.IsZero() {
		return fmt.Errorf("change while judged: the cart was never acknowledged")
	}
	c.Want = 1
	select {
	case <-eh.applied:
	case <-time.After(20 * time.Second):
		close(eh.release)
		return fmt.Errorf("change while judged: no cart_abandoned within 20s")
	}
	t := h.ack(c.version(2, at.Add(2*time.Minute), 2, false), false)
	close(eh.release)
	if t.IsZero() {
		return fmt.Errorf("change while judged: the change was never acknowledged")
	}
	c.Want, c.LastChange = 2, t
	_, err := h.waitIdle(ctx)
	return err
}

// concurrentDeliveries delivers one order's creation five times at once
// (twice under one webhook id, three times under others) and one cart
// three times at once (twice under one id, once unchanged under another),
// with no fault: the ingest transactions race, and the rule must still
// fire once and the cart send once.
func (h *harness) concurrentDeliveries(ctx context.Context) error {
	at := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Second)
	o := &shopOrder{ID: 7900000001, Contact: shopContacts + 9001, Total: "888.00", High: true}
	c := &shopCart{Kind: cartRedelivered, N: 9003, Contact: cartContacts + 9003, Consent: true, Source: "shopify", Token: "fzck-concurrent"}
	var sends []Send
	for i, id := range []string{"fzo-conc-a", "fzo-conc-a", "fzo-conc-b", "fzo-conc-c", "fzo-conc-d"} {
		ev := orderEvent(o, id, "orders/create", at, at, "")
		if i != 1 {
			o.Events = append(o.Events, ev)
		}
		sends = append(sends, Send{Event: ev, Redelivery: i == 1})
	}
	h.shop.mu.Lock()
	h.shop.extra, h.shop.probes = append(h.shop.extra, o), append(h.shop.probes, c)
	h.shop.mu.Unlock()
	if h.ack(shopCustomer(c.Contact, true, at), false).IsZero() {
		return fmt.Errorf("concurrent deliveries: the contact was never acknowledged")
	}
	v1 := c.version(1, at.Add(time.Minute), 1, false)
	sends = append(sends, Send{Event: v1}, Send{Event: v1, Redelivery: true}, Send{Event: c.version(2, at.Add(2*time.Minute), 1, false)})
	var wg sync.WaitGroup
	for _, s := range sends {
		wg.Go(func() { h.tr.deliver(s) })
	}
	wg.Wait()
	c.Want, c.LastChange = 1, time.Now()
	for _, s := range sends {
		if h.tr.model.AckedAt(s.Event).IsZero() {
			c.Undetermined = true
		}
	}
	_, err := h.waitIdle(ctx)
	return err
}
