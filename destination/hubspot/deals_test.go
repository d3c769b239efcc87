package hubspot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
)

func dealSync(tb testing.TB, c *hubspot.Client, opts string) synclayer.OrderSync {
	tb.Helper()
	d, err := hubspot.Open("hubspot", json.RawMessage(`{"access_token":"pat-test"}`), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatal(err)
	}
	*d.(*hubspot.Destination).Client() = *c
	s, err := d.(synclayer.OrderDestination).OrderSync(synclayer.SkillConfig{Options: json.RawMessage(opts)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func order(status synclayer.OrderStatus, at time.Time) *synclayer.Order {
	return &synclayer.Order{ID: "shopify:5001", SourceID: "5001", Number: "#5001", Status: status, Currency: "EUR",
		Total: synclayer.MustMoney("120.50"), CreatedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), UpdatedAt: at}
}

func applyDeal(tb testing.TB, s synclayer.OrderSync, o *synclayer.Order, c *synclayer.Contact, prev json.RawMessage) (*synclayer.Plan, json.RawMessage) {
	tb.Helper()
	plan, err := s.Plan(o, c, prev)
	if err != nil {
		tb.Fatal(err)
	}
	if plan.Op != synclayer.PlanNone {
		if _, err := s.Apply(context.Background(), o, c, plan); err != nil {
			tb.Fatal(err)
		}
	}
	return plan, plan.Next
}

// TestDeals: an order is one deal keyed by the order, every request
// held to HubSpot's specs; its stage follows the order; a deal as held
// plans nothing; stages and the pipeline come from the options, and a
// mistake in them names the option.
func TestDeals(t *testing.T) {
	sim, client := mustSim(t, hubspotsim.Options{})
	s := dealSync(t, client, `{"deal_stages": {"won": "contractsent"}, "pipeline": "default"}`)
	c := contact("ann@example.com", "Ann", synclayer.ConsentSubscribed)
	c.Fields[synclayer.FieldCompany] = synclayer.Field{Value: json.RawMessage(`"Acme Inc"`)}
	at := time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)
	_, st := applyDeal(t, s, order(synclayer.OrderPaid, at), c, nil)
	deals := sim.Records("deals")
	if len(deals) != 1 || deals[0].Properties["dealstage"] != "contractsent" || deals[0].Properties["amount"] != "120.50" ||
		deals[0].Properties[hubspot.DealOrderProperty] != "shopify:5001" {
		t.Fatalf("deals %+v", deals)
	}
	ct, _ := sim.Contact("ann@example.com")
	comp := sim.Records("companies")
	if len(comp) != 1 || !sim.Associated("deals", deals[0].ID, "contacts", ct.ID) || !sim.Associated("deals", deals[0].ID, "companies", comp[0].ID) {
		t.Errorf("associations of the deal: contact %v, company %v", sim.Associated("deals", deals[0].ID, "contacts", ct.ID), len(comp))
	}
	if plan, _ := applyDeal(t, s, order(synclayer.OrderPaid, at), c, st); plan.Op != synclayer.PlanNone {
		t.Errorf("the same order again: %s %v, want nothing", plan.Op, plan.Calls)
	}
	_, _ = applyDeal(t, s, order(synclayer.OrderRefunded, at.Add(time.Hour)), c, st)
	if deals := sim.Records("deals"); len(deals) != 1 || deals[0].Properties["dealstage"] != "closedlost" {
		t.Errorf("refunded: %+v, want the deal lost", deals)
	}

	for opts, field := range map[string]string{`{"deals": "sometimes"}`: "options.deals", `{"deal_stages": {"maybe": "x"}}`: "options.deal_stages.maybe", `{"colour": 1}`: "options.colour"} {
		d, _ := hubspot.Open("hubspot", json.RawMessage(`{"access_token":"pat-test"}`), synclayer.DestinationEnv{})
		if _, err := d.(synclayer.OrderDestination).OrderSync(synclayer.SkillConfig{Options: json.RawMessage(opts)}); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", opts, err, field)
		}
	}
}

// TestDeals_FirstOrder: with deals: first_order only the contact's first
// order becomes a deal.
func TestDeals_FirstOrder(t *testing.T) {
	sim, client := mustSim(t, hubspotsim.Options{})
	s := dealSync(t, client, `{"deals": "first_order"}`)
	c := contact("bo@example.com", "Bo", synclayer.ConsentSubscribed)
	c.Fields[synclayer.FieldFirstOrderDate] = synclayer.Field{Value: json.RawMessage(`"2026-11-01T09:00:00Z"`)}
	if plan, _ := applyDeal(t, s, order(synclayer.OrderPaid, time.Now()), c, nil); plan.Op != synclayer.PlanNone || !strings.Contains(plan.Reason, "first order") {
		t.Errorf("a later order: %s (%s), want nothing", plan.Op, plan.Reason)
	}
	c.Fields[synclayer.FieldFirstOrderDate] = synclayer.Field{Value: json.RawMessage(`"2026-11-20T10:00:00Z"`)}
	applyDeal(t, s, order(synclayer.OrderPaid, time.Now()), c, nil)
	if len(sim.Records("deals")) != 1 {
		t.Errorf("the first order: %d deals, want 1", len(sim.Records("deals")))
	}
}
