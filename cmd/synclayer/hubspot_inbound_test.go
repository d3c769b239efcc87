package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
)

const hubspotClientSecret = "hs-client-secret-0123456789"

// withHubSpot adds a hubspot destination (its built-in simulator, with a
// webhook) beside Brevo, both on customer-sync, Brevo mapping
// lifecycleStage to LIFECYCLE_STAGE, and order-events on Brevo;
// crmOwnsStage gives lifecycleStage to hubspot under fields:.
func withHubSpot(crmOwnsStage bool) envOption {
	return func(c *Config) {
		c.Destinations["hubspot"] = &DestinationSection{Settings: map[string]any{"webhook": map[string]any{"client_secret": hubspotClientSecret}}}
		mapping := maps.Clone(brevo.DefaultMapping)
		mapping[synclayer.FieldLifecycleStage] = "LIFECYCLE_STAGE"
		cs := c.Skills.CustomerSync
		cs.Destinations = map[string]*CustomerSyncTarget{
			"brevo":   {FieldMapping: mapping, Options: map[string]any{"list_id": 5}},
			"hubspot": {},
		}
		cs.Options.Extra = nil
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: StringList{"shopify"}, Destination: "brevo"}
		if crmOwnsStage {
			c.Fields = map[string]*FieldConfig{synclayer.FieldLifecycleStage: {Owner: StringList{"hubspot"}}}
		}
	}
}

// hubspotSim returns the running HubSpot simulator, its webhook pointed
// at the server.
func (e *env) hubspotSim() *hubspotsim.Server {
	e.t.Helper()
	d := e.m.destinations["hubspot"].(*hubspot.Destination)
	sim := d.Simulator()
	sim.SetWebhook(hubspotsim.Webhook{TargetURL: d.WebhookURL(), ClientSecret: hubspotClientSecret,
		Properties: []string{hubspot.PropertyLifecycleStage, hubspot.PropertyOwner}})
	return sim
}

func hubspotStage(t *testing.T, sim *hubspotsim.Server, email string) string {
	t.Helper()
	c, ok := sim.Contact(email)
	if !ok {
		t.Fatalf("HubSpot holds no contact %s", email)
	}
	return c.Properties[hubspot.PropertyLifecycleStage]
}

