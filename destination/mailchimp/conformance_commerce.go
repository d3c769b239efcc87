package mailchimp

import (
	"net/http"
	"strings"

	"synclayer/destination/conformance"
	"synclayer/destination/mailchimp/mailchimpsim"
)

// SimulatorStore is the store the conformance suite's commerce skills
// use in the built-in simulator; Prepare creates it.
const SimulatorStore = "synclayer-sim"

var _ conformance.CommerceTarget = simTarget{}

func (t simTarget) CommerceOptions() map[string]any {
	return map[string]any{"store_id": SimulatorStore, "audience_id": SimulatorAudience}
}

// Order is the store's order id: its order_total, and whether its
// financial status is cancelled.
func (t simTarget) Order(id string) *conformance.Order {
	for _, o := range t.s.Orders(SimulatorStore) {
		if o.ID == id {
			return &conformance.Order{Amount: o.OrderTotal.String(), Cancelled: o.FinancialStatus == FinancialCancelled}
		}
	}
	return nil
}

// Product is the title of product id, or of the variant id.
func (t simTarget) Product(id string) string {
	for _, p := range t.s.Products(SimulatorStore) {
		if p.ID == id {
			return p.Title
		}
		for _, v := range p.Variants {
			if v.ID == id {
				return v.Title
			}
		}
	}
	return ""
}

// Abandonments is 1 while the store holds cart id, left for Mailchimp's
// own abandoned-cart automation, and 0 when it holds none: Mailchimp
// mirrors each cart as it changes (one cart however often it changed)
// and deletes it once it converts, so the cart it holds is the one
// signal its automation gets.
func (t simTarget) Abandonments(cartID string) int {
	for _, k := range t.s.Carts(SimulatorStore) {
		if k.ID == cartID {
			return 1
		}
	}
	return 0
}

// CommerceWrites counts the requests that wrote orders, products or carts.
func (t simTarget) CommerceWrites() int {
	n := 0
	for _, c := range t.s.Calls() {
		if c.Method != http.MethodGet && isCommercePath(c) {
			n++
		}
	}
	return n
}

func isCommercePath(c mailchimpsim.Call) bool {
	return strings.Contains(c.Path, "/orders") || strings.Contains(c.Path, "/products") || strings.Contains(c.Path, "/carts")
}
