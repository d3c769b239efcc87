// Package ingest takes verified events from the sources into the canonical
// store: it deduplicates them, resolves identity, merges them under the
// store's rules and enqueues the delivery jobs they cause, all in one
// transaction, before the sender is acknowledged.
package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Route sends changes from some sources to one skill's destination.
type Route struct {
	Skill       string
	Destination string
	Sources     []string
	// Records is what the route carries: RecordContacts (also ""),
	// RecordOrders or RecordProducts (see order.go, product.go).
	Records string
	// Wait is how long a RecordCarts route's cart waits after its last
	// change before the skill judges it (cart.go).
	Wait time.Duration
	// Batch, when set, is the queue changes go to for the skill's batch
	// flusher (synclayer.BatchQueue). A contact change that touches
	// consent (an opt-out stands, or the contact is deleted) still goes
	// to Skill, the realtime queue: consent never waits for a batch.
	Batch string
	// Mirror marks a RecordCarts route whose destination holds a copy of
	// each cart (synclayer.CartMirror): it hears of a cart's conversion
	// at once, to delete its copy, rather than when the wait ends, so the
	// platform's own abandoned-cart mail never goes to a buyer who paid.
	Mirror bool
}

// queueFor returns the queue a change of contact c goes to; c is nil for
// a record that is not a contact.
func (r Route) queueFor(c *synclayer.Contact) string {
	if r.Batch == "" || c != nil && (c.Deleted || c.EmailConsent.State == synclayer.ConsentUnsubscribed || c.SMSConsent.State == synclayer.ConsentUnsubscribed) {
		return r.Skill
	}
	return r.Batch
}

// Config configures an Ingester.
type Config struct {
	Store          synclayer.Store
	Routes         []Route
	ConsentSources []string            // the sources whose opt-ins count; none trusts every source
	FieldOwners    map[string][]string // canonical field → the only systems that may set it
	DefaultRegion  string              // for phones without a country code; "" requires E.164
	// CustomerStageOnFirstOrder makes a contact's first paid order move
	// its lifecycle stage to customer, as a change from the order's
	// source (order.go, customerStage).
	CustomerStageOnFirstOrder bool
	Now                       func() time.Time
	// Notify is called after a commit that enqueued work, to wake workers.
	Notify func(skill string)
	// GroupCommit commits concurrent calls together. It suits SQLite, which
	// has one writer anyway; on PostgreSQL concurrent transactions are faster.
	GroupCommit bool
	// Triggers takes the workflow triggers events cause, in their
	// transaction (trigger.go); nil without workflows.
	Triggers synclayer.TriggerSink
	// WriteBacks are the sources that take opt-outs made elsewhere
	// (synclayer.ConsentWriter): writeback.go.
	WriteBacks []WriteBack
}

// Ingester is the one path into the store, shared by webhooks, the API and
// the CLI's manual triggers. With GroupCommit, concurrent calls are
// committed together: while one transaction commits, the next calls gather
// and share the following one, so a burst costs one commit per batch, not
// one per webhook. Each call still returns only after its own events are
// durable.
type Ingester struct {
	cfg Config

	mu      sync.Mutex
	pending []*request
	leading bool // a caller is committing batches
}

// maxBatch caps how many calls share one transaction.
const maxBatch = 64

type request struct {
	ctx     context.Context
	events  []*synclayer.Event
	results []Result
	err     error
	done    chan struct{}
}

// New returns an Ingester.
func New(cfg Config) *Ingester {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ingester{cfg: cfg}
}

// Result is what happened to one event.
type Result struct {
	EventID   string                `json:"id"`
	Status    synclayer.EventStatus `json:"status"`
	Duplicate bool                  `json:"duplicate,omitempty"`
	Reason    string                `json:"reason,omitempty"`
	ContactID string                `json:"contactId,omitempty"`
	Ignored   []synclayer.Ignored   `json:"ignored,omitempty"` // what the event said that was not applied, and why
}

// Ingest stores and applies events in one transaction. A redelivered event
// (same source and dedupe key) changes nothing and reports Duplicate. An
// event that is genuine but cannot be synced is stored with status failed
// and its reason; only a storage failure returns an error, and then none of
// the call's events was written.
func (in *Ingester) Ingest(ctx context.Context, events []*synclayer.Event) ([]Result, error) {
	req := &request{ctx: ctx, events: events, done: make(chan struct{})}
	if !in.cfg.GroupCommit {
		in.commit([]*request{req})
		return req.results, req.err
	}
	in.mu.Lock()
	in.pending = append(in.pending, req)
	lead := !in.leading
	in.leading = in.leading || lead
	in.mu.Unlock()
	if lead {
		in.lead()
	}
	<-req.done
	return req.results, req.err
}

