package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// writeConfig writes a config file on the env's store and Brevo, with
// extra appended, and returns its path.
func (e *env) writeConfig(extra string) string {
	e.t.Helper()
	doc := fmt.Sprintf(`storage:
  driver: sqlite
  dsn: %q
sources:
  shopify: {secret: %q}
  woocommerce: {secret: %q}
  custom: {secret: %q}
destinations:
  brevo: {api_key: "xkeysib-e2e", base_url: %q}
`, e.m.Config.Storage.DSN, shopifySecret, wooSecret, customSecret, setting(e.m.Config, "brevo", "base_url")) + extra
	path := filepath.Join(e.t.TempDir(), "new.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// liveState sums up what the live store and Brevo hold, to show that a
// plan changed neither.
func (e *env) liveState() string {
	e.t.Helper()
	ctx := context.Background()
	contacts, _ := e.m.DB.FindContacts(ctx, synclayer.ContactFilter{Limit: 1000})
	events, _ := e.m.DB.FindEvents(ctx, synclayer.EventFilter{Limit: 1000})
	jobs, _ := e.m.DB.CountJobs(ctx)
	var versions []string
	for _, c := range contacts {
		versions = append(versions, fmt.Sprintf("%s@%d", c.ID, c.Version))
	}
	return fmt.Sprintf("contacts %v, events %d, jobs %v, brevo calls %d", versions, len(events), jobs, len(e.sim.Calls()))
}

// TestPlan_Samples runs samples/ through a new config (a different
// mapping) against a copy of a live store that holds the existing
// customer, and checks the planned calls, and that neither the store nor
// Brevo saw anything.
func TestPlan_Samples(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	_, reply := e.shopify("customers/create", shopifyCustomer(7001, "existing@example.com", "Erin", 0, "subscribed", 0))
	existing := reply["events"].([]any)[0].(map[string]any)["contactId"].(string)
	e.waitIdle(10 * time.Second)
	before := e.liveState()

	cfg := e.writeConfig(`skills:
  customer-sync:
    enabled: true
    source: [shopify, custom]
    field_mapping: {email: email, firstName: FIRSTNAME, lastName: LASTNAME, totalOrders: TOTAL_ORDERS, totalSpent: TOTAL_SPENT, customerTier: LOYALTY_TIER}
    options: {list_id: 5}
  order-events: {enabled: true, source: [shopify]}
  product-catalog: {enabled: true, source: [shopify]}
  cart-events: {enabled: true, source: [shopify], options: {abandon_after: 2h}}
workflows:
  - name: big-order
    trigger: order_created
    filter: order.total >= 100
    actions:
      - set_attribute: {VIP: true}
      - brevo_event: {name: big_order}
  - name: huge-order
    trigger: order_created
    filter: order.total >= 1000
    actions:
      - brevo_event: {name: huge_order}
  - name: cart-nudge
    trigger: cart_abandoned
    actions:
      - brevo_event: {name: cart_nudge}
`)
	var out, stderr bytes.Buffer
	if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", "../../samples", "--json"}, &out, &stderr); err != nil {
		t.Fatal(err)
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out.String())
	}
	if len(rep.Records) != 8 || rep.Source != "shopify" {
		t.Fatalf("plan: %s", out.String())
	}
	body := func(r planRecord) map[string]any {
		b, _ := json.Marshal(r.Calls[0].Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	changes := func(r planRecord) map[string]string {
		m := map[string]string{}
		for _, c := range r.Changes {
			m[c.Field] = string(c.Before) + " → " + string(c.After)
		}
		return m
	}
	newc, old, dup, optout, order, refund, product, cart := rep.Records[0], rep.Records[1], rep.Records[2], rep.Records[3], rep.Records[4], rep.Records[5], rep.Records[6], rep.Records[7]

	// Every record is named by email and source ID, and by its contact
	// once it has one; a refund's email is its buyer's.
	t.Run("Names", func(t *testing.T) {
		for _, tc := range []struct {
			r               planRecord
			email, sourceID string
			contact         bool
		}{
			{newc, "new.customer@example.com", "shopify:sample-new-1", true},
			{old, "existing@example.com", "shopify:7001", true},
			{dup, "New.Customer@Example.com", "shopify:sample-dup-2", true},
			{optout, "opted.out@example.com", "shopify:sample-optout-1", true},
			{order, "new.customer@example.com", "shopify:order-1001", true},
			{refund, "new.customer@example.com", "shopify:order-1001", true},
			{product, "", "shopify:tee", false},
			{cart, "new.customer@example.com", "shopify:cart-2001", true},
		} {
			if tc.r.Email != tc.email || tc.r.SourceID != tc.sourceID || (tc.r.ContactID != "") != tc.contact {
				t.Errorf("%s is named %q, %q, contact %q; want %q, %q, a contact %v", tc.r.File, tc.r.Email, tc.r.SourceID, tc.r.ContactID, tc.email, tc.sourceID, tc.contact)
			}
		}
	})

	t.Run("NewCustomer", func(t *testing.T) {
		if newc.Status != "planned" || len(newc.Calls) != 1 || newc.Calls[0].Method != "POST" || newc.Calls[0].Path != "/contacts" {
			t.Fatalf("new customer: %+v", newc)
		}
		if b := body(newc); fmt.Sprint(b["listIds"]) != "[5]" || b["email"] != "new.customer@example.com" || b["emailBlacklisted"] != nil {
			t.Errorf("new customer's POST body: %v", b)
		}
	})
	t.Run("ExistingCustomer", func(t *testing.T) {
		if old.ContactID != existing || len(old.Calls) != 1 || old.Calls[0].Method != "PUT" || !strings.Contains(old.Calls[0].Path, existing) {
			t.Fatalf("existing customer: %+v, want a PUT on %s", old, existing)
		}
		ch := changes(old)
		// order-events is on, so the count comes from the orders synclayer
		// holds, not from the record's totalOrders: TOTAL_ORDERS stays.
		// The live mapping sent the phone as SMS; the new one does not map
		// it, so SMS is left alone, not blanked.
		if ch["attributes.LOYALTY_TIER"] != `null → "gold"` || ch["attributes.TOTAL_ORDERS"] != "" || ch["attributes.SMS"] != "" {
			t.Errorf("existing customer's changes: %v; want the new attribute, the count left to order-events, and the unmapped SMS left alone", ch)
		}
		if attrs, _ := body(old)["attributes"].(map[string]any); len(attrs) != 1 || attrs["LOYALTY_TIER"] != "gold" {
			t.Errorf("existing customer's PUT attributes: %v, want only LOYALTY_TIER: no SMS, and the unchanged FIRSTNAME left out", attrs)
		}
		if fmt.Sprint(old.Unmapped) != "[{brevo SMS left alone} {brevo TAGS left alone}]" {
			t.Errorf("existing customer's unmapped attributes: %v, want SMS and TAGS left alone", old.Unmapped)
		}
	})
	t.Run("DuplicateEmailIsOneContact", func(t *testing.T) {
		if dup.ContactID != newc.ContactID || len(dup.Calls) != 1 || dup.Calls[0].Method != "PUT" {
			t.Errorf("duplicate email: %+v, want an update of contact %s", dup, newc.ContactID)
		}
		if ch := changes(dup); ch["attributes.LASTNAME"] != `"New" → "Newer"` {
			t.Errorf("duplicate email's changes: %v", ch)
		}
	})
	t.Run("OptedOut", func(t *testing.T) {
		if len(optout.Calls) != 1 || optout.Calls[0].Method != "POST" {
			t.Fatalf("opted out: %+v", optout)
		}
		if b := body(optout); b["emailBlacklisted"] != true || b["listIds"] != nil {
			t.Errorf("opted-out POST body: %v, want emailBlacklisted true and no list", b)
		}
	})
	// The order, then its refund: each is one POST /orders/status with the
	// amount kept, followed by customer-sync's update of the buyer's totals.
	orderCall := func(t *testing.T, r planRecord, amount string) map[string]string {
		t.Helper()
		if r.Status != "planned" || r.ContactID != newc.ContactID || len(r.Calls) != 2 || r.Calls[0].Path != "/orders/status" || r.Calls[0].Skill != "order-events" ||
			r.Calls[1].Method != "PUT" || r.Calls[1].Skill != "customer-sync" {
			t.Fatalf("%s: %+v, want POST /orders/status then a PUT of contact %s", r.File, r, newc.ContactID)
		}
		b, _ := json.Marshal(r.Calls[0].Body)
		if !strings.Contains(string(b), `"amount":`+amount+`,`) || !strings.Contains(string(b), `"ext_id":"`+newc.ContactID+`"`) {
			t.Errorf("%s: order body %s, want amount %s for the contact", r.File, b, amount)
		}
		return changes(r)
	}
	t.Run("Order", func(t *testing.T) {
		if ch := orderCall(t, order, "120"); ch["attributes.TOTAL_ORDERS"] != "null → 1" || ch["attributes.TOTAL_SPENT"] != "null → 120.00" {
			t.Errorf("order's contact changes: %v", ch)
		}
	})
	t.Run("RefundLowersTotalSpent", func(t *testing.T) {
		if ch := orderCall(t, refund, "100"); ch["attributes.TOTAL_SPENT"] != "120.00 → 100.00" || ch["attributes.TOTAL_ORDERS"] != "" {
			t.Errorf("refund's contact changes: %v, want TOTAL_SPENT lowered and the count unchanged", ch)
		}
	})
	// The order's rules: big-order matches (its two actions fire once,
	// each with its fingerprint), huge-order does not.
	t.Run("OrderWorkflows", func(t *testing.T) {
		if len(order.Workflows) != 2 {
			t.Fatalf("order's workflows: %+v, want big-order and huge-order", order.Workflows)
		}
		big, huge := order.Workflows[0], order.Workflows[1]
		if big.Rule != "big-order" || !big.Matched || len(big.Actions) != 2 || huge.Rule != "huge-order" || huge.Matched {
			t.Fatalf("order's workflows: %+v", order.Workflows)
		}
		for _, a := range big.Actions {
			if !a.Fires || a.Fingerprint == "" || a.Destination != "brevo" {
				t.Errorf("big-order action %+v, want it to fire once on brevo, with its fingerprint", a)
			}
		}
		if big.Actions[0].Does != "set VIP = true" || big.Actions[1].Does != "send event big_order" {
			t.Errorf("big-order actions say %q, %q", big.Actions[0].Does, big.Actions[1].Does)
		}
		if len(refund.Workflows) != 0 {
			t.Errorf("the refund runs %+v; no rule is on order_refunded", refund.Workflows)
		}
	})
	t.Run("Product", func(t *testing.T) {
		if product.Status != "planned" || len(product.Calls) == 0 {
			t.Fatalf("product: %+v", product)
		}
		for _, c := range product.Calls {
			if c.Skill != "product-catalog" || c.Destination != "brevo" {
				t.Errorf("product call %+v, want product-catalog on brevo", c)
			}
		}
		if b, _ := json.Marshal(product.Calls); !strings.Contains(string(b), `"shopify:tee"`) {
			t.Errorf("product calls %s do not carry the product", b)
		}
	})
	// The cart: nothing at once on Brevo, the abandonment two hours
	// after it was received, and the cart_abandoned rule at that time.
	t.Run("CartAtAbandonment", func(t *testing.T) {
		if cart.Status != "planned" || len(cart.Calls) != 1 {
			t.Fatalf("cart: %+v", cart)
		}
		c := cart.Calls[0]
		if c.Skill != "cart-events" || c.Method != "POST" || c.Path != "/events" || c.At.Before(time.Now().Add(time.Hour)) {
			t.Errorf("cart call %+v, want POST /events two hours from now", c)
		}
		if b, _ := json.Marshal(c.Body); !strings.Contains(string(b), `"cart_abandoned"`) || !strings.Contains(string(b), `"shopify:cart-2001"`) {
			t.Errorf("cart event %s", b)
		}
		if len(cart.Workflows) != 1 || cart.Workflows[0].Rule != "cart-nudge" || !cart.Workflows[0].At.Equal(c.At) || !cart.Workflows[0].Actions[0].Fires {
			t.Errorf("cart's workflows: %+v, want cart-nudge at the abandonment", cart.Workflows)
		}
	})
	t.Run("NothingLiveTouched", func(t *testing.T) {
		if after := e.liveState(); after != before {
			t.Errorf("live state changed:\nbefore %s\nafter  %s", before, after)
		}
		if _, ok := e.sim.ContactByEmail("new.customer@example.com"); ok {
			t.Error("Brevo got a sample contact")
		}
	})
	t.Run("Text", func(t *testing.T) {
		var text bytes.Buffer
		if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", "../../samples"}, &text, &stderr); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Nothing live was touched", "01-new-customer.json  customer_created  new.customer@example.com  shopify:sample-new-1 → contact ",
			`customer-sync → brevo: POST /contacts {"email":"new.customer@example.com"`,
			`attributes.LOYALTY_TIER: null → "gold"`, "brevo: leave SMS alone (no longer mapped",
			"06-refunded-order.json  order_refunded  new.customer@example.com  shopify:order-1001", `"amount":100.00,`, "attributes.TOTAL_SPENT: 120.00 → 100.00",
			"workflow big-order (order_created shopify:order-1001): matches", "set_attribute on brevo: set VIP = true: fires once (fingerprint ",
			"workflow huge-order (order_created): no match", "07-product.json  product_updated  shopify:tee", "product-catalog → brevo: ",
			"cart-events → brevo at ", "workflow cart-nudge (cart_abandoned shopify:cart-2001@"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("text plan lacks %q:\n%s", want, text.String())
			}
		}
		t.Logf("text plan:\n%s", text.String())
	})
}

