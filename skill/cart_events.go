package skill

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"synclayer"
)

// CartEventsName is the skill's name in config, metrics and job rows.
const CartEventsName = "cart-events"

// DefaultAbandonAfter is how long a cart waits after its last change
// before it counts as abandoned, when the config does not say.
const DefaultAbandonAfter = time.Hour

// CartEvents is the cart-events skill on one destination. Ingest queues
// each changed cart's job to run AbandonAfter after the change; when it
// runs, the skill reads the cart again and, when nothing converted it
// meanwhile, tells the destination once (Brevo: the cart_abandoned event).
// The wait is the job's run_at in the store, so a restart neither loses
// nor repeats it. A CartMirror destination is told nothing of the
// abandonment (it mirrors each change on the watcher's queue, and its
// platform judges abandonment itself); its copy of a cart found converted
// or empty when the wait ends is deleted.
type CartEvents struct {
	Store       synclayer.Store
	Destination string
	Sync        synclayer.CartSync
	// Triggers, when set, hears of every cart judged abandoned, before
	// the consent check, for workflow rules.
	Triggers       synclayer.TriggerSink
	AbandonAfter   time.Duration // default DefaultAbandonAfter
	RequireConsent bool          // send only to contacts with marketing consent
	Now            func() time.Time
	Logger         *slog.Logger
}

// cartState is what cart-events records once it judged a cart abandoned:
// the change it judged (ChangedAt, the version) and whether Brevo got the
// event, so one abandonment sends once and a later change starts anew.
type cartState struct {
	ChangedAt time.Time `json:"changedAt"`
	Version   int64     `json:"version"`
	Sent      bool      `json:"sent"`
	Reason    string    `json:"reason,omitempty"` // why nothing was sent
}

// CartDueAt returns when cart c may be judged: at once when the platform
// said it is abandoned, otherwise abandonAfter after its last change.
func CartDueAt(c *synclayer.Cart, abandonAfter time.Duration) time.Time {
	if !c.AbandonedAt.IsZero() {
		return c.AbandonedAt
	}
	return c.ChangedAt.Add(abandonAfter)
}

// Handle judges the job's cart. Converted, not yet due, anonymous, empty
// or already judged carts send nothing (a cart not yet due is queued again
// for its due time), except that a CartMirror's copy of a converted,
// anonymous or empty cart is deleted; an abandoned cart fires the
// workflow trigger, then, unless consent is required and missing or the
// destination is a CartMirror, sends cart_abandoned. The judgement is
// recorded in the job's sync state, in the transaction that completes the
// job.
func (s *CartEvents) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	after := s.AbandonAfter
	if after <= 0 {
		after = DefaultAbandonAfter
	}
	c, err := s.Store.FindCartByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, &synclayer.TraceEntry{ContactID: job.RecordKey, Kind: synclayer.TraceDelivery, Summary: "cart-events: no call (the cart is not stored)"}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	traceKey := c.ContactID
	if traceKey == "" {
		traceKey = c.ID
	}
	trace := func(summary string, detail map[string]any) *synclayer.TraceEntry {
		detail["destination"], detail["cart"], detail["cartVersion"] = s.Destination, c.ID, c.Version
		d, _ := json.Marshal(detail)
		return &synclayer.TraceEntry{ContactID: traceKey, Kind: synclayer.TraceDelivery, Summary: summary, Detail: d}
	}
	none := func(reason string) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
		return nil, trace(s.Destination+": no call ("+reason+")", map[string]any{"reason": reason}), nil
	}
	// gone is none for a cart no destination may hold; a mirror's copy of
	// it is deleted.
	gone := none
	mirror, mirrors := s.Sync.(synclayer.CartMirror)
	if mirrors {
		m := &cartMirror{store: s.Store, destination: s.Destination, mirror: mirror, requireConsent: s.RequireConsent}
		gone = func(reason string) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
			return m.close(ctx, c, reason)
		}
	}

	if c.Converted() {
		return gone("the cart was converted by " + c.ConvertedBy)
	}
	if due := CartDueAt(c, after); now.Before(due) {
		// Run early (a retry merged into the job, a requeue): wait again.
		if err := s.Store.Tx(ctx, func(tx synclayer.Tx) error {
			return tx.EnqueueJobAt(ctx, job.Queue, job.Destination, c.ID, due, now)
		}); err != nil {
			return nil, nil, err
		}
		return none("not abandoned before " + due.UTC().Format(time.RFC3339) + "; looked at again then")
	}
	if c.ContactID == "" {
		return gone("nobody is identified for the cart: it has no email or customer ID")
	}
	if len(c.Items) == 0 {
		return gone("the cart is empty")
	}
	ct, err := s.Store.FindContactByID(ctx, c.ContactID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && ct.Deleted:
		return gone("the cart's contact " + c.ContactID + " no longer exists")
	case err != nil:
		return nil, nil, err
	}
	if o, err := convertingOrder(ctx, s.Store, c); err != nil {
		return nil, nil, err
	} else if o != nil {
		return gone("order " + o.ID + " was placed after the cart's last change")
	}
	var prev *cartState
	if raw, err := held(ctx, s.Store, synclayer.CartStateKey(c.ID), s.Destination); err != nil {
		return nil, nil, err
	} else if raw != nil {
		prev = new(cartState)
		if err := json.Unmarshal(raw, prev); err != nil {
			return nil, nil, fmt.Errorf("decode cart-events state of %s: %w", c.ID, err)
		}
	}
	if prev != nil && prev.ChangedAt.Equal(c.ChangedAt) {
		return none(fmt.Sprintf("this abandonment (cart version %d) was already judged", prev.Version))
	}

	// The cart is abandoned.
	if s.Triggers != nil {
		t := CartTrigger(c, now)
		if err := s.Store.Tx(ctx, func(tx synclayer.Tx) error { return s.Triggers.Fire(ctx, tx, t) }); err != nil {
			return nil, nil, fmt.Errorf("fire cart_abandoned trigger: %w", err)
		}
	}
	st := cartState{ChangedAt: c.ChangedAt, Version: c.Version}
	saved := func() *synclayer.SyncState {
		b, _ := json.Marshal(st)
		return &synclayer.SyncState{RecordKey: synclayer.CartStateKey(c.ID), Destination: s.Destination, RemoteID: c.ID, State: b}
	}
	if s.RequireConsent && !ct.Marketable() {
		st.Reason = "the contact has no marketing consent, and require_consent is on"
		return saved(), trace(s.Destination+": no call (abandoned, but "+st.Reason+")", map[string]any{"reason": st.Reason}), nil
	}
	if mirrors {
		st.Reason = s.Destination + " holds the cart as it changes, and its own automation decides whether to email the buyer"
		return saved(), trace(s.Destination+": no call (abandoned, but "+st.Reason+")", map[string]any{"reason": st.Reason}), nil
	}
	summary, sent, err := s.Sync.Abandoned(ctx, c, ct, CartTriggerKey(c), CartDueAt(c, after))
	if err != nil {
		return nil, nil, err
	}
	st.Sent = true
	return saved(), trace(summary, map[string]any{"event": sent}), nil
}