// lead commits batches of pending calls until none is left.
func (in *Ingester) lead() {
	for {
		in.mu.Lock()
		batch := in.pending[:min(len(in.pending), maxBatch)]
		in.pending = in.pending[len(batch):]
		if len(batch) == 0 {
			in.leading = false
			in.mu.Unlock()
			return
		}
		in.mu.Unlock()
		in.commit(batch)
	}
}

// commit runs a batch in one transaction. If that fails, each call is
// retried alone, so one call's storage error never fails another's.
func (in *Ingester) commit(batch []*request) {
	woken := map[string]bool{}
	run := func(reqs []*request) error {
		clear(woken)
		ctx := reqs[0].ctx
		if len(reqs) > 1 {
			ctx = context.WithoutCancel(ctx) // one caller giving up must not fail the others
		}
		now := in.cfg.Now().UTC()
		return in.cfg.Store.Tx(ctx, func(tx synclayer.Tx) error {
			for _, req := range reqs {
				req.results = make([]Result, len(req.events))
				for i, ev := range req.events {
					r, skills, err := in.ingestOne(ctx, tx, ev, now)
					if err != nil {
						return err
					}
					req.results[i] = r
					for _, s := range skills {
						woken[s] = true
					}
				}
			}
			return nil
		})
	}
	finish := func(reqs []*request, err error) {
		if err == nil && in.cfg.Notify != nil {
			for s := range woken {
				in.cfg.Notify(s)
			}
		}
		for _, req := range reqs {
			if err != nil {
				req.results, req.err = nil, err
			}
			close(req.done)
		}
	}
	err := run(batch)
	if err == nil || len(batch) == 1 {
		finish(batch, err)
		return
	}
	for _, req := range batch {
		for _, ev := range req.events {
			ev.ID, ev.Status, ev.Reason, ev.ContactID = "", "", "", ""
		}
		finish([]*request{req}, run([]*request{req}))
	}
}

func (in *Ingester) ingestOne(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, now time.Time) (Result, []string, error) {
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = ev.ReceivedAt
	}
	if err := tx.InsertEvent(ctx, ev); err != nil {
		if synclayer.ErrorCode(err) == synclayer.ECONFLICT {
			return Result{Status: synclayer.EventUnchanged, Duplicate: true, Reason: "already received"}, nil, nil
		}
		return Result{}, nil, err
	}
	skills, err := in.apply(ctx, tx, ev)
	if err != nil {
		return Result{}, nil, err
	}
	if err := tx.UpdateEvent(ctx, ev); err != nil {
		return Result{}, nil, err
	}
	return Result{EventID: ev.ID, Status: ev.Status, Reason: ev.Reason, ContactID: ev.ContactID, Ignored: ev.Ignored}, skills, nil
}

func fail(ev *synclayer.Event, format string, args ...any) ([]string, error) {
	ev.Status, ev.Reason = synclayer.EventFailed, fmt.Sprintf(format, args...)
	return nil, nil
}

// apply merges a stored event into its contact and enqueues the deliveries
// it causes, returning the skills that got work.
func (in *Ingester) apply(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	switch {
	case ev.Order != nil:
		return in.applyOrder(ctx, tx, ev)
	case ev.Product != nil:
		return in.applyProduct(ctx, tx, ev)
	case ev.Cart != nil:
		return in.applyCart(ctx, tx, ev)
	case ev.Activity != nil:
		return in.applyActivity(ctx, tx, ev)
	case ev.Ticket != nil:
		return in.applyTicket(ctx, tx, ev)
	case ev.Billing != nil:
		return in.applyBilling(ctx, tx, ev)
	case ev.Fetch != nil:
		return in.applyFetch(ctx, tx, ev)
	}
	ch := ev.Customer
	if ch == nil {
		ev.Status = synclayer.EventUnchanged
		return nil, nil
	}
	return in.applyContact(ctx, tx, ev, ch, ev.Type == synclayer.EventCustomerCreated)
}

