package klaviyo_test

import (
	"context"
	"testing"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

func abandonedCart() *synclayer.Cart {
	return &synclayer.Cart{ID: "shopify:tok1", Source: "shopify", SourceID: "tok1", ContactID: "01CONTACT1", Currency: "EUR",
		Total: synclayer.MustMoney("59.97"), RecoveryURL: "https://shop.example/recover/tok1", UpdatedAt: t0, ChangedAt: t0,
		Items: []synclayer.OrderItem{{ProductID: "shopify:p1", Name: "Tee", Price: synclayer.MustMoney("19.99"), Quantity: 3}}}
}

func TestCartSync_Abandoned(t *testing.T) {
	e, d := commerce(t, klaviyosim.Options{})
	cs, err := d.CartSync(synclayer.SkillConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const key = "shopify:tok1@1782900000000000"
	at := t0.Add(3600e9)
	summary, sent, err := cs.Abandoned(context.Background(), abandonedCart(), buyer(), key, at)
	if err != nil || summary == "" || sent == nil {
		t.Fatalf("Abandoned = %q, %v, %v", summary, sent, err)
	}
	evs := e.sim.EventsNamed(klaviyo.MetricAbandonedCheckout)
	if len(evs) != 1 {
		t.Fatalf("%d Abandoned Checkout events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.UniqueID != key || ev.Value != "59.97" || ev.PropertyJSON("CheckoutURL") != `"https://shop.example/recover/tok1"` ||
		ev.PropertyJSON("CartId") != `"shopify:tok1"` || ev.PropertyJSON("Total") != "59.97" || !ev.Time.Equal(at) {
		t.Errorf("event %+v", ev)
	}

	// A retry after a lost answer: Klaviyo records the unique_id once.
	if _, _, err := cs.Abandoned(context.Background(), abandonedCart(), buyer(), key, at); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.EventsNamed(klaviyo.MetricAbandonedCheckout)); n != 1 || e.sim.CallCount("POST", "/api/events") != 2 {
		t.Fatalf("%d events from %d calls, want 1 from 2", n, e.sim.CallCount("POST", "/api/events"))
	}
	if p, _ := e.sim.Profile("ann@example.com"); p.EmailConsent != "NEVER_SUBSCRIBED" {
		t.Errorf("consent %s, want untouched", p.EmailConsent)
	}

	if _, _, err := cs.Abandoned(context.Background(), abandonedCart(), &synclayer.Contact{ID: "x"}, key, at); kind(err) != "permanent" {
		t.Errorf("no email: err %v, want permanent", err)
	}
	e.sim.SetOutage(klaviyosim.Outage500)
	if _, _, err := cs.Abandoned(context.Background(), abandonedCart(), buyer(), "k2", at); kind(err) != "retryable" {
		t.Errorf("outage: err %v, want retryable", err)
	}
}