// restart stops e's server and starts another on the same store and
// Brevo, with the customer-sync mapping and options given.
func (e *env) restart(mapping map[string]string, options map[string]any) {
	e.t.Helper()
	e.m.Close()
	cfg := &Config{
		Server:       ServerConfig{Listen: "127.0.0.1:0"},
		Storage:      e.m.Config.Storage,
		Sources:      map[string]*SourceConfig{"shopify": {Secret: shopifySecret}, "woocommerce": {Secret: wooSecret}, "custom": {Secret: customSecret}},
		Destinations: map[string]*DestinationSection{"brevo": {Settings: map[string]any{"api_key": "xkeysib-e2e", "base_url": setting(e.m.Config, "brevo", "base_url")}}},
		Skills: SkillsConfig{CustomerSync: &CustomerSyncConfig{
			Enabled: true, Source: StringList{"shopify", "woocommerce", "custom"}, FieldMapping: mapping,
			Options: CustomerSyncOptions{Extra: map[string]any{"list_id": 5}},
		}},
		Queue: QueueConfig{Poll: 50 * time.Millisecond},
	}
	if v, ok := options["clear_unmapped"].(bool); ok {
		cfg.Skills.CustomerSync.Options.ClearUnmapped = v
	}
	if err := cfg.finish(nil); err != nil {
		e.t.Fatal(err)
	}
	m := &Main{Config: cfg, Stderr: e.logs, CheckPoll: 200 * time.Millisecond}
	if err := m.Run(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { m.Close() })
	e.m, e.base = m, "http://"+m.Addr
}

