package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/skill"
	"synclayer/store"
)

// planner previews, for one dry run, what each enabled skill would send
// for a record just ingested into the copy, against what each destination
// would hold by then: the copied sync state, then what the records
// planned before would leave (held).
type planner struct {
	cfg    *Config
	snap   *store.DB
	source string
	now    time.Time

	contacts []*skill.CustomerSync // customer-sync, one per destination
	routed   bool                  // customer-sync takes the samples' source
	orders   []commercePlanner
	products []commercePlanner
	carts    []cartPlanner
	// writers are the sources that take opt-outs made elsewhere, by name
	// (consent write-back), for those that can plan their calls.
	writers map[string]synclayer.ConsentWritePlanner
	sink    *planSink
	// held is what each destination would hold after the records planned
	// so far, by destination and sync-state key.
	held map[string]json.RawMessage
}

// commercePlanner is order-events' or product-catalog's side on one
// destination, for dry runs.
type commercePlanner struct {
	name     string
	order    synclayer.OrderSync
	products synclayer.ProductSync
}

// cartPlanner is cart-events' side on one destination.
type cartPlanner struct {
	name string
	sync synclayer.CartSync
}

// newPlanner builds every enabled skill's side on its destinations,
// without touching them: a dry run only plans.
func newPlanner(cfg *Config, snap *store.DB, source string, now time.Time) (*planner, error) {
	cs := cfg.Skills.CustomerSync
	p := &planner{cfg: cfg, snap: snap, source: source, now: now, held: map[string]json.RawMessage{},
		routed: containsOrManual(cs.Source, source), sink: &planSink{rules: cfg.workflows}}
	for _, t := range cfg.targets(cs) {
		d, err := cfg.openDestination(t.name, checkEnv())
		if err != nil {
			return nil, fmt.Errorf("plan: destinations.%s: %w", t.name, err)
		}
		sync, err := cfg.contactSync(d, cs, t)
		if err != nil {
			return nil, fmt.Errorf("plan: %s: %w", t.key, err)
		}
		p.contacts = append(p.contacts, &skill.CustomerSync{Store: snap, Destination: t.name, Sync: sync})
	}
	for _, s := range cfg.commerceSkills() {
		if !s.enabled() {
			continue
		}
		for _, t := range s.targets() {
			d, err := cfg.openDestination(t.name, checkEnv())
			if err != nil {
				return nil, fmt.Errorf("plan: destinations.%s: %w", t.name, err)
			}
			sc := synclayer.SkillConfig{Options: optionsJSON(t.options)}
			switch s.name {
			case skill.OrderEventsName:
				od, ok := d.(synclayer.OrderDestination)
				if !ok {
					return nil, fmt.Errorf("plan: %s takes no orders", t.name)
				}
				sync, err := od.OrderSync(sc)
				if err != nil {
					return nil, fmt.Errorf("plan: %s: %w", t.key, err)
				}
				p.orders = append(p.orders, commercePlanner{name: t.name, order: sync})
			case skill.ProductCatalogName:
				pd, ok := d.(synclayer.ProductDestination)
				if !ok {
					return nil, fmt.Errorf("plan: %s has no product catalog", t.name)
				}
				sync, err := pd.ProductSync(sc)
				if err != nil {
					return nil, fmt.Errorf("plan: %s: %w", t.key, err)
				}
				p.products = append(p.products, commercePlanner{name: t.name, products: sync})
			}
		}
	}
	p.writers = map[string]synclayer.ConsentWritePlanner{}
	for name := range cfg.sources() {
		src, err := cfg.openSource(name, nil)
		if err != nil {
			return nil, fmt.Errorf("plan: sources.%s: %w", name, err)
		}
		if w, ok := src.(synclayer.ConsentWritePlanner); ok {
			if _, writes := src.(synclayer.ConsentWriter); writes {
				p.writers[name] = w
			}
		}
	}
	if cc := cfg.Skills.CartEvents; cc.enabled() {
		for _, t := range cc.targets() {
			d, err := cfg.openDestination(t.name, checkEnv())
			if err != nil {
				return nil, fmt.Errorf("plan: destinations.%s: %w", t.name, err)
			}
			sync, err := cartSync(d, optionsJSON(t.options))
			if err != nil {
				return nil, fmt.Errorf("plan: %s: %w", t.key, err)
			}
			p.carts = append(p.carts, cartPlanner{t.name, sync})
		}
	}
	return p, nil
}

