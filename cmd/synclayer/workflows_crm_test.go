package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/hubspot"
)

// withDemoForm adds the website form "demo" (no double opt-in) to
// customer-sync, which delivers to Brevo and HubSpot.
func withDemoForm() envOption {
	return func(c *Config) {
		withHubSpot(false)(c)
		c.Sources["demo"] = &SourceConfig{Type: "form", Secret: "form_e2e_secret", Settings: map[string]any{
			"origins": []any{"https://shop.example.com"}, "per_client": 50, "redirect": "https://shop.example.com/thanks"}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "demo")
	}
}

func (e *env) demoRequest(email string) {
	e.t.Helper()
	resp := e.formPost("/forms/demo", "https://shop.example.com", "email="+url.QueryEscape(email)+"&first_name=Lee")
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("form post for %s: %d", email, resp.StatusCode)
	}
}

// TestExample_LeadForm drives examples/lead-form.yaml: each demo request
// posted to /forms/demo makes a HubSpot lead (and LIFECYCLE_STAGE lead
// in Brevo), with owners taken in turn (named by email, found in
// HubSpot's owners as 11, 22, 33, then 11 again after a restart: the
// rotation is in the store), one follow-up task per lead
// assigned to its owner and due two days after the request, associated
// with the contact, and one demo_requested event in Brevo.
func TestExample_LeadForm(t *testing.T) {
	db := filepath.Join(t.TempDir(), "synclayer.db")
	opts := []envOption{withSQLite(db), withDemoForm(), withWorkflows(loadExample(t, "lead-form"))}
	e := startEnv(t, brevosim.Options{}, opts...)
	sim := e.hubspotSim()
	leads := []string{"ann@example.com", "bob@example.com", "cat@example.com"}
	for _, email := range leads {
		e.demoRequest(email)
		e.waitIdle(15 * time.Second) // one at a time, so the turns are in this order
	}
	want := map[string]string{"ann@example.com": "11", "bob@example.com": "22", "cat@example.com": "33"}
	for email, owner := range want {
		c, ok := sim.Contact(email)
		if !ok || c.Properties[hubspot.PropertyLifecycleStage] != "lead" || c.Properties[hubspot.PropertyOwner] != owner {
			t.Errorf("HubSpot contact %s = %+v, want a lead owned by %s", email, c, owner)
			continue
		}
		if got := e.contact(email).Attributes["LIFECYCLE_STAGE"]; got != "lead" {
			t.Errorf("Brevo LIFECYCLE_STAGE of %s = %v, want lead", email, got)
		}
	}
	tasks := sim.Records("tasks")
	if len(tasks) != 3 {
		t.Fatalf("tasks %+v, want 3", tasks)
	}
	for _, task := range tasks {
		p := task.Properties
		var email string
		for _, l := range leads {
			if p["hs_task_subject"] == "Follow up on "+l+"'s demo request" {
				email = l
			}
		}
		c, _ := sim.Contact(email)
		if email == "" || p["hubspot_owner_id"] != want[email] || p["hs_task_status"] != "NOT_STARTED" || !sim.Associated("tasks", task.ID, "contacts", c.ID) {
			t.Errorf("task %+v: want one per lead, for its owner, associated", p)
			continue
		}
		due, err := time.Parse(time.RFC3339, p["hs_timestamp"])
		if err != nil || time.Until(due) < 47*time.Hour || time.Until(due) > 49*time.Hour {
			t.Errorf("task due %q, want 48h after the request", p["hs_timestamp"])
		}
	}
	if n := len(e.sim.EventsNamed("demo_requested")); n != 3 {
		t.Errorf("demo_requested events %d, want 3", n)
	}
	e.m.Close()

	again := startEnv(t, brevosim.Options{}, opts...)
	sim = again.hubspotSim()
	again.demoRequest("dan@example.com")
	again.waitIdle(15 * time.Second)
	if c, ok := sim.Contact("dan@example.com"); !ok || c.Properties[hubspot.PropertyOwner] != "11" {
		t.Errorf("after a restart the fourth lead is owned by %+v, want 11 (the rotation goes on)", c)
	}
	if tasks := sim.Records("tasks"); len(tasks) != 1 || tasks[0].Properties["hubspot_owner_id"] != "11" {
		t.Errorf("tasks after the restart %+v, want one for 11", tasks)
	}
}

