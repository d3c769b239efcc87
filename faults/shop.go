package faults

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The shop side of the run: orders, which a workflow rule turns into a
// Slack message and a signed webhook when they are worth highValue or
// more, and carts, which cart-events turns into one Brevo cart_abandoned
// event per abandonment. Their contacts (shopEmail) are apart from the
// model's, so Compare leaves them to CompareShop.
const (
	abandonAfter    = 2 * time.Second
	ruleName        = "high-value-order"
	highValue       = "500.0"
	orderHookSecret = "whsec_c3luY2xheWVyIGZhdWx0cyBvcmRlciBob29rIDI0Yg=="

	shopContacts = 500000 // order contacts from here
	cartContacts = 550000 // cart contacts from here
)

func shopEmail(n int) string        { return fmt.Sprintf("fault-shop%d@example.com", n) }
func isShopEmail(email string) bool { return strings.HasPrefix(email, "fault-shop") }

// shopOrder is one Shopify order and every delivery made of it.
type shopOrder struct {
	ID      int64
	Contact int
	Total   string
	High    bool     // worth highValue or more: the rule must fire once
	Events  []*Event // each under its own webhook id
}

func (o *shopOrder) key() string { return fmt.Sprintf("shopify:%d", o.ID) }

func orderEvent(o *shopOrder, id, topic string, created, updated time.Time, checkout string) *Event {
	email := shopEmail(o.Contact)
	body := map[string]any{
		"id": o.ID, "name": fmt.Sprintf("#FZ%d", o.ID), "email": email, "currency": "USD", "total_price": o.Total,
		"financial_status": "paid", "fulfillment_status": nil, "cancelled_at": nil, "created_at": stamp(created), "updated_at": stamp(updated),
		"customer":   map[string]any{"id": shopifyID(o.Contact), "email": email},
		"line_items": []any{map[string]any{"id": 1, "product_id": 632910392, "variant_id": 808950810, "sku": "FZ-ORDER", "quantity": 1, "price": o.Total}},
		"refunds":    []any{},
	}
	if checkout != "" {
		body["checkout_token"] = checkout
	}
	return &Event{ID: id, Contact: o.Contact, Source: "shopify", Topic: topic, At: updated, Shop: true, Body: mustJSON(body)}
}

// genOrders makes n orders, half of them high-value (with 500.00 and
// 499.99 among them, the edges of the filter), a fifth by a buyer who
// ordered before, and their deliveries placed in the run: the creation,
// and sometimes its redelivery under the same webhook id, the same
// creation under another webhook id (Shopify may send one event twice),
// and an orders/updated that may arrive first.
func genOrders(rng *rand.Rand, n int, base time.Time) ([]*shopOrder, []Send) {
	var orders []*shopOrder
	var sends []Send
	for i := range n {
		o := &shopOrder{ID: 7700000000 + int64(i), Contact: shopContacts + i, High: i%2 == 0}
		switch {
		case i%10 == 0:
			o.Total = "500.00"
		case i%10 == 1:
			o.Total = "499.99"
		case o.High:
			o.Total = fmt.Sprintf("%.2f", 500.01+rng.Float64()*1500)
		default:
			o.Total = fmt.Sprintf("%.2f", 5+rng.Float64()*490)
		}
		if i > 2 && rng.Float64() < 0.2 {
			o.Contact = orders[rng.IntN(len(orders))].Contact
		}
		created := base.Add(time.Duration(i) * time.Minute)
		pos := rng.Float64() * 0.9
		later := func(spread float64) float64 { return min(max(pos+spread, 0), 1) }
		create := orderEvent(o, fmt.Sprintf("fzo-%d", i), "orders/create", created, created, "")
		o.Events = append(o.Events, create)
		sends = append(sends, Send{Event: create, pos: pos})
		if rng.Float64() < 0.3 {
			sends = append(sends, Send{Event: create, Redelivery: true, pos: later(rng.Float64() * 0.15)})
		}
		if rng.Float64() < 0.3 {
			again := orderEvent(o, fmt.Sprintf("fzo-%d-b", i), "orders/create", created, created, "")
			o.Events = append(o.Events, again)
			sends = append(sends, Send{Event: again, pos: later(rng.Float64() * 0.2)})
		}
		if rng.Float64() < 0.2 {
			upd := orderEvent(o, fmt.Sprintf("fzo-%d-u", i), "orders/updated", created, created.Add(time.Minute), "")
			o.Events = append(o.Events, upd)
			sends = append(sends, Send{Event: upd, pos: later(rng.Float64()*0.25 - 0.05)})
		}
		orders = append(orders, o)
	}
	return orders, sends
}

