package main

import (
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/hubspot"
)

// withHubSpotDeals runs order-events on HubSpot beside Brevo, and maps
// the contact's company to HubSpot.
func withHubSpotDeals() envOption {
	return func(c *Config) {
		withHubSpot(false)(c)
		c.Skills.CustomerSync.Destinations["hubspot"] = &CustomerSyncTarget{FieldMapping: map[string]string{
			"email": "email", "firstName": "firstname", "lastName": "lastname", "company": "company", "lifecycleStage": hubspot.PropertyLifecycleStage}}
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: StringList{"shopify"},
			Destinations: map[string]*SkillTarget{"brevo": {}, "hubspot": {}}}
	}
}

// TestHubSpot_OrderMakesContactCompanyAndDeal: a Shopify customer of a
// company places a paid order: HubSpot gets one contact (a customer),
// one company and one won deal, the three associated; the order
// delivered again creates nothing more; cancelled, the deal is lost.
func TestHubSpot_OrderMakesContactCompanyAndDeal(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withHubSpotDeals())
	sim := e.hubspotSim()
	customer := shopifyCustomer(4001, "buyer@acme.example", "Bo", 0, "subscribed", 0)
	customer["default_address"] = map[string]any{"company": "Acme  Inc", "city": "Paris"}
	e.mustAccept(e.shopify("customers/create", customer))
	order := shopifyOrder(5001, 4001, "buyer@acme.example", 1, "398.00")
	order["customer"].(map[string]any)["default_address"] = map[string]any{"company": "Acme Inc"}
	for range 2 {
		e.mustAccept(e.shopify("orders/create", order))
	}
	e.waitIdle(20 * time.Second)

	c, ok := sim.Contact("buyer@acme.example")
	if !ok || c.Properties[hubspot.PropertyLifecycleStage] != "customer" || !strings.HasPrefix(c.Properties["company"], "Acme") {
		t.Fatalf("HubSpot contact %+v, want a customer of Acme Inc", c)
	}
	companies, deals := sim.Records("companies"), sim.Records("deals")
	if len(companies) != 1 || companies[0].Properties["name"] != "Acme Inc" {
		t.Fatalf("companies %+v, want one Acme Inc", companies)
	}
	if len(deals) != 1 || deals[0].Properties["dealstage"] != "closedwon" || deals[0].Properties["amount"] != "398.00" ||
		deals[0].Properties["dealname"] != "Order #5001" || deals[0].Properties["deal_currency_code"] != "USD" {
		t.Fatalf("deals %+v, want one won deal of 398.00 USD", deals)
	}
	deal, company := deals[0].ID, companies[0].ID
	if !sim.Associated("deals", deal, "contacts", c.ID) || !sim.Associated("deals", deal, "companies", company) || !sim.Associated("contacts", c.ID, "companies", company) {
		t.Errorf("associations: deal-contact %v, deal-company %v, contact-company %v; want all", sim.Associated("deals", deal, "contacts", c.ID),
			sim.Associated("deals", deal, "companies", company), sim.Associated("contacts", c.ID, "companies", company))
	}
	n := sim.Associations()

	// The same order delivered again under another webhook id.
	e.mustAccept(e.shopify("orders/create", order))
	e.waitIdle(15 * time.Second)
	if len(sim.Records("deals")) != 1 || len(sim.Records("companies")) != 1 || sim.Associations() != n {
		t.Errorf("after a redelivery: %d deals, %d companies, %d associations; want 1, 1, %d", len(sim.Records("deals")), len(sim.Records("companies")), sim.Associations(), n)
	}

	cancelled := shopifyOrder(5001, 4001, "buyer@acme.example", 2, "398.00")
	cancelled["cancelled_at"] = ts(2)
	e.mustAccept(e.shopify("orders/cancelled", cancelled))
	e.waitIdle(15 * time.Second)
	if deals := sim.Records("deals"); len(deals) != 1 || deals[0].Properties["dealstage"] != "closedlost" {
		t.Errorf("after the cancellation: %+v, want the one deal lost", deals)
	}
}
