package mailchimp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// CartSync is cart-events' Mailchimp side. Mailchimp's own abandoned-cart
// automation decides when to email a buyer, from the carts its store
// holds, so the store mirrors each cart as it changes (CartChanged: a
// POST, then PATCHes) and loses it once it converts or empties
// (CartClosed: a DELETE), or Mailchimp would email a buyer who already
// bought (docs/platforms/mailchimp.md, Carts). synclayer's own judgement
// of an abandonment sends Mailchimp nothing; its workflow trigger still
// fires.
type CartSync struct{ *commerce }

var (
	_ synclayer.CartSync    = (*CartSync)(nil)
	_ synclayer.CartMirror  = (*CartSync)(nil)
	_ synclayer.CartPlanner = (*CartSync)(nil)

	_ synclayer.CartMirrorPlanner = (*CartSync)(nil)
)

// NewCartSync is CartSync for a client of one's own. Errors name
// options.<key>.
func NewCartSync(c *Client, cfg synclayer.SkillConfig) (*CartSync, error) {
	m, err := newCommerce(c, cfg)
	if err != nil {
		return nil, err
	}
	return &CartSync{m}, nil
}

// cartState is what Mailchimp holds of a cart: the cart as last written,
// its customer included, and the variants its lines were made sure of.
type cartState struct {
	Cart     *Cart        `json:"cart"`
	Products []ProductRef `json:"products,omitempty"`
}

func decodeCartState(raw json.RawMessage) (*cartState, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	st := &cartState{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("decode Mailchimp cart sync state: %w", err)
	}
	if st.Cart == nil || st.Cart.Customer == nil {
		return nil, nil
	}
	return st, nil
}

// cart is the cart Mailchimp should hold for c of customer cust, with the
// variants its lines name and the minimal variant each would be made as.
func (s *CartSync) cart(c *synclayer.Cart, cust *Customer) (Cart, []ProductRef, map[ProductRef]Variant) {
	ls, refs, minimal := lines(c.Items)
	return Cart{ID: c.ID, Customer: cust, CheckoutURL: c.RecoveryURL, CurrencyCode: firstNonEmpty(c.Currency, s.opt.Currency),
		OrderTotal: money(c.Total), Lines: ls}, refs, minimal
}

// CartChanged brings Mailchimp's copy of cart c of contact ct to what c
// holds, given what Mailchimp holds (held). A new cart is created (POST)
// with its customer (opt_in_status false: consent reaches Mailchimp only
// through customer-sync), checkout_url (the cart's recovery URL), lines,
// order_total and currency; a held one is updated (PATCH, never with its
// customer) and each line it no longer has is deleted. A copy held as it
// is sends nothing. The lines' products are made sure of first. A cart
// that changed hands (another contact) is deleted and created again,
// since Mailchimp keeps a cart's customer. A buyer without an email
// Mailchimp accepts sends nothing, and a copy held for them is deleted.
// Mailchimp's answers are mended as for orders: a POST answered "already
// exists" (its answer was lost) becomes an update, a PATCH answered 404
// (deleted inside Mailchimp) a POST.
func (s *CartSync) CartChanged(ctx context.Context, c *synclayer.Cart, ct *synclayer.Contact, held json.RawMessage) (string, json.RawMessage, any, error) {
	prev, err := decodeCartState(held)
	if err != nil {
		return "", nil, nil, synclayer.Permanent(err)
	}
	cust, err := customer(ct)
	if err != nil {
		why := "Mailchimp needs the buyer's email for a cart, and " + err.Error()
		if prev == nil {
			return "mailchimp: no call (" + why + ")", nil, nil, nil
		}
		summary, err := s.CartClosed(ctx, c, why, held)
		return summary, nil, nil, err
	}
	want, refs, minimal := s.cart(c, cust)
	var known []ProductRef
	var notes []string
	if prev != nil {
		known = prev.Products
		if prev.Cart.Customer.ID != cust.ID {
			note, err := s.CartClosed(ctx, c, "the cart changed hands, and Mailchimp keeps a cart's customer", held)
			if err != nil {
				return note, nil, nil, err
			}
			notes, prev = append(notes, note), nil
		} else if sameCart(prev.Cart, &want) {
			return "mailchimp: no call (Mailchimp holds the cart as it is)", held, nil, nil
		}
	}
	ensured, err := s.ensureAll(ctx, missing(refs, known), minimal)
	notes = append(notes, ensured...)
	if err != nil {
		return strings.Join(notes, "; "), nil, nil, err
	}
	if c.RecoveryURL == "" {
		notes = append(notes, "mailchimp: the cart has no recovery URL, which Mailchimp's abandoned-cart emails need as checkout_url")
	}
	var note string
	if prev == nil {
		note, err = s.create(ctx, want, minimal)
	} else {
		note, err = s.patch(ctx, want, prev.Cart.Lines, minimal)
	}
	notes = append(notes, note)
	if err != nil {
		return strings.Join(notes, "; "), nil, nil, err
	}
	return strings.Join(notes, "; "), mustJSON(cartState{Cart: &want, Products: union(known, refs)}), want, nil
}

