package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

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
// in Brevo), with owners taken in turn (11, 22, 33, then 11 again after
// a restart: the rotation is in the store), one follow-up task per lead
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
