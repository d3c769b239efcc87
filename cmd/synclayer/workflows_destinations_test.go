package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"synclayer/destination/klaviyo"
	"synclayer/destination/mailchimp"
)

// TestWorkflows_ContactActionsOnEachDestination runs one rule whose
// contact actions act on Klaviyo, then on Mailchimp (destination: on the
// rule): an event, a field, and a list (a Klaviyo list, a Mailchimp tag),
// the list only for the contact with marketing consent, and nothing that
// changes anyone's consent.
func TestWorkflows_ContactActionsOnEachDestination(t *testing.T) {
	for _, tc := range []struct {
		dest, field, list string
	}{
		{"klaviyo", "vip", "Vip123"},
		{"mailchimp", "VIP", "vip"},
	} {
		t.Run(tc.dest, func(t *testing.T) {
			t.Parallel()
			rule := &WorkflowConfig{Name: "vip-" + tc.dest, Trigger: "contact_updated", Destination: tc.dest, Actions: []WorkflowActionConfig{
				{BrevoEvent: &BrevoEventActionConfig{Name: "became_vip", Properties: map[string]any{"tier": "{{ .contact.firstName }}"}}},
				{SetAttribute: map[string]any{tc.field: true}},
				{AddToList: ListRef(tc.list)},
			}}
			e := startConformance(t, nil, false, []string{tc.dest}, withWorkflows([]*WorkflowConfig{rule}), func(c *Config) {
				if tc.dest == "mailchimp" {
					c.Destinations["mailchimp"].Settings["audience_id"] = mailchimp.SimulatorAudience
				}
			})
			if tc.dest == "klaviyo" {
				e.m.destinations["klaviyo"].(*klaviyo.Destination).Simulator().AddList(tc.list, "VIP")
			}
			e.customer(1, "yes@example.com", "Gold", "subscribed", 0)
			e.customer(2, "no@example.com", "Plain", "", 0)
			e.waitIdle(20 * time.Second)
			// The updates fire contact_updated; the contacts exist by now.
			e.customer(1, "yes@example.com", "Golden", "subscribed", 1)
			e.customer(2, "no@example.com", "Plainer", "", 1)
			e.waitIdle(30 * time.Second)

			switch tc.dest {
			case "klaviyo":
				sim := e.m.destinations["klaviyo"].(*klaviyo.Destination).Simulator()
				if n := len(sim.EventsNamed("became_vip")); n != 2 {
					t.Errorf("%d became_vip events, want one per contact", n)
				}
				for _, email := range []string{"yes@example.com", "no@example.com"} {
					p, ok := sim.Profile(email)
					if !ok || p.Properties[tc.field] != true {
						t.Errorf("%s: profile %+v, want property %s true", email, p, tc.field)
					}
					if in := slices.Contains(sim.ListMembers(tc.list), p.ID); in != (email == "yes@example.com") {
						t.Errorf("%s in list %s: %v; only the contact with consent may be added", email, tc.list, in)
					}
				}
			case "mailchimp":
				sim := e.m.destinations["mailchimp"].(*mailchimp.Destination).Simulator()
				for _, email := range []string{"yes@example.com", "no@example.com"} {
					m, ok := sim.MemberOf(mailchimp.SimulatorAudience, email)
					if !ok || fmt.Sprint(m.MergeFields[tc.field]) != "true" || len(m.Events) != 1 || m.Events[0].Name != "became_vip" {
						t.Errorf("%s: member %+v, want merge field %s true and one became_vip event", email, m, tc.field)
					}
					if tagged := slices.Contains(m.Tags, tc.list); tagged != (email == "yes@example.com") {
						t.Errorf("%s tagged %s: %v; only the contact with consent may be added", email, tc.list, tagged)
					}
				}
			}
			if c := e.holds(tc.dest, "yes@example.com"); c.Marketing != "subscribed" {
				t.Errorf("the actions changed the consenting contact's consent: %+v", c)
			}
			if c := e.holds(tc.dest, "no@example.com"); c.Marketing == "subscribed" {
				t.Errorf("the actions subscribed a contact without consent: %+v", c)
			}
		})
	}
}