// TestConfig_CRMActions: the CRM actions' mistakes name the rule, the
// key and the line, and a task on a destination that takes no CRM
// actions names that destination.
func TestConfig_CRMActions(t *testing.T) {
	doc := `destinations:
  hubspot: {}
workflows:
  - name: on-brevo
    trigger: form_submitted
    actions:
      - create_task: { subject: "Call {{ .contact.email }}" }
  - name: bad
    trigger: form_submitted
    destination: hubspot
    actions:
      - set_lifecycle_stage: prospect
      - assign_owner: { round_robin: ["11", "11"] }
      - create_task: { body: "no subject" }
      - create_note: { body: "{{ .contact.email " }
      - assign_owner: { turns: ["11"] }
      - set_attribute: { lifecyclestage: lead }
`
	_, err := ParseConfig([]byte(doc), "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"line 4: workflows[0] (on-brevo).destination: brevo (type brevo) takes no CRM actions (create_task, create_note)",
		`line 12: workflows[1] (bad).actions[0].set_lifecycle_stage: "prospect" is not a lifecycle stage`,
		`workflows[1] (bad).actions[1].assign_owner.round_robin[1]: "11" is named twice`,
		"workflows[1] (bad).actions[2].create_task.subject: is required",
		"workflows[1] (bad).actions[3].create_note.body: template",
		"turns: unknown key",
		"workflows[1] (bad).actions[5].set_attribute.lifecyclestage: hubspot: lifecyclestage is the lifecycle stage: use set_lifecycle_stage",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nmust contain %q", err, want)
		}
	}
}

// TestExample_FirstOrderCRM drives examples/first-order-crm.yaml: a
// Shopify customer's first order makes one HubSpot customer with one
// deal and one note of the order, associated, and in Brevo the
// FIRST_PURCHASE tag and one post_purchase event; the order delivered
// again and a second order add nothing.
func TestExample_FirstOrderCRM(t *testing.T) {
	e := startEnv(t, brevosim.Options{}, withHubSpotDeals(), withWorkflows(loadExample(t, "first-order-crm")))
	sim := e.hubspotSim()
	e.mustAccept(e.shopify("customers/create", shopifyCustomer(4101, "flo@example.com", "Flo", 0, "subscribed", 0)))
	order := shopifyOrder(5101, 4101, "flo@example.com", 1, "120.00")
	for range 2 {
		e.mustAccept(e.shopify("orders/create", order))
	}
	e.waitIdle(20 * time.Second)
	e.mustAccept(e.shopify("orders/create", shopifyOrder(5102, 4101, "flo@example.com", 2, "30.00")))
	e.waitIdle(20 * time.Second)

	c, ok := sim.Contact("flo@example.com")
	if !ok || c.Properties[hubspot.PropertyLifecycleStage] != "customer" {
		t.Fatalf("HubSpot contact %+v, want a customer", c)
	}
	if deals := sim.Records("deals"); len(deals) != 2 || !sim.Associated("deals", deals[0].ID, "contacts", c.ID) {
		t.Errorf("deals %+v, want one per order, associated", deals)
	}
	notes := sim.Records("notes")
	if len(notes) != 1 || notes[0].Properties["hs_note_body"] != "First order shopify:5101: 120.00 USD" || !sim.Associated("notes", notes[0].ID, "contacts", c.ID) {
		t.Errorf("notes %+v, want one of the first order, associated", notes)
	}
	if tags, _ := e.contact("flo@example.com").Attributes["TAGS"].(string); !strings.Contains(tags, "FIRST_PURCHASE") {
		t.Errorf("Brevo TAGS %q, want FIRST_PURCHASE", tags)
	}
	evs := e.sim.EventsNamed("post_purchase")
	if len(evs) != 1 || evs[0].Properties["order_id"] != "shopify:5101" {
		t.Errorf("post_purchase events %+v, want one for the first order", evs)
	}
}