// applyContact resolves the contact ch is about, creating it when none
// matches, merges ch under the store's rules (create: the change is a
// creation, which may restore a deleted contact), enqueues its
// deliveries and fires its triggers (contact_created, contact_updated,
// consent_changed). It sets ev's status, reason and contact.
func (in *Ingester) applyContact(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, ch *synclayer.CustomerChange, create bool) ([]string, error) {
	notes, err := in.normalize(ch)
	if err != nil {
		return fail(ev, "%s", err.Error())
	}
	var keys []string
	if ch.SourceID != "" {
		keys = append(keys, "src:"+ev.Source+":"+ch.SourceID)
	}
	if e := ch.Email(); e != "" {
		keys = append(keys, "email:"+e)
	}
	if p := ch.Phone(); p != "" {
		keys = append(keys, "phone:"+p)
	}
	if err := tx.Lock(ctx, keys...); err != nil {
		return nil, err
	}
	c, err := in.resolve(ctx, tx, ev.Source, ch)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if ch.Delete {
			ev.Status, ev.Reason = synclayer.EventUnchanged, "no such contact to delete"
			return nil, nil
		}
		if ch.Email() == "" && ch.Phone() == "" {
			return fail(ev, "cannot sync a customer with neither email nor phone")
		}
		c = &synclayer.Contact{}
	}
	var before *synclayer.Contact // for the triggers; copied only when workflows run
	if in.cfg.Triggers != nil {
		before = snapshot(c)
	}
	joined := joinedBy(c, ev.Source, ch)
	prevCompany := c.Value(synclayer.FieldCompany)
	decisions, changed := synclayer.Merge(c, ch, synclayer.MergeContext{
		Source:         ev.Source,
		At:             ev.OccurredAt,
		ConsentSources: in.cfg.ConsentSources,
		FieldOwners:    in.cfg.FieldOwners,
		Create:         create,
	})
	decisions = append(decisions, notes...)
	for _, d := range decisions {
		if d.Rule == synclayer.RuleConsentProtected && d.Note != "" && string(d.New) == `"`+string(synclayer.ConsentSubscribed)+`"` {
			ev.Ignored = append(ev.Ignored, synclayer.Ignored{Field: d.Field, Reason: d.Note})
		}
	}
	if c.ID != "" && !changed {
		ev.Status, ev.ContactID = synclayer.EventUnchanged, c.ID
		if err := tally(ctx, tx, ev, decisions); err != nil { // conflicts: refused changes count too
			return nil, err
		}
		if err := in.trace(ctx, tx, ev, c.ID, decisions); err != nil {
			return nil, err
		}
		return in.fire(ctx, tx, conflictTriggers(ev, c.ID, decisions)...)
	}
	if !c.Deleted && c.Email == "" && c.Phone == "" {
		return fail(ev, "cannot sync a customer with neither email nor phone")
	}
	c.UpdatedAt = ev.ReceivedAt
	link, err := in.companyLink(ctx, tx, ev, c, prevCompany)
	if err != nil {
		return nil, err
	}
	if err := tx.SaveContact(ctx, c); err != nil {
		return nil, err
	}
	if link != nil {
		if err := tx.SetContactCompany(ctx, c.ID, *link); err != nil {
			return nil, err
		}
	}
	ev.Status, ev.ContactID = synclayer.EventApplied, c.ID
	if joined != "" {
		decisions = append(decisions, synclayer.Decision{Field: "identity", Rule: synclayer.RuleIdentityMerged, Applied: true,
			Note: "this " + ev.Source + " record joined the contact, found by " + joined})
	}
	if err := tally(ctx, tx, ev, decisions); err != nil {
		return nil, err
	}
	if err := in.trace(ctx, tx, ev, c.ID, decisions); err != nil {
		return nil, err
	}
	skills, err := in.enqueueWriteBacks(ctx, tx, c, ev.ReceivedAt)
	if err != nil {
		return nil, err
	}
	for _, r := range in.cfg.Routes {
		if r.carries(RecordContacts) && slices.Contains(r.Sources, ev.Source) {
			q := r.queueFor(c)
			if err := tx.EnqueueJob(ctx, q, r.Destination, c.ID, ev.ReceivedAt); err != nil {
				return nil, err
			}
			skills = append(skills, q)
		}
	}
	if in.cfg.Triggers == nil {
		return skills, nil
	}
	s, err := in.fire(ctx, tx, append(contactTriggers(ev, merged{contact: c, before: before, changed: true}), conflictTriggers(ev, c.ID, decisions)...)...)
	return append(skills, s...), err
}