// TestInbound_HubSpotLifecycleStage: a stage changed in HubSpot (a
// signed webhook from the simulator) reaches the canonical contact as
// hubspot's, and Brevo as LIFECYCLE_STAGE; a later Shopify update and a
// paid Shopify order (which would make the contact a customer) change
// neither, since HubSpot owns the stage. A forged signature and an old
// one are 401.
func TestInbound_HubSpotLifecycleStage(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withHubSpot(true))
	sim := e.hubspotSim()
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(3001, "crm@example.com", "Cy", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	if got := hubspotStage(t, sim, "crm@example.com"); got != "" {
		t.Fatalf("HubSpot stage %q before any, want none", got)
	}

	upserts := func() int {
		n := 0
		for _, c := range sim.Calls() {
			if c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/batch/upsert") {
				n++
			}
		}
		return n
	}
	before := upserts()
	status, err := sim.SetProperty("crm@example.com", hubspot.PropertyLifecycleStage, "salesqualifiedlead")
	if err != nil || status != http.StatusOK {
		t.Fatalf("HubSpot's webhook: %d, %v", status, err)
	}
	if f := e.canonical("crm@example.com").Fields[synclayer.FieldLifecycleStage]; string(f.Value) != `"salesqualifiedlead"` || f.Source != "hubspot" {
		t.Fatalf("canonical stage %+v, want salesqualifiedlead from hubspot", f)
	}
	e.waitIdle(10 * time.Second)
	if got := e.contact("crm@example.com").Attributes["LIFECYCLE_STAGE"]; got != "salesqualifiedlead" {
		t.Fatalf("Brevo LIFECYCLE_STAGE = %v, want salesqualifiedlead", got)
	}
	if n := upserts() - before; n != 0 {
		t.Errorf("%d upserts to HubSpot after its own change, want none: HubSpot holds what it reported", n)
	}

	// Both after HubSpot's change: only the stage's owner keeps the
	// order from making the contact a customer.
	later := int(time.Since(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)).Minutes()) + 5
	e.mustAccept(e.shopify("customers/update", shopifyCustomer(3001, "crm@example.com", "Cyd", later, "subscribed", 0)))
	e.mustAccept(e.shopify("orders/create", shopifyOrder(9301, 3001, "crm@example.com", later+1, "25.00")))
	e.waitIdle(10 * time.Second)
	c := e.contact("crm@example.com")
	if got := c.Attributes["LIFECYCLE_STAGE"]; got != "salesqualifiedlead" || c.Attributes["FIRSTNAME"] != "Cyd" {
		t.Errorf("Brevo after a Shopify update and a paid order: %v, want LIFECYCLE_STAGE salesqualifiedlead kept (and FIRSTNAME Cyd)", c.Attributes)
	}
	if got := hubspotStage(t, sim, "crm@example.com"); got != "salesqualifiedlead" {
		t.Errorf("HubSpot stage %q, want salesqualifiedlead kept", got)
	}
	if !e.traceSays("crm@example.com", "hubspot") {
		t.Error("the trace does not record HubSpot's change")
	}

	body := []byte(`[{"eventId":99,"subscriptionId":1,"portalId":1,"appId":1,"occurredAt":1,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":101,"propertyName":"lifecyclestage","propertyValue":"lead"}]`)
	url := e.m.destinations["hubspot"].(*hubspot.Destination).WebhookURL()
	for name, at := range map[string]time.Time{"forged": time.Now(), "old": time.Now().Add(-6 * time.Minute)} {
		ts := strconv.FormatInt(at.UnixMilli(), 10)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("X-HubSpot-Request-Timestamp", ts)
		secret := hubspotClientSecret
		if name == "forged" {
			secret = "not-the-client-secret"
		}
		h.Set("X-HubSpot-Signature-v3", hubspot.SignatureV3(secret, "POST", url, body, ts))
		if status, reply := e.post("/webhooks/hubspot", body, h); status != http.StatusUnauthorized {
			t.Errorf("%s signature: %d %v, want 401", name, status, reply)
		}
	}
	if f := e.canonical("crm@example.com").Fields[synclayer.FieldLifecycleStage]; string(f.Value) != `"salesqualifiedlead"` {
		t.Errorf("canonical stage %s after refused deliveries", f.Value)
	}

	// A genuine delivery sent twice counts once; one HubSpot cannot have
	// meant is 400 naming the field.
	signed := func(body []byte) http.Header {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("X-HubSpot-Request-Timestamp", ts)
		h.Set("X-HubSpot-Signature-v3", hubspot.SignatureV3(hubspotClientSecret, "POST", url, body, ts))
		return h
	}
	id := e.canonical("crm@example.com").SourceIDs["hubspot"]
	if id == "" {
		t.Fatal("the contact has no hubspot record ID after HubSpot's webhook")
	}
	owner := []byte(`[{"eventId":501,"subscriptionId":2,"portalId":1,"appId":1,"occurredAt":` + strconv.FormatInt(time.Now().UnixMilli(), 10) +
		`,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":` + id + `,"propertyName":"hubspot_owner_id","propertyValue":"77"}]`)
	e.mustAccept(e.post("/webhooks/hubspot", owner, signed(owner)))
	if _, reply := e.post("/webhooks/hubspot", owner, signed(owner)); !strings.Contains(fmt.Sprint(reply), "duplicate") {
		t.Errorf("the same event again: %v, want duplicate", reply)
	}
	if got := string(e.canonical("crm@example.com").Value(synclayer.FieldOwner)); got != `"77"` {
		t.Errorf("owner %s, want HubSpot's 77", got)
	}
	bad := []byte(`[{"eventId":502,"occurredAt":1,"subscriptionType":"contact.propertyChange","objectId":` + id + `,"propertyName":"lifecyclestage","propertyValue":"vip"}]`)
	if status, reply := e.post("/webhooks/hubspot", bad, signed(bad)); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(reply), "[0].propertyValue") {
		t.Errorf("an unknown stage: %d %v, want 400 naming [0].propertyValue", status, reply)
	}
}