func containsOrManual(sources []string, source string) bool {
	return source == "manual" || slices.Contains(sources, source)
}

// name completes rec's name from the copy: the contact's email when the
// sample gives none (a refund names only its order).
func (p *planner) name(ctx context.Context, rec *planRecord) error {
	if rec.Email != "" || rec.ContactID == "" {
		return nil
	}
	c, err := p.snap.FindContactByID(ctx, rec.ContactID)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	rec.Email = c.Email
	return nil
}

// record previews every skill for an applied event, then the workflow
// rules its triggers run.
func (p *planner) record(ctx context.Context, ev *synclayer.Event, rec *planRecord) error {
	rec.Status = "planned"
	var reasons []string
	if rec.Reason != "" {
		reasons = append(reasons, rec.Reason)
	}
	note := func(r string) {
		if r != "" {
			reasons = append(reasons, r)
		}
	}
	cs := p.cfg.Skills.CustomerSync
	syncContact := func() error {
		switch {
		case rec.ContactID == "":
			return nil
		case !cs.Enabled:
			note("customer-sync is disabled in this config: nothing is sent")
			return nil
		case !p.routed:
			note(fmt.Sprintf("source %s is not one of customer-sync's sources: nothing is sent", p.source))
			return nil
		}
		r, err := p.contact(ctx, rec)
		note(r)
		return err
	}
	var err error
	switch {
	case ev.Order != nil:
		// order-events' call first; the order changed its contact's
		// totals, so customer-sync's delivery follows.
		var r string
		if r, err = p.order(ctx, synclayer.CanonicalID(p.source, ev.Order.SourceID), rec); err == nil {
			note(r)
			if rec.ContactID != "" && cs.Enabled && p.routed {
				err = syncContact()
			}
		}
	case ev.Product != nil:
		err = p.product(ctx, ev, rec, note)
	case ev.Cart != nil:
		err = p.cart(ctx, synclayer.CanonicalID(p.source, ev.Cart.SourceID), rec, note)
	case ev.Customer != nil:
		err = syncContact()
	default:
		note("no skill sends " + rec.Event + "; only workflow rules act on it")
	}
	if err != nil {
		return err
	}
	if err := p.writeBacks(ctx, rec, note); err != nil {
		return err
	}
	if err := p.workflows(ctx, p.sink.fired, rec, time.Time{}); err != nil {
		return err
	}
	if rec.Status == "planned" {
		rec.Reason = strings.Join(reasons, "; ")
	}
	return nil
}

// writeBacks plans the consent write-back of rec's contact to each source
// that takes opt-outs made elsewhere: what is left to write of an opt-out
// another system made, as the write-back worker would send it.
func (p *planner) writeBacks(ctx context.Context, rec *planRecord, note func(string)) error {
	if rec.ContactID == "" || len(p.writers) == 0 {
		return nil
	}
	c, err := p.snap.FindContactByID(ctx, rec.ContactID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		return nil
	case err != nil:
		return err
	}
	for _, name := range sortedNames(p.writers) {
		if c.Deleted || c.SourceIDs[name] == "" || !ingest.OptedOutElsewhere(c, name) {
			continue
		}
		key := skill.ConsentWriteBackKey(c.ID)
		prev, err := p.state(ctx, key, name)
		if err != nil {
			return err
		}
		w, next, err := skill.ConsentWriteFor(c, name, prev)
		if err != nil {
			return err
		}
		calls := p.writers[name].PlanConsent(w)
		if len(calls) == 0 {
			continue
		}
		note(name + ": the opt-out is written back to the store (" + skill.ConsentWriteBackName + ")")
		add(rec, skill.ConsentWriteBackName, name, time.Time{}, calls)
		p.keep(key, name, next)
	}
	return nil
}