// joinedBy returns "email" or "phone" when ch's record is about to join
// the existing contact c found by that identity: its source ID is new to
// c, so two records of one person merge. It returns "" otherwise.
func joinedBy(c *synclayer.Contact, source string, ch *synclayer.CustomerChange) string {
	if c.ID == "" || ch.SourceID == "" || c.SourceIDs[source] == ch.SourceID {
		return ""
	}
	if e := ch.Email(); e != "" && e == c.Email {
		return "email"
	}
	return "phone"
}

// tally counts, for the health report, a merge and the consent changes
// the decisions applied.
func tally(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, decisions []synclayer.Decision) error {
	for _, d := range decisions {
		var kind synclayer.Tally
		switch {
		case isConflict(d):
			kind = synclayer.TallyConflict
		case !d.Applied:
			continue
		case d.Rule == synclayer.RuleIdentityMerged:
			kind = synclayer.TallyMerge
		case d.Rule == synclayer.RuleConsentOptIn:
			kind = synclayer.TallyOptIn
		case d.Rule == synclayer.RuleConsentOptOut:
			kind = synclayer.TallyOptOut
		default:
			continue
		}
		if err := tx.AddTally(ctx, kind, ev.Source, ev.ReceivedAt); err != nil {
			return err
		}
	}
	return nil
}

// resolve finds the contact by source ID, then email, then phone, in one
// read of the store.
func (in *Ingester) resolve(ctx context.Context, tx synclayer.Tx, source string, ch *synclayer.CustomerChange) (*synclayer.Contact, error) {
	bySource, byEmail, byPhone, err := tx.FindContactsByIdentity(ctx, source, ch.SourceID, ch.Email(), ch.Phone())
	switch {
	case err != nil:
		return nil, err
	case bySource != nil:
		return bySource, nil
	case byEmail != nil:
		return byEmail, nil
	case byPhone != nil && ch.Email() != "" && byPhone.Email != "":
		// A shared phone joins records only when it cannot merge two
		// people who have different emails.
		return nil, nil
	}
	return byPhone, nil
}

// normalize validates and normalizes the identity fields in place. An
// invalid email fails the event; an invalid phone is dropped with a note,
// since the rest of the record can still be synced.
func (in *Ingester) normalize(ch *synclayer.CustomerChange) ([]synclayer.Decision, error) {
	var notes []synclayer.Decision
	if raw, ok := ch.Fields[synclayer.FieldEmail]; ok && !isNull(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("invalid email: not a string")
		}
		e, err := normalize.Email(s)
		if err != nil {
			return nil, fmt.Errorf("invalid email: %v", err)
		}
		ch.Fields[synclayer.FieldEmail] = jsonString(e)
	}
	if raw, ok := ch.Fields[synclayer.FieldPhone]; ok && !isNull(raw) {
		var s string
		_ = json.Unmarshal(raw, &s)
		p, err := normalize.Phone(s, in.cfg.DefaultRegion)
		if err != nil {
			delete(ch.Fields, synclayer.FieldPhone)
			notes = append(notes, synclayer.Decision{Field: synclayer.FieldPhone, Rule: "invalid_dropped", New: raw, Note: err.Error()})
		} else {
			ch.Fields[synclayer.FieldPhone] = jsonString(p)
		}
	}
	return notes, nil
}

func (in *Ingester) trace(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, contactID string, decisions []synclayer.Decision) error {
	detail, _ := json.Marshal(map[string]any{"source": ev.Source, "topic": ev.Topic, "occurredAt": ev.OccurredAt, "decisions": decisions})
	var applied []string
	for _, d := range decisions {
		if d.Applied {
			applied = append(applied, d.Field)
		}
	}
	summary := fmt.Sprintf("%s from %s (%s)", ev.Type, ev.Source, ev.Topic)
	if len(applied) > 0 {
		summary += ": set " + strings.Join(applied, ", ")
	} else {
		summary += ": nothing changed"
	}
	for _, ig := range ev.Ignored {
		summary += "; " + ig.Field + " ignored: " + ig.Reason
	}
	return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: contactID, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID, Summary: summary, Detail: detail})
}

func isNull(v json.RawMessage) bool {
	s := strings.TrimSpace(string(v))
	return s == "" || s == "null"
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
