package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/mailchimp"
	"synclayer/workflow"
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
				{AddToList: ListRef{List: tc.list}},
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

// TestWorkflows_SeveralDestinations runs one rule on Brevo and Klaviyo
// (destinations: [brevo, klaviyo]) with an event and an add_to_list
// that names each platform's own list. Klaviyo is down when the rule
// fires: Brevo gets its event and list at once, not after Klaviyo's
// retries; once Klaviyo answers again it gets each action once, and
// nothing is sent to Brevo a second time.
func TestWorkflows_SeveralDestinations(t *testing.T) {
	t.Parallel()
	rule := &WorkflowConfig{Name: "vip-everywhere", Trigger: "contact_updated", Destinations: []string{"brevo", "klaviyo"}, Actions: []WorkflowActionConfig{
		{Event: &EventActionConfig{Name: "became_vip", Properties: map[string]any{"name": "{{ .contact.firstName }}"}}},
		{AddToList: ListRef{On: map[string]string{"brevo": "7", "klaviyo": "Vip123"}}},
	}}
	e := startConformance(t, nil, true, []string{"brevo", "klaviyo"}, withWorkflows([]*WorkflowConfig{rule}))
	bsim := e.m.destinations["brevo"].(*brevo.Destination).Simulator()
	ksim := e.m.destinations["klaviyo"].(*klaviyo.Destination).Simulator()
	ksim.AddList("Vip123", "VIP")
	e.customer(1, "vip@example.com", "Vee", "subscribed", 0)
	e.waitIdle(20 * time.Second)

	ksim.SetOutage(klaviyosim.Outage500)
	e.customer(1, "vip@example.com", "Veronica", "subscribed", 1)
	deadline := time.Now().Add(15 * time.Second)
	inList := func() bool { c, _ := bsim.ContactByEmail("vip@example.com"); return slices.Contains(c.ListIDs, 7) }
	for len(bsim.EventsNamed("became_vip")) == 0 || !inList() {
		if time.Now().After(deadline) {
			t.Fatalf("Brevo got no event and list while Klaviyo was down: events %+v", bsim.EventsNamed("became_vip"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx := context.Background()
	// Brevo may finish before Klaviyo's first attempt has failed on a
	// busy machine: wait for that failure, so the outage is exercised.
	for failed := 0; failed == 0; {
		pending, err := e.m.DB.FindJobs(ctx, synclayer.JobFilter{Queue: "workflows@klaviyo"})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range pending {
			if j.State != synclayer.JobDone && j.LastError != "" {
				failed++
			}
		}
		if failed == 0 && time.Now().After(deadline) {
			t.Fatalf("no Klaviyo workflow job has failed yet (%+v); the outage was not exercised", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(ksim.EventsNamed("became_vip")); n != 0 {
		t.Fatalf("Klaviyo recorded %d events during its outage", n)
	}

	ksim.SetOutage(klaviyosim.OutageNone)
	e.waitIdle(40 * time.Second)
	if got := ksim.EventsNamed("became_vip"); len(got) != 1 || got[0].Properties["name"] != "Veronica" || got[0].UniqueID == "" {
		t.Errorf("Klaviyo events %+v, want one became_vip for Veronica with a unique_id", got)
	}
	p, ok := ksim.Profile("vip@example.com")
	if !ok || !slices.Contains(ksim.ListMembers("Vip123"), p.ID) {
		t.Errorf("Klaviyo list Vip123 members %v, want the profile %s", ksim.ListMembers("Vip123"), p.ID)
	}
	if got := bsim.EventsNamed("became_vip"); len(got) != 1 || got[0].Properties["name"] != "Veronica" {
		t.Errorf("Brevo events %+v, want one: Klaviyo's retries must not repeat Brevo's", got)
	}
	rows, err := e.m.DB.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: rule.Name})
	if err != nil || len(rows) != 2 {
		t.Fatalf("action rows %d (%v), want one per action", len(rows), err)
	}
	for _, r := range rows {
		for _, d := range []string{"brevo", "klaviyo"} {
			if _, err := e.m.DB.FindSyncState(ctx, workflow.JobKey(r.ID, d), synclayer.WorkflowSkill); err != nil {
				t.Errorf("%s action on %s has no done marker: %v", r.Kind, d, err)
			}
		}
	}
	if dead, _ := e.m.DB.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead}); len(dead) != 0 {
		t.Errorf("dead jobs %+v, want none", dead)
	}
}

// TestConfig_WorkflowDestinations: destination and destinations together,
// a name not configured, a duplicate, and an action one of the
// destinations refuses are each reported at their own key; event and
// brevo_event load alike, and not both in one item.
func TestConfig_WorkflowDestinations(t *testing.T) {
	t.Setenv("KLAVIYO_KEY_FOR_TEST", "pk_test")
	doc := `destinations:
  brevo: { api_key: "${KLAVIYO_KEY_FOR_TEST}" }
  klaviyo: { api_key: "${KLAVIYO_KEY_FOR_TEST}" }
workflows:
  - name: both
    trigger: order_created
    destination: brevo
    destinations: [brevo, klaviyo]
    actions:
      - event: { name: big_order }
  - name: unknown
    trigger: order_created
    destinations: [brevo, klavio]
    actions:
      - event: { name: big_order }
  - name: lists
    trigger: order_created
    destinations: [brevo, klaviyo]
    actions:
      - add_to_list: Xy12Ab
      - remove_from_list: { brevo: 7 }
      - add_to_list: { brevo: 7, klaviyo: Y6nRLr, mailchimp: vip }
  - name: twice
    trigger: order_created
    destinations: [klaviyo, klaviyo]
    actions:
      - event: { name: big_order }
      - brevo_event: { name: big_order }
        event: { name: big_order }
`
	_, err := ParseConfig([]byte(doc), "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"line 8: workflows[0] (both).destinations: give either destination (one) or destinations (several), not both",
		`line 13: workflows[1] (unknown).destinations[1]: destination "klavio" is not configured under destinations`,
		"line 20: workflows[2] (lists).actions[0].add_to_list: on destinations[0] (brevo): must be a Brevo list ID",
		"workflows[2] (lists).actions[1].remove_from_list: names no list for klaviyo",
		"workflows[2] (lists).actions[2].add_to_list.mailchimp: is not one of the rule's destinations (brevo, klaviyo)",
		`workflows[3] (twice).destinations[1]: "klaviyo" is named twice`,
		"workflows[3] (twice).actions[1]: sets 2 actions",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nmust contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "actions[0].add_to_list: on destinations[1]") {
		t.Errorf("Klaviyo refused a list ID it takes:\n%v", err)
	}

	good := `destinations:
  brevo: { api_key: "${KLAVIYO_KEY_FOR_TEST}" }
  klaviyo: { api_key: "${KLAVIYO_KEY_FOR_TEST}" }
workflows:
  - name: new-key
    trigger: order_created
    destinations: [brevo, klaviyo]
    actions:
      - event: { name: big_order, properties: { id: "{{ .order.id }}" } }
      - add_to_list: { brevo: 7, klaviyo: Y6nRLr }
  - name: old-key
    trigger: order_created
    actions:
      - brevo_event: { name: big_order, properties: { id: "{{ .order.id }}" } }
`
	cfg, err := ParseConfig([]byte(good), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.workflows.Destinations(); !slices.Equal(got, []string{"brevo", "klaviyo"}) {
		t.Errorf("destinations %v, want brevo and klaviyo", got)
	}
	stored, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"destinations:", "- brevo", "- klaviyo", "event:", "brevo_event:", "brevo: 7", "klaviyo: Y6nRLr"} {
		if !strings.Contains(stored, want) {
			t.Errorf("stored config lacks %q:\n%s", want, stored)
		}
	}
	if _, err := ParseConfig([]byte(stored), ""); err != nil {
		t.Errorf("the stored config does not load again: %v", err)
	}
}

// TestPlan_WorkflowOnSeveralDestinations: the dry run shows a contact
// action of a rule on Brevo and Klaviyo as one planned call on each,
// each with its own list, and a Slack action once.
func TestPlan_WorkflowOnSeveralDestinations(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	ctx := context.Background()
	samples := t.TempDir()
	order, _ := os.ReadFile("../../samples/05-order.json")
	if err := os.WriteFile(filepath.Join(samples, "01-order.json"), order, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.writeConfig(`  klaviyo: {api_key: pk_plan}
skills:
  customer-sync: {enabled: true, source: [shopify], options: {list_id: 5}}
  order-events: {enabled: true, source: [shopify]}
workflows:
  - name: big-order
    trigger: order_created
    destinations: [brevo, klaviyo]
    actions:
      - event: {name: big_order}
      - add_to_list: {brevo: 7, klaviyo: Y6nRLr}
      - webhook: {url: "https://hooks.example.com/orders", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
`)
	var out, text, stderr bytes.Buffer
	if err := runIO(ctx, []string{"plan", "--config", cfg, "--sample", samples, "--json"}, &out, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep planReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Records) != 1 || len(rep.Records[0].Workflows) != 1 {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	var got []string
	for _, a := range rep.Records[0].Workflows[0].Actions {
		got = append(got, fmt.Sprintf("%d %s %s: %s (%v)", a.Action, a.Kind, a.Destination, a.Does, a.Fires))
	}
	want := []string{
		"0 event brevo: send event big_order (true)",
		"0 event klaviyo: send event big_order (true)",
		"1 add_to_list brevo: add to list 7 (true)",
		"1 add_to_list klaviyo: add to list Y6nRLr (true)",
		"2 webhook : post a signed webhook to hooks.example.com (true)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("planned actions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := runIO(ctx, []string{"plan", "--config", cfg, "--sample", samples}, &text, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"event on brevo: send event big_order: fires once", "event on klaviyo: send event big_order: fires once",
		"add_to_list on klaviyo: add to list Y6nRLr: fires once"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("text plan lacks %q:\n%s", line, text.String())
		}
	}
}

// TestWorkflows_EventAndBrevoEvent: the event key and its older name
// brevo_event each send a Brevo event, through the real program.
func TestWorkflows_EventAndBrevoEvent(t *testing.T) {
	t.Parallel()
	rules := []*WorkflowConfig{
		{Name: "new-key", Trigger: "loyalty_tier_changed", Actions: []WorkflowActionConfig{{Event: &EventActionConfig{Name: "tier_new", Properties: map[string]any{"tier": "{{ .loyalty.tier }}"}}}}},
		{Name: "old-key", Trigger: "loyalty_tier_changed", Actions: []WorkflowActionConfig{{BrevoEvent: &BrevoEventActionConfig{Name: "tier_old", Properties: map[string]any{"tier": "{{ .loyalty.tier }}"}}}}},
	}
	e := startEnv(t, brevosim.Options{}, withWorkflows(rules))
	e.subscribe(811, "alias@example.com")
	e.waitIdle(10 * time.Second)
	e.activity("loyalty_tier_changed", map[string]any{"email": "alias@example.com", "tier": "gold"})
	e.waitIdle(15 * time.Second)
	for _, name := range []string{"tier_new", "tier_old"} {
		if got := e.sim.EventsNamed(name); len(got) != 1 || got[0].Properties["tier"] != "gold" {
			t.Errorf("%s events %+v, want one for gold", name, got)
		}
	}
}
