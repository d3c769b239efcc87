package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
)

func actionDestination(tb testing.TB, c *hubspot.Client) *hubspot.Destination {
	tb.Helper()
	d, err := hubspot.Open("hubspot", json.RawMessage(`{"access_token":"pat-test"}`), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatal(err)
	}
	*d.(*hubspot.Destination).Client() = *c
	return d.(*hubspot.Destination)
}

// TestCRMActions: a task is one task however often it is retried (keyed
// by the action), due when asked, assigned and associated with the
// contact; a note likewise; every request held to HubSpot's specs.
func TestCRMActions(t *testing.T) {
	sim, client := mustSim(t, hubspotsim.Options{})
	d := actionDestination(t, client)
	ctx := context.Background()
	ref := synclayer.ContactRef{ID: "c1", Email: "ann@example.com"}
	due := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	task := synclayer.Task{Subject: "Call Ann", Body: "She asked for a demo", Due: due, OwnerID: "22", Key: "wf_task1"}
	for range 2 {
		if err := d.CreateTask(ctx, ref, task); err != nil {
			t.Fatal(err)
		}
	}
	tasks := sim.Records("tasks")
	if len(tasks) != 1 {
		t.Fatalf("tasks = %+v, want one", tasks)
	}
	p := tasks[0].Properties
	if p["hs_task_subject"] != "Call Ann" || p["hs_task_status"] != "NOT_STARTED" || p["hubspot_owner_id"] != "22" ||
		p["hs_timestamp"] != "2026-12-09T10:00:00.000Z" || p[hubspot.ActionKeyProperty] != "wf_task1" {
		t.Fatalf("task properties = %v", p)
	}
	hc, ok := sim.Contact("ann@example.com")
	if !ok || !sim.Associated("tasks", tasks[0].ID, "contacts", hc.ID) {
		t.Fatalf("the task is not associated with the contact")
	}
	note := synclayer.Note{Body: "Mentioned cancelling", At: due, Key: "wf_note1"}
	for range 2 {
		if err := d.CreateNote(ctx, ref, note); err != nil {
			t.Fatal(err)
		}
	}
	notes := sim.Records("notes")
	if len(notes) != 1 || notes[0].Properties["hs_note_body"] != "Mentioned cancelling" || !sim.Associated("notes", notes[0].ID, "contacts", hc.ID) {
		t.Fatalf("notes = %+v", notes)
	}
	if err := d.CreateTask(ctx, ref, synclayer.Task{Subject: "x", Due: due}); err == nil {
		t.Fatal("a task without a key was created")
	}
}

// TestSetContactFields: set_attribute's property is created first, a
// contact HubSpot does not hold waits for customer-sync, and one it
// holds gets the value; the stage and owner are refused at load.
func TestSetContactFields(t *testing.T) {
	sim, client := mustSim(t, hubspotsim.Options{})
	d := actionDestination(t, client)
	ctx := context.Background()
	if err := d.EnsureContactFields(ctx, map[string]string{"churn_risk": "boolean"}); err != nil {
		t.Fatal(err)
	}
	ref := synclayer.ContactRef{ID: "c1", Email: "ann@example.com"}
	var retry *synclayer.RetryAfterError
	if err := d.SetContactFields(ctx, ref, map[string]any{"churn_risk": true}); !errors.As(err, &retry) {
		t.Fatal("a contact HubSpot does not hold did not wait")
	}
	if _, err := client.UpsertContacts(ctx, []hubspot.UpsertInput{{ID: ref.Email, IDProperty: "email", Properties: map[string]string{"email": ref.Email}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetContactFields(ctx, ref, map[string]any{"churn_risk": true}); err != nil {
		t.Fatal(err)
	}
	if hc, _ := sim.Contact(ref.Email); hc.Properties["churn_risk"] != "true" {
		t.Fatalf("churn_risk = %q", hc.Properties["churn_risk"])
	}
	for _, bad := range []synclayer.ActionCheck{
		{Kind: "set_attribute", Fields: []string{"lifecyclestage"}},
		{Kind: "set_attribute", Fields: []string{"Churn Risk"}},
		{Kind: "event", EventName: "x"},
		{Kind: "add_to_list", List: "7"},
	} {
		if d.CheckAction(bad) == nil {
			t.Errorf("CheckAction(%+v) = nil", bad)
		}
	}
	if err := d.CheckCRMAction(synclayer.ActionCheck{Kind: "create_task"}); err != nil {
		t.Fatal(err)
	}
}
