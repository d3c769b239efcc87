package main

import (
	"testing"
	"time"

	"synclayer/destination/klaviyo"
)

// TestCartEvents_KlaviyoStartedCheckout checks that on Klaviyo a cart
// sends one Started Checkout as soon as it is saved, however often it
// changes, and one Abandoned Checkout once it is left behind; a buyer
// without consent gets neither, as require_consent asks.
func TestCartEvents_KlaviyoStartedCheckout(t *testing.T) {
	e := startConformance(t, nil, false, []string{"klaviyo"}, withCommerceOn("klaviyo", nil))
	sim := e.m.destinations["klaviyo"].(*klaviyo.Destination).Simulator()
	e.customer(7001, "buyer@example.com", "Bo", "subscribed", 0)
	e.customer(7002, "quiet@example.com", "Qu", "", 0)
	e.waitIdle(20 * time.Second)

	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-k", 7001, "buyer@example.com", 1, "398.00")))
	e.mustAccept(e.shopify("checkouts/update", shopifyCheckout("tok-k", 7001, "buyer@example.com", 2, "597.00")))
	e.mustAccept(e.shopify("checkouts/create", shopifyCheckout("tok-q", 7002, "quiet@example.com", 1, "398.00")))
	deadline := time.Now().Add(20 * time.Second)
	for len(sim.EventsNamed(klaviyo.MetricAbandonedCheckout)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	e.waitIdle(20 * time.Second)
	count := func(metric, cart string) int {
		n := 0
		for _, ev := range sim.EventsNamed(metric) {
			if ev.Properties["CartId"] == cart {
				n++
			}
		}
		return n
	}
	if n := count(klaviyo.MetricStartedCheckout, "shopify:tok-k"); n != 1 {
		t.Errorf("%d Started Checkout events for a cart saved twice, want 1", n)
	}
	if n := count(klaviyo.MetricAbandonedCheckout, "shopify:tok-k"); n != 1 {
		t.Errorf("%d Abandoned Checkout events, want 1", n)
	}
	if n := count(klaviyo.MetricStartedCheckout, "shopify:tok-q") + count(klaviyo.MetricAbandonedCheckout, "shopify:tok-q"); n != 0 {
		t.Errorf("%d cart events for a buyer without consent, want none", n)
	}
}