func (s *CartSync) create(ctx context.Context, want Cart, minimal map[ProductRef]Variant) (string, error) {
	err := s.retryLines(ctx, want.Lines, minimal, func() error { return s.client.CreateCart(ctx, s.opt.StoreID, want) })
	if IsDuplicate(err) {
		had, err := s.client.GetCart(ctx, s.opt.StoreID, want.ID)
		if err != nil {
			return "", err
		}
		note, err := s.patch(ctx, want, had.Lines, minimal)
		return "mailchimp: POST " + storeRoute + "/carts → 400 (Mailchimp holds the cart already); " + strings.TrimPrefix(note, "mailchimp: "), err
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("mailchimp: POST %s/carts → 200 (cart %s, %s %s, %d lines)", storeRoute, want.ID, want.OrderTotal, want.CurrencyCode, len(want.Lines)), nil
}

// patch brings the held cart, whose lines are had, to want: a PATCH of
// everything but its customer, then a DELETE of each line it no longer
// has (404 counts as done).
func (s *CartSync) patch(ctx context.Context, want Cart, had []Line, minimal map[ProductRef]Variant) (string, error) {
	p := Cart{CheckoutURL: want.CheckoutURL, CurrencyCode: want.CurrencyCode, OrderTotal: want.OrderTotal, Lines: want.Lines}
	err := s.retryLines(ctx, want.Lines, minimal, func() error { return s.client.PatchCart(ctx, s.opt.StoreID, want.ID, p) })
	if IsNotFound(err) {
		note, err := s.create(ctx, want, minimal)
		return "mailchimp: PATCH " + cartRoute + " → 404 (the cart was deleted inside Mailchimp: created again); " + strings.TrimPrefix(note, "mailchimp: "), err
	}
	if err != nil {
		return "", err
	}
	notes := []string{fmt.Sprintf("mailchimp: PATCH %s → 200 (%s %s, %d lines)", cartRoute, want.OrderTotal, want.CurrencyCode, len(want.Lines))}
	for _, l := range had {
		if slices.ContainsFunc(want.Lines, func(n Line) bool { return n.ID == l.ID }) {
			continue
		}
		err := s.client.DeleteCartLine(ctx, s.opt.StoreID, want.ID, l.ID)
		if err != nil && !IsNotFound(err) {
			return strings.Join(notes, "; "), err
		}
		notes = append(notes, "DELETE "+cartRoute+"/lines/{line_id} → "+gone(err, "204 (line "+l.ID+" removed)"))
	}
	return strings.Join(notes, "; "), nil
}

// CartClosed deletes Mailchimp's copy of cart c, so its abandoned-cart
// automation never emails it; a cart Mailchimp no longer holds (404)
// counts as deleted.
func (s *CartSync) CartClosed(ctx context.Context, c *synclayer.Cart, reason string, _ json.RawMessage) (string, error) {
	err := s.client.DeleteCart(ctx, s.opt.StoreID, c.ID)
	if err != nil && !IsNotFound(err) {
		return "", err
	}
	if IsNotFound(err) {
		return "mailchimp: DELETE " + cartRoute + " → 404 (Mailchimp holds the cart no more; " + reason + ")", nil
	}
	return "mailchimp: DELETE " + cartRoute + " → 204 (cart " + c.ID + " removed: " + reason + ")", nil
}

// CartStarted is CartChanged for a cart whose Mailchimp copy is not known:
// created, or updated when Mailchimp holds it. The shared skill calls
// CartChanged instead, which knows the copy and skips an unchanged cart.
func (s *CartSync) CartStarted(ctx context.Context, c *synclayer.Cart, ct *synclayer.Contact, _ string) (string, any, error) {
	summary, _, sent, err := s.CartChanged(ctx, c, ct, nil)
	return summary, sent, err
}

// Abandoned sends nothing: Mailchimp's automation judges the carts it
// holds, which CartChanged keeps current, and a second signal would have
// nothing to say. The shared skill never calls it on a CartMirror.
func (s *CartSync) Abandoned(context.Context, *synclayer.Cart, *synclayer.Contact, string, time.Time) (string, any, error) {
	return "mailchimp: no call (Mailchimp's abandoned-cart automation judges the cart it holds)", nil, nil
}

// PlanStarted is what CartChanged sends for cart c when Mailchimp holds
// no copy, for dry runs: each line's variant made sure of (a PUT, made
// only when a read finds it missing) and the cart's POST. A buyer without
// an email Mailchimp accepts plans nothing.
func (s *CartSync) PlanStarted(c *synclayer.Cart, ct *synclayer.Contact, _ string) ([]synclayer.PlannedCall, error) {
	cust, err := customer(ct)
	if err != nil {
		return nil, nil
	}
	want, refs, minimal := s.cart(c, cust)
	calls := ensureCalls(s.opt.StoreID, refs, minimal)
	return append(calls, synclayer.PlannedCall{Method: "POST", Path: storePath(s.opt.StoreID) + "/carts", Body: want}), nil
}

// PlanChanged is what CartChanged would send for cart c of contact ct,
// given what Mailchimp holds, for dry runs: nothing for a copy held as it
// is, a PATCH (and a DELETE per line it lost) for one that changed, a
// DELETE then a POST for a cart that changed hands, the POST of
// PlanStarted for a cart Mailchimp does not hold; the lines' variants not
// made sure of before come first.
func (s *CartSync) PlanChanged(c *synclayer.Cart, ct *synclayer.Contact, held json.RawMessage) ([]synclayer.PlannedCall, error) {
	prev, err := decodeCartState(held)
	if err != nil {
		return nil, synclayer.Permanent(err)
	}
	cust, err := customer(ct)
	if err != nil {
		return s.PlanClosed(c, held), nil
	}
	want, refs, minimal := s.cart(c, cust)
	var known []ProductRef
	var calls []synclayer.PlannedCall
	if prev != nil {
		known = prev.Products
		switch {
		case prev.Cart.Customer.ID != cust.ID:
			calls, prev = s.PlanClosed(c, held), nil
		case sameCart(prev.Cart, &want):
			return nil, nil
		}
	}
	calls = append(calls, ensureCalls(s.opt.StoreID, missing(refs, known), minimal)...)
	if prev == nil {
		return append(calls, synclayer.PlannedCall{Method: "POST", Path: storePath(s.opt.StoreID) + "/carts", Body: want}), nil
	}
	path := storePath(s.opt.StoreID) + "/carts/" + url.PathEscape(c.ID)
	calls = append(calls, synclayer.PlannedCall{Method: "PATCH", Path: path,
		Body: Cart{CheckoutURL: want.CheckoutURL, CurrencyCode: want.CurrencyCode, OrderTotal: want.OrderTotal, Lines: want.Lines}})
	for _, l := range prev.Cart.Lines {
		if !slices.ContainsFunc(want.Lines, func(n Line) bool { return n.ID == l.ID }) {
			calls = append(calls, synclayer.PlannedCall{Method: "DELETE", Path: path + "/lines/" + url.PathEscape(l.ID)})
		}
	}
	return calls, nil
}

// PlanClosed is CartClosed's DELETE when Mailchimp holds a copy.
func (s *CartSync) PlanClosed(c *synclayer.Cart, held json.RawMessage) []synclayer.PlannedCall {
	if prev, err := decodeCartState(held); err != nil || prev == nil {
		return nil
	}
	return []synclayer.PlannedCall{{Method: "DELETE", Path: storePath(s.opt.StoreID) + "/carts/" + url.PathEscape(c.ID)}}
}

// PlanAbandoned plans nothing: an abandonment sends Mailchimp nothing.
func (s *CartSync) PlanAbandoned(*synclayer.Cart, *synclayer.Contact, string, time.Time) ([]synclayer.PlannedCall, error) {
	return nil, nil
}

// sameCart reports whether Mailchimp holding had needs no call to hold
// want; customers are compared apart.
func sameCart(had, want *Cart) bool {
	return had.CheckoutURL == want.CheckoutURL && had.CurrencyCode == want.CurrencyCode &&
		had.OrderTotal.String() == want.OrderTotal.String() && slices.EqualFunc(had.Lines, want.Lines, sameLine)
}