// state is what destination holds under key: what the records planned
// before would leave, else the copied sync state, else nil.
func (p *planner) state(ctx context.Context, key, destination string) (json.RawMessage, error) {
	if st, ok := p.held[destination+"/"+key]; ok {
		return st, nil
	}
	st, err := p.snap.FindSyncState(ctx, key, destination)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	}
	return st.State, nil
}

func (p *planner) keep(key, destination string, next json.RawMessage) {
	if next != nil {
		p.held[destination+"/"+key] = next
	}
}

// add records a plan's calls on rec under skill name.
func add(rec *planRecord, skillName, destination string, at time.Time, calls []synclayer.PlannedCall) {
	for _, c := range calls {
		c.Destination = destination
		rec.Calls = append(rec.Calls, planCall{Skill: skillName, At: at, PlannedCall: c})
	}
}

// contact plans customer-sync's delivery of rec's contact on each
// destination, with the field-level changes. With several destinations
// each change is prefixed with its destination. It returns why no call
// is needed, when that is so.
func (p *planner) contact(ctx context.Context, rec *planRecord) (string, error) {
	c, err := p.snap.FindContactByID(ctx, rec.ContactID)
	if err != nil {
		return "", err
	}
	var reasons []string
	for _, sk := range p.contacts {
		prev, err := p.state(ctx, c.ID, sk.Destination)
		if err != nil {
			return "", err
		}
		var held *synclayer.SyncState
		if prev != nil {
			held = &synclayer.SyncState{RecordKey: c.ID, Destination: sk.Destination, State: prev}
		}
		pv, err := sk.Preview(c, held)
		var perm *synclayer.PermanentError
		if errors.As(err, &perm) {
			rec.Status, rec.Reason = "failed", "the delivery would be dead-lettered: "+err.Error()
			if len(p.contacts) > 1 {
				rec.Reason = sk.Destination + ": " + rec.Reason
			}
			return "", nil
		}
		if err != nil {
			return "", err
		}
		add(rec, skill.CustomerSyncName, sk.Destination, time.Time{}, pv.Calls)
		for _, ch := range pv.Changes {
			if len(p.contacts) > 1 {
				ch.Field = sk.Destination + "." + ch.Field
			}
			rec.Changes = append(rec.Changes, ch)
		}
		for _, a := range pv.Unmapped.Kept {
			rec.Unmapped = append(rec.Unmapped, planUnmapped{Destination: sk.Destination, Attribute: a, Plan: "left alone"})
		}
		for _, a := range pv.Unmapped.Cleared {
			rec.Unmapped = append(rec.Unmapped, planUnmapped{Destination: sk.Destination, Attribute: a, Plan: "cleared"})
		}
		if pv.Reason != "" {
			prefix := ""
			if len(p.contacts) > 1 {
				prefix = sk.Destination + ": "
			}
			reasons = append(reasons, prefix+pv.Reason)
		}
		p.keep(c.ID, sk.Destination, pv.Next.State)
	}
	return strings.Join(reasons, "; "), nil
}

// order plans order-events' calls for order id on each destination.
func (p *planner) order(ctx context.Context, id string, rec *planRecord) (string, error) {
	o, err := p.snap.FindOrderByID(ctx, id)
	if err != nil {
		return "", err
	}
	var c *synclayer.Contact
	if o.ContactID != "" {
		if c, err = p.snap.FindContactByID(ctx, o.ContactID); err != nil {
			return "", err
		}
	}
	rec.ContactID = o.ContactID
	var reasons []string
	for _, op := range p.orders {
		key := synclayer.OrderStateKey(id)
		prev, err := p.state(ctx, key, op.name)
		if err != nil {
			return "", err
		}
		plan, err := op.order.Plan(o, c, prev)
		if err != nil {
			return "", err
		}
		if plan.Reason != "" {
			reasons = append(reasons, op.name+": "+plan.Reason)
		}
		add(rec, skill.OrderEventsName, op.name, time.Time{}, plan.Calls)
		p.keep(key, op.name, plan.Next)
	}
	return strings.Join(reasons, "; "), nil
}

