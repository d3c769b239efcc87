package mailchimp

import (
	"encoding/json"
	"net/http"
	"net/url"
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

// Abandonments counts the times cart id was pushed: each POST that
// created it and each PATCH that updated it.
func (t simTarget) Abandonments(cartID string) int {
	n := 0
	carts := "/ecommerce/stores/" + url.PathEscape(SimulatorStore) + "/carts"
	for _, c := range t.s.Calls() {
		if c.Status != http.StatusOK {
			continue
		}
		switch {
		case c.Method == http.MethodPost && c.Path == carts:
			var body struct{ ID string }
			if json.Unmarshal(c.Body, &body) == nil && body.ID == cartID {
				n++
			}
		case c.Method == http.MethodPatch && c.Path == carts+"/"+url.PathEscape(cartID):
			n++
		}
	}
	return n
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
