package workflow_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/store/storetest"
	"synclayer/workflow"
)

// second adds a second Brevo account, destination eu, to the fixture's
// handler, and returns its simulator.
func (f *fixture) second() (*brevosim.Server, *brevo.Client) {
	f.t.Helper()
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-eu"})
	hs := httptest.NewServer(sim)
	f.t.Cleanup(hs.Close)
	client := brevo.New(brevo.Config{APIKey: "xkeysib-eu", BaseURL: hs.URL + "/v3"})
	f.h.Destinations["eu"] = brevo.WithClient("eu", client)
	return sim, client
}

// runQueue is run for one queue: workflows@eu holds destination eu's jobs.
func (f *fixture) runQueue(queue string) []error {
	f.t.Helper()
	ctx := context.Background()
	now := time.Now()
	jobs, err := f.store.ClaimJobs(ctx, queue, 100, time.Minute, now)
	if err != nil {
		f.t.Fatal(err)
	}
	var errs []error
	for _, j := range jobs {
		st, trace, err := f.h.Handle(ctx, j)
		switch {
		case err == nil:
			err = f.store.CompleteJob(ctx, j, st, trace, now)
		case isPermanent(err):
			errs = append(errs, err)
			err = f.store.DeadJob(ctx, j, err.Error(), nil, now)
		default:
			errs = append(errs, err)
			err = f.store.RetryJob(ctx, j, now, err.Error(), nil, now)
		}
		if err != nil {
			f.t.Fatal(err)
		}
	}
	return errs
}