// cartKind is what a cart's script does to it.
type cartKind int

const (
	cartAbandoned   cartKind = iota // left behind: one event
	cartNoConsent                   // left behind by a contact without consent: none
	cartCompleted                   // checkouts/update with completed_at: none
	cartOrdered                     // an order carrying its checkout_token: none
	cartOrderFirst                  // that order delivered before the checkout: none
	cartChanged                     // abandoned, changed, abandoned again: two
	cartRewaited                    // changed within the wait: one, for the change
	cartRedelivered                 // redelivered, and sent again unchanged after the event: one
	cartCustom                      // custom cart_updated: one with consent, none without
	cartCustomDone                  // custom cart_updated then checkout_completed: none
	cartCustomSaid                  // custom cart_abandoned (no wait), then sent again: one with consent
	numCartKinds
)

var cartKindNames = [numCartKinds]string{"abandoned", "no consent", "completed", "ordered", "order first", "changed again",
	"changed in the wait", "redelivered", "custom", "custom completed", "custom abandoned"}

// shopCart is one cart and, once its script ran, what it must have
// caused.
type shopCart struct {
	Kind    cartKind
	N       int
	Contact int
	Consent bool
	Source  string // shopify or custom
	Token   string // the cart's ID at its source

	Want int // cart_abandoned events (distinct abandonments) expected
	// MayExtra: a conversion or change was acknowledged after the wait
	// could have ended, so one abandonment more is no error.
	MayExtra     bool
	Undetermined bool      // a webhook was never acknowledged; not checked
	LastChange   time.Time // when the change that started the last wait was acknowledged
	Note         string
	Order        *shopOrder // the converting order, for the Slack checks
}

func (c *shopCart) ID() string { return c.Source + ":" + c.Token }

// genCarts makes n carts, the kinds in turn; every other custom cart's
// contact has no consent.
func genCarts(n int) []*shopCart {
	carts := make([]*shopCart, n)
	for i := range carts {
		k := cartKind(i % int(numCartKinds))
		c := &shopCart{Kind: k, N: i, Contact: cartContacts + i, Consent: true, Source: "shopify", Token: fmt.Sprintf("fzck-%d", i)}
		switch k {
		case cartNoConsent:
			c.Consent = false
		case cartCustom, cartCustomDone, cartCustomSaid:
			c.Source, c.Token = "custom", fmt.Sprintf("fzc-%d", i)
			c.Consent = (i/int(numCartKinds))%2 == 0
		}
		carts[i] = c
	}
	return carts
}

// shopCustomer is the customers/create that makes a cart's contact, with
// or without email marketing consent.
func shopCustomer(n int, consent bool, at time.Time) *Event {
	body := map[string]any{"id": shopifyID(n), "email": shopEmail(n), "first_name": "Shop", "last_name": fmt.Sprint(n),
		"state": "enabled", "verified_email": true, "currency": "USD", "created_at": stamp(at), "updated_at": stamp(at)}
	if consent {
		body["email_marketing_consent"] = map[string]any{"state": optIn, "opt_in_level": "single_opt_in", "consent_updated_at": stamp(at)}
	}
	return &Event{ID: fmt.Sprintf("fzs-%d", n), Contact: n, Source: "shopify", Topic: "customers/create", At: at, Shop: true, Body: mustJSON(body)}
}