// product plans product-catalog's calls for the event's categories,
// product and variants on each destination.
func (p *planner) product(ctx context.Context, ev *synclayer.Event, rec *planRecord, note func(string)) error {
	id := synclayer.CanonicalID(p.source, ev.Product.SourceID)
	ids := []string{id}
	for _, v := range ev.Product.Variants {
		ids = append(ids, synclayer.CanonicalID(p.source, v.SourceID))
	}
	var variants []*synclayer.Product
	if err := p.snap.Tx(ctx, func(tx synclayer.Tx) (err error) {
		variants, err = tx.FindProductVariants(ctx, id)
		return err
	}); err != nil {
		return err
	}
	for _, v := range variants {
		if !slices.Contains(ids, v.ID) {
			ids = append(ids, v.ID)
		}
	}
	for _, pp := range p.products {
		for _, cat := range ev.Product.Categories {
			cid := synclayer.CanonicalID(p.source, cat.ID)
			c, err := p.snap.FindCategoryByID(ctx, cid)
			if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			key := synclayer.CategoryKey(cid)
			prev, err := p.state(ctx, key, pp.name)
			if err != nil {
				return err
			}
			plan, err := pp.products.PlanCategory(c, prev)
			if err != nil {
				return err
			}
			add(rec, skill.ProductCatalogName, pp.name, time.Time{}, plan.Calls)
			p.keep(key, pp.name, plan.Next)
		}
		for _, pid := range ids {
			pr, err := p.snap.FindProductByID(ctx, pid)
			if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			key := synclayer.ProductStateKey(pid)
			prev, err := p.state(ctx, key, pp.name)
			if err != nil {
				return err
			}
			plan, err := pp.products.PlanProduct(pr, prev)
			var perm *synclayer.PermanentError
			if errors.As(err, &perm) {
				note(pp.name + ": product " + pid + " would be dead-lettered: " + err.Error())
				continue
			}
			if err != nil {
				return err
			}
			if plan.Reason != "" {
				note(pp.name + ": product " + pid + ": " + plan.Reason)
			}
			add(rec, skill.ProductCatalogName, pp.name, time.Time{}, plan.Calls)
			p.keep(key, pp.name, plan.Next)
		}
	}
	return nil
}

// mirrorCart plans, on each destination that holds a copy of cart c
// (synclayer.CartMirrorPlanner), the deletion of its copy because of why.
func (p *planner) mirrorCart(ctx context.Context, c *synclayer.Cart, why string, rec *planRecord, note func(string)) error {
	for _, cp := range p.carts {
		mp, ok := cp.sync.(synclayer.CartMirrorPlanner)
		if !ok {
			continue
		}
		held, err := p.mirrorHeld(ctx, cp.name, c.ID)
		if err != nil {
			return err
		}
		calls := mp.PlanClosed(c, held)
		if len(calls) == 0 {
			note(cp.name + ": holds no copy of the cart, so nothing is deleted (" + why + ")")
			continue
		}
		note(cp.name + ": its copy of the cart is deleted: " + why)
		add(rec, skill.CartEventsName, cp.name, time.Time{}, calls)
	}
	return nil
}

// mirrorChanged plans what brings the copy destination holds of cart c
// to what c holds now.
func (p *planner) mirrorChanged(ctx context.Context, destination string, mp synclayer.CartMirrorPlanner, c *synclayer.Cart, ct *synclayer.Contact, rec *planRecord, note func(string)) error {
	held, err := p.mirrorHeld(ctx, destination, c.ID)
	if err != nil {
		return err
	}
	calls, err := mp.PlanChanged(c, ct, held)
	switch {
	case err != nil:
		note(destination + ": the cart's update would be dead-lettered: " + err.Error())
	case len(calls) == 0:
		note(destination + ": holds the cart as it is: nothing is sent")
	}
	add(rec, skill.CartEventsName, destination, time.Time{}, calls)
	return nil
}

func (p *planner) mirrorHeld(ctx context.Context, destination, id string) (json.RawMessage, error) {
	raw, err := p.state(ctx, skill.CartMirrorKey(id), destination)
	if err != nil {
		return nil, err
	}
	return skill.MirrorHeld(raw)
}