// TestHandler_SeveralDestinations: a rule on two destinations records
// one row per action and queues each contact action once per
// destination, in that destination's queue, and Slack once. While one
// destination fails, the other's actions complete; the failing one's
// retries, once it answers, act there once and repeat nothing on the
// other.
func TestHandler_SeveralDestinations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.OpenSQLite(t)
	f := newFixture(t, s, workflow.Rule{Name: "vip", Trigger: synclayer.EventOrderCreated, Destinations: []string{"brevo", "eu"},
		Actions: []workflow.Action{
			{Kind: workflow.KindEvent, Name: "became_vip", Properties: map[string]any{"order": "{{ .order.id }}"}},
			{Kind: workflow.KindAddToList, Lists: map[string]string{"brevo": "7", "eu": "12"}},
			{Kind: workflow.KindSetAttribute, Attributes: map[string]any{"VIP": true}},
			{Kind: workflow.KindSlack, Text: "vip {{ .order.id }}"},
		}})
	eu, euClient := f.second()
	c := f.contact("vip@example.com", nil, true)
	for _, cl := range []*brevo.Client{f.brevo, euClient} {
		if _, err := cl.CreateContact(ctx, brevo.CreateContactRequest{Email: c.Email, ExtID: c.ID}); err != nil {
			t.Fatal(err)
		}
	}
	eu.SetOutage(brevosim.Outage500)
	f.fire(orderTrigger(c, "1", 900))

	rows, _ := s.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: "vip"})
	if len(rows) != 4 {
		t.Fatalf("rows %d, want one per action", len(rows))
	}
	for queue, want := range map[string]int{"workflows": 4, "workflows@eu": 3} {
		if jobs, _ := s.FindJobs(ctx, synclayer.JobFilter{Queue: queue}); len(jobs) != want {
			t.Errorf("queue %s holds %d jobs, want %d", queue, len(jobs), want)
		}
	}
	if errs := f.run(); len(errs) > 0 {
		t.Fatalf("Brevo's actions failed while eu was down: %v", errs)
	}
	if errs := f.runQueue("workflows@eu"); len(errs) != 3 || isPermanent(errs[0]) || !strings.Contains(errs[0].Error(), "on eu") {
		t.Fatalf("eu errors %v, want three retries naming eu", errs)
	}
	if got := f.sim.EventsNamed("became_vip"); len(got) != 1 || got[0].Properties["order"] != "shopify:1" {
		t.Errorf("Brevo events %+v, want one during eu's outage", got)
	}
	if got, _ := f.sim.ContactByExtID(c.ID); !slices.Equal(got.ListIDs, []int64{7}) || got.Attributes["VIP"] != true {
		t.Errorf("Brevo contact %+v, want list 7 and VIP", got)
	}

	eu.SetOutage(brevosim.OutageNone)
	if errs := f.runQueue("workflows@eu"); len(errs) > 0 {
		t.Fatal(errs)
	}
	// Every job again, as a replay of all of them would: nothing repeats.
	f.tx(func(tx synclayer.Tx) error {
		for _, r := range rows {
			if r.Kind == workflow.KindSlack {
				if err := tx.EnqueueJob(ctx, synclayer.WorkflowSkill, r.Kind, workflow.JobKey(r.ID, ""), time.Now()); err != nil {
					return err
				}
				continue
			}
			for _, q := range []struct{ queue, dest string }{{"workflows", "brevo"}, {"workflows@eu", "eu"}} {
				if err := tx.EnqueueJob(ctx, q.queue, q.dest, workflow.JobKey(r.ID, q.dest), time.Now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if errs := append(f.run(), f.runQueue("workflows@eu")...); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := eu.EventsNamed("became_vip"); len(got) != 1 {
		t.Errorf("eu events %+v, want one once it answered", got)
	}
	if got, _ := eu.ContactByExtID(c.ID); !slices.Equal(got.ListIDs, []int64{12}) || got.Attributes["VIP"] != true {
		t.Errorf("eu contact %+v, want its own list 12 and VIP", got)
	}
	if n := len(f.sim.EventsNamed("became_vip")); n != 1 {
		t.Errorf("Brevo events %d, want still one", n)
	}
	if got := f.slack.messages(); !slices.Equal(got, []string{"vip shopify:1"}) {
		t.Errorf("Slack messages %q, want one: Slack runs once per rule", got)
	}
}

// TestHandler_EventKeyRenamed: an event action recorded as brevo_event
// and run after the config renamed the key to event finds its action
// (the same fingerprint) and sends it once; rows record event under the
// new name.
func TestHandler_EventKeyRenamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rule := func(kind string) workflow.Rule {
		return workflow.Rule{Name: "first", Trigger: synclayer.EventOrderCreated,
			Actions: []workflow.Action{{Kind: kind, Name: "first_purchase"}, {Kind: workflow.KindAddTag, Tag: "BUYER"}}}
	}
	f := newFixture(t, storetest.OpenSQLite(t), rule(workflow.KindBrevoEvent))
	c := f.contact("first@example.com", nil, true)
	f.fire(orderTrigger(c, "1", 10))
	f.reconfigure(rule(workflow.KindEvent))
	f.fire(orderTrigger(c, "2", 10))
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := len(f.sim.EventsNamed("first_purchase")); n != 2 {
		t.Errorf("events %d, want one per order, the renamed key's included", n)
	}
	rows, _ := f.store.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: "first"})
	kinds, prints := map[string]string{}, map[string]bool{}
	for _, r := range rows {
		if r.Action == 0 {
			kinds[r.TriggerKey], prints[r.Fingerprint] = r.Kind, true
		}
	}
	if len(prints) != 1 {
		t.Errorf("fingerprints %v, want one: renaming the key is no change to the action", prints)
	}
	if kinds["shopify:1"] != workflow.KindBrevoEvent || kinds["shopify:2"] != workflow.KindEvent {
		t.Errorf("row kinds %v, want the key each was recorded under", kinds)
	}
}

// TestHandler_DestinationJobs: a job queued before rules named several
// destinations (its key names none) runs on the rule's first; a job for
// a destination the rule no longer names dead-letters, saying so.
func TestHandler_DestinationJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rule := func(dests ...string) workflow.Rule {
		return workflow.Rule{Name: "ev", Trigger: synclayer.EventOrderCreated, Destinations: dests,
			Actions: []workflow.Action{{Kind: workflow.KindBrevoEvent, Name: "ordered"}}}
	}
	f := newFixture(t, storetest.OpenSQLite(t), rule("brevo"))
	c := f.contact("jobs@example.com", nil, true)

	// A row and its job as an older version queued them.
	row := &synclayer.WorkflowAction{Rule: "ev", Action: 0, Kind: workflow.KindBrevoEvent, TriggerType: synclayer.EventOrderCreated,
		TriggerKey: "shopify:old", ContactID: c.ID, View: []byte(`{"contact":{"email":"jobs@example.com"},"event":{}}`), CreatedAt: time.Now()}
	f.tx(func(tx synclayer.Tx) error {
		if _, err := tx.AddWorkflowAction(ctx, row); err != nil {
			return err
		}
		return tx.EnqueueJob(ctx, synclayer.WorkflowSkill, workflow.KindBrevoEvent, workflow.JobKey(row.ID, ""), time.Now())
	})
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := len(f.sim.EventsNamed("ordered")); n != 1 {
		t.Errorf("Brevo events %d, want the older job's one", n)
	}

	f.reconfigure(rule("brevo", "eu"))
	f.fire(orderTrigger(c, "3", 10))
	f.reconfigure(rule("brevo"))
	// eu has no client: a call to it would panic.
	f.h.Destinations["eu"] = brevo.WithClient("eu", nil)
	if errs := f.run(); len(errs) > 0 {
		t.Fatal(errs)
	}
	errs := f.runQueue("workflows@eu")
	if len(errs) != 1 || !isPermanent(errs[0]) || !strings.Contains(errs[0].Error(), "no longer acts on eu") {
		t.Errorf("errors %v, want the eu job dead-lettered: the rule dropped eu", errs)
	}
	if n := len(f.sim.EventsNamed("ordered")); n != 2 {
		t.Errorf("Brevo events %d, want the older job's and order 3's", n)
	}
}