// TestInbound_HubSpotFirstOrderMakesACustomer: with no owner for the
// stage, a first paid Shopify order makes the contact a customer in
// HubSpot (and Brevo).
func TestInbound_HubSpotFirstOrderMakesACustomer(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withHubSpot(false))
	sim := e.hubspotSim()
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(3101, "buyer@example.com", "Bu", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	e.mustAccept(e.shopify("orders/create", shopifyOrder(9401, 3101, "buyer@example.com", 1, "40.00")))
	e.waitIdle(10 * time.Second)
	if got := hubspotStage(t, sim, "buyer@example.com"); got != "customer" {
		t.Errorf("HubSpot stage %q after a first paid order, want customer", got)
	}
	if got := e.contact("buyer@example.com").Attributes["LIFECYCLE_STAGE"]; got != "customer" {
		t.Errorf("Brevo LIFECYCLE_STAGE = %v, want customer", got)
	}
	if f := e.canonical("buyer@example.com").Fields[synclayer.FieldLifecycleStage]; f.Source != "shopify" {
		t.Errorf("canonical stage %+v, want set by shopify, the order's source", f)
	}
}

// TestParseConfig_HubSpotCRMFields: the CRM settings parse, and their
// mistakes name their keys.
func TestParseConfig_HubSpotCRMFields(t *testing.T) {
	t.Setenv("HUBSPOT_CLIENT_SECRET", "hs-secret")
	const ok = "sources:\n  shopify: {secret: x}\ndestinations:\n  hubspot:\n    webhook: { client_secret: \"${HUBSPOT_CLIENT_SECRET}\", reconcile_interval: 30m }\n" +
		"fields:\n  lifecycle_stage: {owner: hubspot}\n  owner: {owner: hubspot}\n" +
		"skills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    destination: hubspot\n    field_mapping: { email: email, lifecycleStage: lifecyclestage, owner: hubspot_owner_id }\n" +
		"    options: { customer_stage_on_first_order: false }\n"
	cfg, err := ParseConfig([]byte(ok), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.customerStageOnFirstOrder() {
		t.Error("customer_stage_on_first_order: false is not read")
	}
	if got := cfg.fieldOwners()[synclayer.FieldLifecycleStage]; len(got) != 1 || got[0] != "hubspot" {
		t.Errorf("lifecycle_stage's owners %v, want the alias read as lifecycleStage", got)
	}
	for name, tc := range map[string]struct{ doc, want string }{
		"StageOption": {"skills:\n  customer-sync:\n    options: { customer_stage_on_first_order: sometimes }\n", "skills.customer-sync.options.customer_stage_on_first_order"},
		"OwnerMapping": {"sources:\n  shopify: {secret: x}\ndestinations:\n  hubspot: {}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    destination: hubspot\n    field_mapping: { email: email, firstName: hubspot_owner_id }\n",
			"field_mapping.firstName: cannot map to hubspot_owner_id"},
		"WebhookKey": {"destinations:\n  hubspot:\n    webhook: { secret: x }\n", "webhook.secret"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestInbound_HubSpotReconcile: a stage changed in HubSpot whose webhook
// never came is found by the reconciliation's search and applied as
// hubspot's, and a cursor is stored.
func TestInbound_HubSpotReconcile(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withHubSpot(true))
	sim := e.m.destinations["hubspot"].(*hubspot.Destination).Simulator() // no webhook set: nothing is sent
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(3201, "quiet@example.com", "Q", 0, "subscribed", 0)))
	e.waitIdle(10 * time.Second)
	if _, err := sim.SetProperty("quiet@example.com", hubspot.PropertyLifecycleStage, "opportunity"); err != nil {
		t.Fatal(err)
	}
	r := e.m.destinations["hubspot"].(synclayer.Reconciler)
	if n, err := e.m.reconcile(context.Background(), "hubspot", r); err != nil || n == 0 {
		t.Fatalf("reconcile: %d events, %v; want the lost change", n, err)
	}
	if f := e.canonical("quiet@example.com").Fields[synclayer.FieldLifecycleStage]; string(f.Value) != `"opportunity"` || f.Source != "hubspot" {
		t.Errorf("canonical stage %+v, want opportunity from hubspot", f)
	}
	if _, err := e.m.DB.FindCheckpoint(context.Background(), reconcileCheckpoint("hubspot")); err != nil {
		t.Errorf("no cursor stored: %v", err)
	}
	e.waitIdle(10 * time.Second)
	if got := e.contact("quiet@example.com").Attributes["LIFECYCLE_STAGE"]; got != "opportunity" {
		t.Errorf("Brevo LIFECYCLE_STAGE = %v, want opportunity", got)
	}
}