// price is the cart's unit price; qty units make its total, so two
// versions with different quantities have different totals, which is
// how the checks tell their abandonments apart.
func (c *shopCart) price() int { return 20 + c.N%60 }

// version is the k-th webhook about the cart: its contents with qty
// units, as of updated; completed adds completed_at (Shopify).
func (c *shopCart) version(k int, updated time.Time, qty int, completed bool) *Event {
	if c.Source == "custom" {
		return c.custom(k, "cart_updated", updated, qty)
	}
	email := shopEmail(c.Contact)
	total := fmt.Sprintf("%d.00", c.price()*qty)
	var done any
	topic := "checkouts/update"
	if k == 1 {
		topic = "checkouts/create"
	}
	if completed {
		done = stamp(updated)
	}
	body := map[string]any{"id": 9100000000 + int64(c.N), "token": c.Token, "cart_token": "cart-" + c.Token, "email": email, "currency": "USD",
		"total_price": total, "abandoned_checkout_url": "https://faults.myshopify.com/checkouts/" + c.Token + "/recover",
		"created_at": stamp(updated.Add(-time.Duration(k) * time.Minute)), "updated_at": stamp(updated), "completed_at": done,
		"customer": map[string]any{"id": shopifyID(c.Contact), "email": email},
		"line_items": []any{map[string]any{"product_id": 632910392, "variant_id": 808950810, "sku": "FZ-TEE", "title": "Fault tee",
			"quantity": qty, "price": fmt.Sprintf("%d.00", c.price())}}}
	return &Event{ID: fmt.Sprintf("fzk-%d-%d", c.N, k), Contact: c.Contact, Source: "shopify", Topic: topic, At: updated, Shop: true, Body: mustJSON(body)}
}

// custom is the k-th custom-source event about the cart: cart_updated,
// or cart_abandoned, the platform's word that it is abandoned now.
func (c *shopCart) custom(k int, event string, updated time.Time, qty int) *Event {
	email := shopEmail(c.Contact)
	total := fmt.Sprintf("%d.00", c.price()*qty)
	data := map[string]any{"cart_id": c.Token, "email": email, "currency": "EUR", "total": total,
		"recovery_url": "https://shop.example/cart/" + c.Token, "updated_at": stamp(updated),
		"items": []any{map[string]any{"product_id": "fz-tee", "variant_id": "fz-tee-red", "sku": "FZ-TEE", "price": fmt.Sprintf("%d.00", c.price()), "quantity": qty}}}
	return &Event{ID: fmt.Sprintf("msg_fzc_%d_%d", c.N, k), Contact: c.Contact, Source: "custom", Topic: event, At: updated, Shop: true,
		Body: mustJSON(map[string]any{"event": event, "timestamp": stamp(updated), "data": data})}
}

// checkoutCompleted is the custom source's word that the cart became an
// order.
func (c *shopCart) checkoutCompleted(at time.Time) *Event {
	data := map[string]any{"cart_id": c.Token, "order_id": fmt.Sprintf("W-%d", c.N), "completed_at": stamp(at)}
	return &Event{ID: fmt.Sprintf("msg_fzc_%d_done", c.N), Contact: c.Contact, Source: "custom", Topic: "checkout_completed", At: at, Shop: true,
		Body: mustJSON(map[string]any{"event": "checkout_completed", "timestamp": stamp(at), "data": data})}
}

// order is the order placed from the cart: its checkout_token names the
// cart, its total is the cart's (below highValue, so no Slack message).
func (c *shopCart) order(at time.Time) *Event {
	o := &shopOrder{ID: 7800000000 + int64(c.N), Contact: c.Contact, Total: fmt.Sprintf("%d.00", c.price())}
	c.Order = o
	ev := orderEvent(o, fmt.Sprintf("fzko-%d", c.N), "orders/create", at, at, c.Token)
	o.Events = append(o.Events, ev)
	return ev
}