// TestCompile_Destinations: the destination keys' own problems, and a
// destination's check of an action, each at its key; with several
// destinations the message names the one whose check failed.
func TestCompile_Destinations(t *testing.T) {
	refuse := func(a synclayer.ActionCheck) error {
		return synclayer.FieldErrorf("", "eu refuses list %s", a.List)
	}
	checks := map[string]func(synclayer.ActionCheck) error{"brevo": brevoChecks["brevo"], "eu": refuse}
	for _, tt := range []struct {
		name  string
		rule  workflow.Rule
		field string
		msg   string
	}{
		{"Both", workflow.Rule{Destination: "brevo", Destinations: []string{"brevo", "eu"}}, "destinations", "not both"},
		{"Empty", workflow.Rule{Destinations: []string{}}, "destinations", "names no destination"},
		{"Twice", workflow.Rule{Destinations: []string{"brevo", "eu", "brevo"}}, "destinations[2]", "named twice (also destinations[0])"},
		{"Blank", workflow.Rule{Destinations: []string{"brevo", " "}}, "destinations[1]", "is empty"},
		{"CheckedOnEach", workflow.Rule{Destinations: []string{"brevo", "eu"}, Checks: checks,
			Actions: []workflow.Action{{Kind: workflow.KindAddToList, ListID: 7}}}, "actions[0].add_to_list", "on destinations[1] (eu): eu refuses list 7"},
		{"EventChecked", workflow.Rule{Checks: checks, Actions: []workflow.Action{{Kind: workflow.KindEvent, Name: "a b"}}}, "actions[0].event.name", "letters, digits"},
		{"ListMissing", workflow.Rule{Destinations: []string{"brevo", "eu"},
			Actions: []workflow.Action{{Kind: workflow.KindRemoveFromList, Lists: map[string]string{"brevo": "7"}}}}, "actions[0].remove_from_list", "names no list for eu"},
		{"ListElsewhere", workflow.Rule{Actions: []workflow.Action{{Kind: workflow.KindAddToList, Lists: map[string]string{"brevo": "7", "klaviyo": "X1"}}}},
			"actions[0].add_to_list.klaviyo", "is not one of the rule's destinations (brevo)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.Name, r.Trigger = "rule", synclayer.EventOrderCreated
			if r.Actions == nil {
				r.Actions = []workflow.Action{{Kind: workflow.KindEvent, Name: "ok"}}
			}
			ps := problems(t, func() error { _, err := workflow.Compile([]workflow.Rule{r}, channels); return err }())
			if len(ps) != 1 || ps[0].Field != tt.field || !strings.Contains(ps[0].Message, tt.msg) {
				t.Errorf("problems %v, want one at %s with %q", ps, tt.field, tt.msg)
			}
		})
	}
}
