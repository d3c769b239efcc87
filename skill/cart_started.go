package skill

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

// CartStartedQueue is the queue of cart-events' started-checkout jobs on
// destination: apart from the abandonment queue, whose jobs wait.
func CartStartedQueue(destination string) string {
	return synclayer.Queue(CartEventsName, destination) + ":started"
}

// CartStarted tells a CartWatcher destination of each cart once, as soon
// as ingest saves it (Klaviyo's Started Checkout, which its abandoned-cart
// flows start on). Converted, anonymous and empty carts, and (with
// RequireConsent) carts of contacts without marketing consent, send
// nothing.
type CartStarted struct {
	Store          synclayer.Store
	Destination    string
	Watcher        synclayer.CartWatcher
	RequireConsent bool
}

// CartStartedKey is the sync-state key that records a cart's start was sent.
func CartStartedKey(id string) string { return "cart-started:" + id }

// Handle sends the cart's start once. A CartMirror is instead brought up
// to date with every change (cartMirror.handle).
func (s *CartStarted) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	if m, ok := s.Watcher.(synclayer.CartMirror); ok {
		return (&cartMirror{store: s.Store, destination: s.Destination, mirror: m, requireConsent: s.RequireConsent}).handle(ctx, job)
	}
	c, err := s.Store.FindCartByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	traceKey := c.ContactID
	if traceKey == "" {
		traceKey = c.ID
	}
	trace := func(summary string, detail any) *synclayer.TraceEntry {
		d, _ := json.Marshal(map[string]any{"destination": s.Destination, "cart": c.ID, "cartVersion": c.Version, "detail": detail})
		return &synclayer.TraceEntry{ContactID: traceKey, Kind: synclayer.TraceDelivery, Summary: summary, Detail: d}
	}
	none := func(why string) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
		return nil, trace(s.Destination+": no started checkout ("+why+")", nil), nil
	}
	if prev, err := held(ctx, s.Store, CartStartedKey(c.ID), s.Destination); err != nil {
		return nil, nil, err
	} else if prev != nil {
		return nil, nil, nil // sent once already: nothing to say again
	}
	switch {
	case c.Converted():
		return none("the cart was converted by " + c.ConvertedBy)
	case c.ContactID == "":
		return none("nobody is identified for the cart")
	case len(c.Items) == 0:
		return none("the cart is empty")
	}
	ct, err := s.Store.FindContactByID(ctx, c.ContactID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && ct.Deleted:
		return none("the cart's contact no longer exists")
	case err != nil:
		return nil, nil, err
	}
	if s.RequireConsent && !ct.Marketable() {
		return none("the contact has no marketing consent, and require_consent is on")
	}
	summary, sent, err := s.Watcher.CartStarted(ctx, c, ct, "started:"+c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.Destination, err)
	}
	st := &synclayer.SyncState{RecordKey: CartStartedKey(c.ID), Destination: s.Destination, RemoteID: c.ID, State: json.RawMessage(`{"sent":true}`)}
	return st, trace(summary, sent), nil
}