// TestExample_CancellationTicket drives examples/cancellation-ticket.yaml
// from either help desk source, the custom source's ticket_created and a
// Zendesk webhook: the contact's owner, set in HubSpot, comes back by
// webhook; a ticket that mentions cancelling (delivered twice) sets
// churn_risk in HubSpot, makes one task for that owner, posts one Slack
// message naming the owner and takes the contact out of Brevo's upsell
// list 7 (not out of customer-sync's list 5); a ticket that does not
// mention it does nothing.
func TestExample_CancellationTicket(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opt     envOption
		tickets func(e *env)
	}{
		{"Custom", func(*Config) {}, func(e *env) {
			for range 2 {
				e.activity("ticket_created", map[string]any{"id": "T-31", "email": "gil@example.com", "subject": "Plan", "text": "I want to cancel"})
			}
			e.activity("ticket_created", map[string]any{"id": "T-32", "email": "gil@example.com", "subject": "Thanks", "text": "All good"})
		}},
		{"Zendesk", func(c *Config) { c.Sources["zendesk"] = &SourceConfig{Secret: zendeskSecret} }, func(e *env) {
			now := time.Now()
			cancel := zendeskTrigger("501", "Open", "I want to cancel", "Gil@Example.com", now.Add(-time.Minute))
			for range 2 {
				e.mustAccept(e.zendesk(cancel, zendeskSecret, now))
			}
			e.mustAccept(e.zendesk([]byte(strings.Replace(string(zendeskTrigger("502", "Open", "All good", "gil@example.com", now)), "About my plan", "Thanks", 1)), zendeskSecret, now))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hook := newReceiver(t, 0)
			t.Setenv("SLACK_WEBHOOK_URL", hook.URL+"/services/T0/B0/secret-token")
			e := startEnv(t, brevosim.Options{}, withHubSpot(false), tt.opt, withWorkflows(loadExample(t, "cancellation-ticket")))
			sim := e.hubspotSim()
			e.mustAccept(e.shopify("customers/create", shopifyCustomer(4201, "gil@example.com", "Gil", 0, "subscribed", 0)))
			e.waitIdle(10 * time.Second)
			if status, err := sim.SetProperty("gil@example.com", hubspot.PropertyOwner, "22"); err != nil || status != http.StatusOK {
				t.Fatalf("HubSpot's webhook: %d, %v", status, err)
			}
			e.waitIdle(10 * time.Second)
			c := e.contact("gil@example.com")
			if err := e.brevoClient().UpdateContact(context.Background(), c.ExtID, brevo.IdentifierExtID, brevo.UpdateContactRequest{ListIDs: []int64{7}}); err != nil {
				t.Fatal(err)
			}
			tt.tickets(e)
			e.waitIdle(15 * time.Second)

			hc, _ := sim.Contact("gil@example.com")
			if hc.Properties["churn_risk"] != "true" {
				t.Errorf("HubSpot churn_risk = %q, want true", hc.Properties["churn_risk"])
			}
			tasks := sim.Records("tasks")
			if len(tasks) != 1 || tasks[0].Properties["hubspot_owner_id"] != "22" || tasks[0].Properties["hs_task_subject"] != "Churn risk: call gil@example.com" ||
				!sim.Associated("tasks", tasks[0].ID, "contacts", hc.ID) {
				t.Errorf("tasks %+v, want one for owner 22, associated", tasks)
			}
			msgs := hook.ok()
			if len(msgs) != 1 || !strings.Contains(slackText(t, msgs[0]), "Owner: Grace Hopper (grace@example.com)") {
				t.Fatalf("Slack messages %d, want one naming owner 22 by name (Grace Hopper, from HubSpot's owners)", len(msgs))
			}
			if c := e.contact("gil@example.com"); hasList(c, 7) || !hasList(c, 5) {
				t.Errorf("lists %v, want out of 7 and still in 5", c.ListIDs)
			}
		})
	}
}

// TestWorkflows_CRMOwnsTheStage: where fields: gives lifecycleStage to
// hubspot alone, the lead form's set_lifecycle_stage is refused (the
// owner is still assigned); listing workflows among the owners lets the
// rule move it.
func TestWorkflows_CRMOwnsTheStage(t *testing.T) {
	for _, tt := range []struct {
		name   string
		owners StringList
		want   string
	}{
		{"HubSpotAlone", StringList{"hubspot"}, ""},
		{"WorkflowsToo", StringList{"hubspot", "workflows"}, "lead"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			owned := func(c *Config) {
				c.Fields = map[string]*FieldConfig{synclayer.FieldLifecycleStage: {Owner: tt.owners}}
			}
			e := startEnv(t, brevosim.Options{}, withDemoForm(), owned, withWorkflows(loadExample(t, "lead-form")))
			sim := e.hubspotSim()
			e.demoRequest("ida@example.com")
			e.waitIdle(15 * time.Second)
			c := e.canonical("ida@example.com")
			if got := strings.Trim(string(c.Value(synclayer.FieldLifecycleStage)), `"`); got != tt.want {
				t.Errorf("canonical stage %q, want %q", got, tt.want)
			}
			if hc, ok := sim.Contact("ida@example.com"); !ok || hc.Properties[hubspot.PropertyOwner] != "11" || hc.Properties[hubspot.PropertyLifecycleStage] != tt.want {
				t.Errorf("HubSpot contact %+v, want owner 11 and stage %q", hc, tt.want)
			}
		})
	}
}

// TestConfig_CRMActionsStored: the stored config version of the CRM
// actions loads back as it was.
func TestConfig_CRMActionsStored(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "..", "examples", "lead-form.yaml"), "")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseConfig([]byte(stored), "")
	if err != nil {
		t.Fatalf("the stored version does not load: %v\n%s", err, stored)
	}
	a := again.Workflows[0].Actions
	if a[0].SetLifecycleStage != "lead" || strings.Join(a[1].AssignOwner.RoundRobin, ",") != "ada@example.com,grace@example.com,alan@example.com" || a[2].CreateTask == nil || a[2].CreateTask.DueIn != 48*time.Hour {
		t.Errorf("stored actions %+v", a)
	}
}