// cart plans cart-events for cart id: on a destination that watches
// carts, the start it hears of now; on each, the abandonment it would get
// when the cart's wait ends, and at what time, or why it would get none.
// The rules on cart_abandoned are previewed for that time too.
func (p *planner) cart(ctx context.Context, id string, rec *planRecord, note func(string)) error {
	c, err := p.snap.FindCartByID(ctx, id)
	if err != nil {
		return err
	}
	cc := p.cfg.Skills.CartEvents
	consent := cc.Options.RequireConsent == nil || *cc.Options.RequireConsent
	due := skill.CartDueAt(c, cc.Options.AbandonAfter)
	var ct *synclayer.Contact
	why := ""
	switch {
	case c.Converted():
		why = "the cart was converted by " + c.ConvertedBy
	case c.ContactID == "":
		why = "nobody is identified for the cart: it has no email or customer ID"
	case len(c.Items) == 0:
		why = "the cart is empty"
	}
	if why == "" {
		rec.ContactID = c.ContactID
		ct, err = p.snap.FindContactByID(ctx, c.ContactID)
		switch {
		case synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && ct.Deleted:
			why, ct = "the cart's contact no longer exists", nil
		case err != nil:
			return err
		}
	}
	if why == "" && consent && !ct.Marketable() {
		// Only a mirror's copy is deleted for it; the others say so below.
		if err := p.mirrorCart(ctx, c, "the contact has no marketing consent, and require_consent is on", rec, note); err != nil {
			return err
		}
	}
	if why != "" {
		if err := p.mirrorCart(ctx, c, why, rec, note); err != nil {
			return err
		}
		note("cart-events: nothing else is sent: " + why)
		return nil
	}
	abandoned := false
	for _, cp := range p.carts {
		planner, _ := cp.sync.(synclayer.CartPlanner)
		_, watches := cp.sync.(synclayer.CartWatcher)
		if mp, ok := cp.sync.(synclayer.CartMirrorPlanner); ok {
			if !consent || ct.Marketable() {
				if err := p.mirrorChanged(ctx, cp.name, mp, c, ct, rec, note); err != nil {
					return err
				}
			}
		} else if watches && planner != nil {
			sent, err := p.state(ctx, skill.CartStartedKey(c.ID), cp.name)
			if err != nil {
				return err
			}
			switch {
			case sent != nil:
				note(cp.name + ": the cart's start was sent already")
			case consent && !ct.Marketable():
				note(cp.name + ": no started checkout: the contact has no marketing consent, and require_consent is on")
			default:
				calls, err := planner.PlanStarted(c, ct, "started:"+c.ID)
				if err != nil {
					note(cp.name + ": the started checkout would be dead-lettered: " + err.Error())
				}
				add(rec, skill.CartEventsName, cp.name, time.Time{}, calls)
			}
		}
		prevRaw, err := p.state(ctx, synclayer.CartStateKey(c.ID), cp.name)
		if err != nil {
			return err
		}
		var prev struct {
			ChangedAt time.Time `json:"changedAt"`
		}
		if prevRaw != nil && json.Unmarshal(prevRaw, &prev) == nil && prev.ChangedAt.Equal(c.ChangedAt) {
			note(cp.name + ": this abandonment was already judged: nothing is sent again")
			continue
		}
		abandoned = true
		at := due.UTC().Format(time.RFC3339)
		switch {
		case consent && !ct.Marketable():
			note(cp.name + ": abandoned at " + at + ", but nothing is sent: the contact has no marketing consent, and require_consent is on")
		case planner == nil:
			note(cp.name + ": the abandonment is sent at " + at + " unless the cart converts first")
		default:
			calls, err := planner.PlanAbandoned(c, ct, skill.CartTriggerKey(c), due)
			if err != nil {
				note(cp.name + ": the abandonment would be dead-lettered: " + err.Error())
			}
			add(rec, skill.CartEventsName, cp.name, due, calls)
		}
	}
	if abandoned {
		note("cart-events: the abandonment fires at " + due.UTC().Format(time.RFC3339) + " unless the cart converts first")
		return p.workflows(ctx, []synclayer.Trigger{skill.CartTrigger(c, due)}, rec, due)
	}
	return nil
}