// convertingOrder returns an order of the cart's contact that converts it
// and was stored after the cart (by order-events) without ingest seeing
// the cart first: one from the cart's checkout, or any counted order
// placed at or after the cart's last change (Cart.PlacedFrom). nil when there is none.
func convertingOrder(ctx context.Context, st synclayer.Store, c *synclayer.Cart) (*synclayer.Order, error) {
	orders, err := st.FindOrders(ctx, synclayer.OrderFilter{ContactID: c.ContactID, Limit: 100})
	if err != nil {
		return nil, err
	}
	for _, o := range orders {
		if !o.Counts() {
			continue
		}
		if o.CartID != "" && synclayer.CanonicalID(o.Source, o.CartID) == c.ID || c.PlacedFrom(o) {
			return o, nil
		}
	}
	return nil, nil
}

// CartTrigger is the workflow trigger of an abandoned cart: keyed by the
// cart and the change it was abandoned after (ChangedAt), so one
// abandonment fires a rule once. Not by the version: a retry after Brevo
// failed would fire again once anything re-saved the cart meanwhile (the
// platform's own abandonment signal, a conversion check).
func CartTrigger(c *synclayer.Cart, at time.Time) synclayer.Trigger {
	items := make([]any, 0, len(c.Items))
	for _, it := range c.Items {
		items = append(items, map[string]any{"product_id": it.ProductID, "variant_id": it.VariantID, "sku": it.SKU,
			"name": it.Name, "price": it.Price, "quantity": it.Quantity})
	}
	// Amounts stay Money: the workflow view makes them numbers for
	// filters (cart.total >= 100) and keeps their digits for templates.
	data := map[string]any{"id": c.ID, "source": c.Source, "items": items, "total": c.Total, "currency": c.Currency,
		"recovery_url": c.RecoveryURL, "updated_at": c.UpdatedAt.UTC().Format(time.RFC3339)}
	return synclayer.Trigger{Type: synclayer.EventCartAbandoned, Key: CartTriggerKey(c), ContactID: c.ContactID, At: at, Data: data}
}

// CartTriggerKey is the key of cart c's cart_abandoned trigger: the cart
// and when its contents last changed, in microseconds as the store keeps
// times ("shopify:tok1@1795687200000000").
func CartTriggerKey(c *synclayer.Cart) string {
	return fmt.Sprintf("%s@%d", c.ID, c.ChangedAt.UnixMicro())
}