// lastContactPut is the attributes of the last PUT /contacts Brevo got.
func (e *env) lastContactPut() map[string]any {
	e.t.Helper()
	var attrs map[string]any
	for _, c := range e.sim.Calls() {
		if c.Method == "PUT" && strings.HasPrefix(c.Path, "/contacts/") && !strings.HasPrefix(c.Path, "/contacts/attributes") {
			var b struct {
				Attributes map[string]any `json:"attributes"`
			}
			_ = json.Unmarshal(c.Body, &b)
			attrs = b.Attributes
		}
	}
	return attrs
}

// TestPlan_DroppedMapping reproduces the trap of a mapping that stops
// mapping lastName: the next update used to blank LASTNAME in Brevo, and
// plan said it would. Now both leave it alone, and only clear_unmapped
// clears it, in the plan and in the delivery alike.
func TestPlan_DroppedMapping(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}) // the default mapping: lastName → LASTNAME
	e.shopify("customers/create", shopifyCustomer(7301, "dora@example.com", "Dora", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	if c := e.contact("dora@example.com"); c.Attributes["LASTNAME"] != "Doe" {
		t.Fatalf("Brevo holds %v, want LASTNAME Doe", c.Attributes)
	}

	dropped := map[string]string{"email": "email", "firstName": "FIRSTNAME"}
	samples := t.TempDir()
	sample := `{"event": "customer_updated", "timestamp": "2026-11-25T09:00:00Z", "data": {"id": "7301", "email": "dora@example.com", "firstName": "Dorothea"}}`
	if err := os.WriteFile(filepath.Join(samples, "01-update.json"), []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := func(t *testing.T, options string) (planRecord, string) {
		t.Helper()
		cfg := e.writeConfig(`skills:
  customer-sync:
    enabled: true
    source: [shopify, custom]
    field_mapping: {email: email, firstName: FIRSTNAME}
    options: {list_id: 5` + options + `}
`)
		var out, text, stderr bytes.Buffer
		if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", samples, "--json"}, &out, &stderr); err != nil {
			t.Fatal(err)
		}
		if err := runIO(context.Background(), []string{"plan", "--config", cfg, "--sample", samples}, &text, &stderr); err != nil {
			t.Fatal(err)
		}
		var rep planReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Records) != 1 || len(rep.Records[0].Calls) != 1 {
			t.Fatalf("plan: %v\n%s", err, out.String())
		}
		return rep.Records[0], text.String()
	}

	t.Run("PlanLeavesLastNameAlone", func(t *testing.T) {
		rec, text := plan(t, "")
		b, _ := json.Marshal(rec.Calls[0].Body)
		if string(b) != `{"attributes":{"FIRSTNAME":"Dorothea"}}` {
			t.Errorf("planned PUT %s, want FIRSTNAME only", b)
		}
		for _, ch := range rec.Changes {
			if strings.Contains(ch.Field, "LASTNAME") {
				t.Errorf("plan changes %s: %s → %s", ch.Field, ch.Before, ch.After)
			}
		}
		if !strings.Contains(text, "brevo: leave LASTNAME alone (no longer mapped") {
			t.Errorf("text plan does not say LASTNAME is left alone:\n%s", text)
		}
	})
	t.Run("PlanClearsWithClearUnmapped", func(t *testing.T) {
		rec, text := plan(t, ", clear_unmapped: true")
		if attrs, _ := rec.Calls[0].Body.(map[string]any)["attributes"].(map[string]any); attrs["LASTNAME"] != "" {
			t.Errorf("planned PUT attributes %v, want LASTNAME emptied", attrs)
		}
		if !strings.Contains(text, "brevo: clear LASTNAME (clear_unmapped)") {
			t.Errorf("text plan does not say LASTNAME is cleared:\n%s", text)
		}
	})

	// The real delivery, with the new mapping live.
	e.restart(dropped, nil)
	e.shopify("customers/update", shopifyCustomer(7301, "dora@example.com", "Dorothea", 1, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	if attrs := e.lastContactPut(); attrs["FIRSTNAME"] != "Dorothea" || attrs["LASTNAME"] != nil {
		t.Errorf("the update sent %v, want FIRSTNAME and no LASTNAME", attrs)
	}
	if c := e.contact("dora@example.com"); c.Attributes["LASTNAME"] != "Doe" {
		t.Errorf("Brevo holds %v after the update, want LASTNAME left as Doe", c.Attributes)
	}

	e.restart(dropped, map[string]any{"clear_unmapped": true})
	e.shopify("customers/update", shopifyCustomer(7301, "dora@example.com", "Dot", 2, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	// SMS is kept: Brevo refuses an empty one.
	if attrs := e.lastContactPut(); attrs["LASTNAME"] != "" || attrs["FIRSTNAME"] != "Dot" || attrs["SMS"] != nil {
		t.Errorf("with clear_unmapped the update sent %v, want LASTNAME emptied and SMS kept", attrs)
	}
	if c := e.contact("dora@example.com"); c.Attributes["LASTNAME"] != nil {
		t.Errorf("Brevo holds %v, want LASTNAME cleared", c.Attributes)
	}
}

// TestPlan_RuleFiresOnce runs one order twice (two files, as a webhook
// delivered twice): its rule fires for the first and not again; a rule
// the live store already fired for the order is shown as skipped.
func TestPlan_RuleFiresOnce(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	ctx := context.Background()
	// The live store ran first-order for this order already.
	if err := e.m.DB.Tx(ctx, func(tx synclayer.Tx) error {
		_, err := tx.AddWorkflowAction(ctx, &synclayer.WorkflowAction{Rule: "first-order", Action: 0, Kind: "brevo_event",
			TriggerType: synclayer.EventOrderCreated, TriggerKey: "shopify:order-1001", View: json.RawMessage(`{}`), CreatedAt: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	samples := t.TempDir()
	order, _ := os.ReadFile("../../samples/05-order.json")
	customer, _ := os.ReadFile("../../samples/01-new-customer.json")
	for name, b := range map[string][]byte{"01-customer.json": customer, "02-order.json": order, "03-order-again.json": order} {
		if err := os.WriteFile(filepath.Join(samples, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := e.writeConfig(`skills:
  customer-sync: {enabled: true, source: [shopify], options: {list_id: 5}}
  order-events: {enabled: true, source: [shopify]}
workflows:
  - name: every-order
    trigger: order_created
    actions:
      - brevo_event: {name: order_placed}
  - name: first-order
    trigger: order_created
    actions:
      - brevo_event: {name: first_order}
  - name: welcome
    trigger: contact_created
    actions:
      - add_to_list: 7
`)
	var out, text, stderr bytes.Buffer
	if err := runIO(ctx, []string{"plan", "--config", cfg, "--sample", samples, "--json"}, &out, &stderr); err != nil {
		t.Fatal(err)
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Records) != 3 {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	first, again := rep.Records[1], rep.Records[2]
	if len(first.Workflows) != 2 || !first.Workflows[0].Actions[0].Fires {
		t.Fatalf("the order's rules: %+v, want every-order to fire", first.Workflows)
	}
	if a := first.Workflows[1].Actions[0]; a.Fires || !strings.HasPrefix(a.Skipped, "already fired for this record") {
		t.Errorf("first-order: %+v, want it skipped: the live store fired it already", a)
	}
	for _, w := range again.Workflows {
		for _, a := range w.Actions {
			if a.Fires {
				t.Errorf("the same order again fires %s's %s", w.Rule, a.Kind)
			}
		}
	}
	if w := rep.Records[0].Workflows; len(w) != 1 || w[0].Rule != "welcome" || !w[0].Actions[0].Fires {
		t.Errorf("the new customer's rules: %+v, want welcome to fire", w)
	}
	if err := runIO(ctx, []string{"plan", "--config", cfg, "--sample", samples}, &text, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "brevo_event on brevo: send event first_order: would be skipped: already fired for this record") {
		t.Errorf("text plan:\n%s", text.String())
	}
	t.Logf("text plan:\n%s", text.String())
}

// TestPlan_ClearUnmappedIsValidated checks that clear_unmapped is one of
// the skill's own options: a boolean, kept out of the destination's.
func TestPlan_ClearUnmappedIsValidated(t *testing.T) {
	t.Parallel()
	const doc = "skills:\n  customer-sync:\n    enabled: true\n    source: [shopify]\n    options: {list_id: 5, clear_unmapped: %s}\n"
	if _, err := ParseConfig([]byte(fmt.Sprintf(doc, "maybe")), ""); err == nil || !strings.Contains(err.Error(), "line 5: skills.customer-sync.options") {
		t.Errorf("clear_unmapped: maybe: %v, want an error at line 5", err)
	}
	c, err := ParseConfig([]byte(fmt.Sprintf(doc, "true")), "")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Skills.CustomerSync.Options; !o.ClearUnmapped || o.Extra["clear_unmapped"] != nil {
		t.Errorf("options %+v, want clear_unmapped on and not passed to Brevo", o)
	}
}
