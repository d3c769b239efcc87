package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
	"synclayer/destination/pipedrive/pipedrivespec"
	"synclayer/destination/simkit"
)

const pipedriveHookUser, pipedriveHookPass = "synclayer", "e2e-webhook-password-0123456789"

// withPipedriveDeals runs customer-sync and order-events on Pipedrive's
// built-in simulator beside Brevo, with Pipedrive's webhook back.
func withPipedriveDeals() envOption {
	return func(c *Config) {
		c.Destinations["pipedrive"] = &DestinationSection{Settings: map[string]any{
			"webhook": map[string]any{"username": pipedriveHookUser, "password": pipedriveHookPass}}}
		cs := c.Skills.CustomerSync
		cs.Destinations = map[string]*CustomerSyncTarget{"brevo": {Options: map[string]any{"list_id": 5}}, "pipedrive": {}}
		cs.Options.Extra = nil
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: StringList{"shopify"},
			Destinations: map[string]*SkillTarget{"brevo": {}, "pipedrive": {}}}
	}
}

// pipedriveSim returns the running Pipedrive simulator, validating every
// later request against Pipedrive's spec.
func (e *env) pipedriveSim() *pipedrivesim.Server {
	e.t.Helper()
	sim := e.m.destinations["pipedrive"].(*pipedrive.Destination).Simulator()
	sim.SetValidate(pipedrivespec.Load(e.t).Validate)
	e.t.Cleanup(func() {
		for _, v := range sim.Violations() {
			e.t.Errorf("request violates Pipedrive's spec: %s", v)
		}
	})
	return sim
}

// TestPipedrive_OrderMakesPersonOrganizationAndDeal: a Shopify customer
// of a company places a paid order: Pipedrive gets one person, one
// organization and one won deal, linked; the order delivered again
// creates nothing more. Then an owner change made in Pipedrive comes
// back through its webhook, and a webhook with wrong credentials is 401.
func TestPipedrive_OrderMakesPersonOrganizationAndDeal(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withPipedriveDeals())
	sim := e.pipedriveSim()
	customer := shopifyCustomer(4001, "buyer@acme.example", "Bo", 0, "subscribed", 0)
	customer["default_address"] = map[string]any{"company": "Acme  Inc", "city": "Paris"}
	e.mustAccept(e.shopify("customers/create", customer))
	order := shopifyOrder(5001, 4001, "buyer@acme.example", 1, "398.00")
	order["customer"].(map[string]any)["default_address"] = map[string]any{"company": "Acme Inc"}
	for range 2 {
		e.mustAccept(e.shopify("orders/create", order))
	}
	e.waitIdle(20 * time.Second)

	check := func(when string) {
		t.Helper()
		p, ok := sim.Person("buyer@acme.example")
		orgs, deals := sim.Organizations(), sim.Deals()
		if !ok || p.IsDeleted || len(orgs) != 1 || orgs[0].Name != "Acme Inc" || len(deals) != 1 {
			t.Fatalf("%s: person %v, organizations %+v, deals %+v; want one of each, the organization Acme Inc", when, ok, orgs, deals)
		}
		d := deals[0]
		if d.Title != "Order #5001" || d.Value != 398 || d.Currency != "USD" || d.Status != "won" {
			t.Errorf("%s: deal %+v, want Order #5001 won, 398 USD", when, d)
		}
		if p.OrgID == nil || *p.OrgID != orgs[0].ID || d.PersonID == nil || *d.PersonID != p.ID || d.OrgID == nil || *d.OrgID != orgs[0].ID {
			t.Errorf("%s: links person→org %v, deal→person %v, deal→org %v; want person %d and org %d", when, p.OrgID, d.PersonID, d.OrgID, p.ID, orgs[0].ID)
		}
	}
	check("after the order")
	writes := sim.Count(func(c simkit.Call) bool { return c.Method != http.MethodGet })

	e.mustAccept(e.shopify("orders/create", order))
	e.mustAccept(e.shopify("customers/update", customer))
	e.waitIdle(15 * time.Second)
	check("after a redelivery")
	if n := sim.Count(func(c simkit.Call) bool { return c.Method != http.MethodGet }); n != writes {
		t.Errorf("a redelivery made %d more writes", n-writes)
	}

	// Pipedrive's webhook: registered by synclayer at start.
	deadline := time.Now().Add(10 * time.Second)
	for len(sim.Webhooks()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if hooks := sim.Webhooks(); len(hooks) != 1 || hooks[0].HTTPAuthUser != pipedriveHookUser {
		t.Fatalf("webhooks %+v, want synclayer's one", hooks)
	}
	sim.AddUser(pipedrivesim.User{ID: 7, Name: "Jane Seller", Email: "jane@shop.example", ActiveFlag: true})
	if err := sim.ChangePersonInPipedrive(context.Background(), "buyer@acme.example", func(p *pipedrivesim.Person) { p.OwnerID = 7 }); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(15 * time.Second)
	if got := string(e.canonical("buyer@acme.example").Value(synclayer.FieldOwner)); got != `"7"` {
		t.Errorf("owner %s, want Pipedrive's 7", got)
	}

	body := []byte(`{"meta":{"action":"change","entity":"person","entity_id":"1","id":"forged","version":"2.0"},"data":{"owner_id":9},"previous":{"owner_id":7}}`)
	req, _ := http.NewRequest("POST", "/", nil)
	req.SetBasicAuth(pipedriveHookUser, "guessed")
	if status, _ := e.post("/webhooks/pipedrive", body, http.Header{"Authorization": req.Header["Authorization"], "Content-Type": {"application/json"}}); status != http.StatusUnauthorized {
		t.Errorf("wrong credentials: %d, want 401", status)
	}
	if status, _ := e.post("/webhooks/pipedrive", body, http.Header{"Content-Type": {"application/json"}}); status != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", status)
	}
}

// TestPipedrive_Conformance runs the destination conformance suite on
// Pipedrive alone, on SQLite, so a change here is tried without the
// whole suite.
func TestPipedrive_Conformance(t *testing.T) {
	t.Parallel()
	runConformance(t, "pipedrive", func() envOption { return nil })
}