// CartMirrorKey is the sync-state key of what a CartMirror destination
// holds of cart id.
func CartMirrorKey(id string) string { return "cart-mirror:" + id }

// MirrorHeld returns what a CartMirror destination holds of a cart, from
// the sync state cart-events keeps under CartMirrorKey (raw; nil when
// none was kept): the state its CartChanged returned, nil once the copy
// is deleted. Dry runs plan from it.
func MirrorHeld(raw json.RawMessage) (json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	var st mirrorState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decode the cart mirror state: %w", err)
	}
	return st.Held, nil
}

// mirrorState is what cart-events records of a CartMirror's copy of a
// cart: the destination's own state of it (Held, nil once the copy is
// deleted or when none was made), the cart version it was last brought
// to, and why the copy was deleted.
type mirrorState struct {
	Held    json.RawMessage `json:"held,omitempty"`
	Version int64           `json:"version"`
	Closed  string          `json:"closed,omitempty"`
}

// cartMirror is cart-events on a CartMirror destination: the watcher's
// queue runs handle on each change, and CartEvents.Handle runs close
// when the cart's wait ends and it must not be held.
type cartMirror struct {
	store          synclayer.Store
	destination    string
	mirror         synclayer.CartMirror
	requireConsent bool
}

// handle brings the destination's copy of the job's cart to the cart as
// stored. A converted, empty or anonymous cart, one whose contact no
// longer exists or placed an order since its last change, and (with
// requireConsent) one of a contact without marketing consent is deleted
// when the destination holds it, and sends nothing otherwise. Any other
// cart goes to CartChanged, which sends nothing for a copy held as it is.
func (m *cartMirror) handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	c, err := m.store.FindCartByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case c.Converted():
		return m.close(ctx, c, "the cart was converted by "+c.ConvertedBy)
	case c.ContactID == "":
		return m.close(ctx, c, "nobody is identified for the cart: it has no email or customer ID")
	case len(c.Items) == 0:
		return m.close(ctx, c, "the cart is empty")
	}
	ct, err := m.store.FindContactByID(ctx, c.ContactID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && ct.Deleted:
		return m.close(ctx, c, "the cart's contact "+c.ContactID+" no longer exists")
	case err != nil:
		return nil, nil, err
	}
	if o, err := convertingOrder(ctx, m.store, c); err != nil {
		return nil, nil, err
	} else if o != nil {
		return m.close(ctx, c, "order "+o.ID+" was placed after the cart's last change")
	}
	if m.requireConsent && !ct.Marketable() {
		return m.close(ctx, c, "the contact has no marketing consent, and require_consent is on")
	}
	prev, err := m.held(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	summary, next, sent, err := m.mirror.CartChanged(ctx, c, ct, prev.Held)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", m.destination, err)
	}
	return m.saved(c, mirrorState{Held: next, Version: c.Version}), m.trace(c, summary, map[string]any{"sent": sent}), nil
}

// close deletes the destination's copy of cart c, for reason; with no
// copy held it sends nothing and says why.
func (m *cartMirror) close(ctx context.Context, c *synclayer.Cart, reason string) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	prev, err := m.held(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	if prev.Held == nil {
		return nil, m.trace(c, m.destination+": no call ("+reason+", and "+m.destination+" holds no copy of it)", map[string]any{"reason": reason}), nil
	}
	summary, err := m.mirror.CartClosed(ctx, c, reason, prev.Held)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", m.destination, err)
	}
	return m.saved(c, mirrorState{Version: c.Version, Closed: reason}), m.trace(c, summary, map[string]any{"reason": reason}), nil
}

// held returns what the destination holds of cart id; a zero state when
// it was never sent.
func (m *cartMirror) held(ctx context.Context, id string) (mirrorState, error) {
	var st mirrorState
	raw, err := held(ctx, m.store, CartMirrorKey(id), m.destination)
	if err != nil || raw == nil {
		return st, err
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("decode the cart mirror state of %s: %w", id, err)
	}
	return st, nil
}

func (m *cartMirror) saved(c *synclayer.Cart, st mirrorState) *synclayer.SyncState {
	b, _ := json.Marshal(st)
	return &synclayer.SyncState{RecordKey: CartMirrorKey(c.ID), Destination: m.destination, RemoteID: c.ID, State: b}
}

func (m *cartMirror) trace(c *synclayer.Cart, summary string, detail map[string]any) *synclayer.TraceEntry {
	key := c.ContactID
	if key == "" {
		key = c.ID
	}
	detail["destination"], detail["cart"], detail["cartVersion"] = m.destination, c.ID, c.Version
	d, _ := json.Marshal(detail)
	return &synclayer.TraceEntry{ContactID: key, Kind: synclayer.TraceDelivery, Summary: summary, Detail: d}
}
