package mailchimp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// CartSync is cart-events' Mailchimp side. A cart reaches Mailchimp only
// once synclayer judges it abandoned (not on every change): Abandoned
// puts it in the store with its checkout_url, and Mailchimp's own
// abandoned-cart automation then decides when to email the buyer.
type CartSync struct{ *commerce }

var _ synclayer.CartSync = (*CartSync)(nil)

// NewCartSync is CartSync for a client of one's own. Errors name
// options.<key>.
func NewCartSync(c *Client, cfg synclayer.SkillConfig) (*CartSync, error) {
	m, err := newCommerce(c, cfg)
	if err != nil {
		return nil, err
	}
	return &CartSync{m}, nil
}

// Abandoned puts cart c of contact ct in the store: the lines' products
// are made sure of, then the cart is created (POST) with its customer
// (opt_in_status false), checkout_url (the cart's recovery URL), lines,
// order_total and currency. A cart Mailchimp already holds (an earlier
// abandonment of it, or a retry after a lost answer) is updated instead
// (PATCH, and a DELETE of each line it no longer has), so a retry counts
// once: the cart's ID is Mailchimp's key, and key is not needed. A contact
// without an email Mailchimp accepts sends nothing.
func (s *CartSync) Abandoned(ctx context.Context, c *synclayer.Cart, ct *synclayer.Contact, _ string, _ time.Time) (string, any, error) {
	cust, err := customer(ct)
	if err != nil {
		return "mailchimp: no call (Mailchimp needs the buyer's email for a cart, and " + err.Error() + ")", nil, nil
	}
	ls, refs, minimal := lines(c.Items)
	body := Cart{ID: c.ID, Customer: cust, CheckoutURL: c.RecoveryURL, CurrencyCode: firstNonEmpty(c.Currency, s.opt.Currency),
		OrderTotal: money(c.Total), Lines: ls}
	notes, err := s.ensureAll(ctx, refs, minimal)
	if err != nil {
		return strings.Join(notes, "; "), nil, err
	}
	if c.RecoveryURL == "" {
		notes = append(notes, "mailchimp: the cart has no recovery URL, which Mailchimp's abandoned-cart emails need as checkout_url")
	}
	write := func() error { return s.client.CreateCart(ctx, s.opt.StoreID, body) }
	err = write()
	if IsMissingProduct(err) { // deleted inside Mailchimp between the read and the write
		if _, err = s.ensureAll(ctx, refs, minimal); err == nil {
			err = write()
		}
	}
	switch {
	case IsDuplicate(err):
		note, err := s.update(ctx, body)
		notes = append(notes, note)
		if err != nil {
			return strings.Join(notes, "; "), nil, err
		}
	case err != nil:
		return strings.Join(notes, "; "), nil, err
	default:
		notes = append(notes, fmt.Sprintf("mailchimp: POST %s/carts → 200 (cart %s, %s %s, %d lines)", storeRoute, c.ID, body.OrderTotal, body.CurrencyCode, len(ls)))
	}
	return strings.Join(notes, "; "), body, nil
}

// update brings a cart Mailchimp holds to body.
func (s *CartSync) update(ctx context.Context, body Cart) (string, error) {
	had, err := s.client.GetCart(ctx, s.opt.StoreID, body.ID)
	if err != nil {
		return "", err
	}
	patch := Cart{CheckoutURL: body.CheckoutURL, CurrencyCode: body.CurrencyCode, OrderTotal: body.OrderTotal, Lines: body.Lines}
	if err := s.client.PatchCart(ctx, s.opt.StoreID, body.ID, patch); err != nil {
		return "", err
	}
	removed := 0
	for _, l := range had.Lines {
		if slices.ContainsFunc(body.Lines, func(n Line) bool { return n.ID == l.ID }) {
			continue
		}
		if err := s.client.DeleteCartLine(ctx, s.opt.StoreID, body.ID, l.ID); err != nil && !IsNotFound(err) {
			return "", err
		}
		removed++
	}
	return fmt.Sprintf("mailchimp: POST %s/carts → 400 (Mailchimp holds the cart already); PATCH %s → 200 (%s %s, %d lines, %d removed)",
		storeRoute, cartRoute, body.OrderTotal, body.CurrencyCode, len(body.Lines), removed), nil
}
