package workflow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/store/storetest"
	"synclayer/workflow"
)

// fakeCRM records the tasks and notes it is asked for, by key, as a CRM
// that upserts them by key does.
type fakeCRM struct {
	mu    sync.Mutex
	tasks map[string]synclayer.Task
	notes map[string]synclayer.Note
	calls int
}

func (f *fakeCRM) Name() string                               { return "crm" }
func (f *fakeCRM) Type() string                               { return "hubspot" }
func (f *fakeCRM) CheckCRMAction(synclayer.ActionCheck) error { return nil }
func (f *fakeCRM) CreateTask(_ context.Context, _ synclayer.ContactRef, t synclayer.Task) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.tasks[t.Key] = t
	return nil
}
func (f *fakeCRM) CreateNote(_ context.Context, _ synclayer.ContactRef, n synclayer.Note) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.notes[n.Key] = n
	return nil
}

// TestHandler_CRMActions: round-robin owners go in turn by trigger, a
// trigger fired again takes no turn, each change reaches ingest as
// source workflows keyed by its action, and a task waits for its rule's
// assign_owner and goes to the owner it picked, due due_in after the
// trigger.
func TestHandler_CRMActions(t *testing.T) {
	s := storetest.OpenSQLite(t)
	f := newFixture(t, s, workflow.Rule{Name: "leads", Trigger: synclayer.EventFormSubmitted, Destination: "crm", Actions: []workflow.Action{
		{Kind: workflow.KindSetLifecycleStage, Stage: "lead"},
		{Kind: workflow.KindAssignOwner, RoundRobin: []string{"11", "22"}},
		{Kind: workflow.KindCreateTask, Subject: "Call {{ .contact.email }}", DueIn: 48 * time.Hour},
	}})
	crm := &fakeCRM{tasks: map[string]synclayer.Task{}, notes: map[string]synclayer.Note{}}
	f.h.CRM = map[string]synclayer.CRMActionDestination{"crm": crm}
	var mu sync.Mutex
	var events []*synclayer.Event
	f.h.Ingest = func(ctx context.Context, ev *synclayer.Event) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e.DedupeKey == ev.DedupeKey {
				return true, nil
			}
		}
		events = append(events, ev)
		err := s.Tx(ctx, func(tx synclayer.Tx) error {
			c, err := tx.FindContactByEmail(ctx, ev.Customer.Email())
			if err != nil {
				return err
			}
			synclayer.Merge(c, ev.Customer, synclayer.MergeContext{Source: ev.Source, At: ev.OccurredAt})
			return tx.SaveContact(ctx, c)
		})
		ev.Status = synclayer.EventApplied
		return false, err
	}
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	form := func(c *synclayer.Contact, id string) synclayer.Trigger {
		return synclayer.Trigger{Type: synclayer.EventFormSubmitted, Key: id, EventID: id, ContactID: c.ID, At: at, Source: "demo", Data: map[string]any{"form": "demo"}}
	}
	ann, bob, cy := f.contact("ann@example.com", nil, false), f.contact("bob@example.com", nil, false), f.contact("cy@example.com", nil, false)
	f.fire(form(ann, "ev1"))
	f.fire(form(ann, "ev1")) // again: no rows, no turn
	f.fire(form(bob, "ev2"))
	f.fire(form(cy, "ev3"))

	// The tasks run first and wait for their rule's owner.
	errs := f.runQueue("workflows@crm")
	var retry *synclayer.RetryAfterError
	if len(errs) != 3 || !errors.As(errs[0], &retry) || crm.calls != 0 {
		t.Fatalf("tasks before their owner: %v (%d calls), want three waits", errs, crm.calls)
	}
	if errs := f.run(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if errs := f.runQueue("workflows@crm"); len(errs) != 0 {
		t.Fatal(errs)
	}
	owners := map[string]string{}
	for _, ev := range events {
		if ev.Source != workflow.WorkflowSource || !strings.HasPrefix(ev.DedupeKey, "wf_") || !ev.OccurredAt.Equal(at) {
			t.Errorf("event %+v: want source workflows, keyed by the action, dated at the trigger", ev)
		}
		var owner string
		if raw, ok := ev.Customer.Fields[synclayer.FieldOwner]; ok {
			owner = strings.Trim(string(raw), `"`)
			owners[ev.Customer.Email()] = owner
		}
	}
	if len(events) != 6 || owners["ann@example.com"] != "11" || owners["bob@example.com"] != "22" || owners["cy@example.com"] != "11" {
		t.Fatalf("owners %v from %d events, want 11, 22, 11 from 6", owners, len(events))
	}
	if len(crm.tasks) != 3 {
		t.Fatalf("tasks %+v, want 3", crm.tasks)
	}
	for _, task := range crm.tasks {
		email := strings.TrimPrefix(task.Subject, "Call ")
		if task.OwnerID != owners[email] || !task.Due.Equal(at.Add(48*time.Hour)) || task.Key == "" {
			t.Errorf("task %+v, want owner %s due 48h after the trigger", task, owners[email])
		}
	}
	// An assign_owner that never runs holds its task up for OwnerWait
	// only: then the task goes to the contact's owner as it stands.
	dee := f.contact("dee@example.com", nil, false)
	f.fire(form(dee, "ev4"))
	f.h.Now = func() time.Time { return time.Now().Add(workflow.OwnerWait + time.Minute) }
	if errs := f.runQueue("workflows@crm"); len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(crm.tasks) != 4 {
		t.Fatalf("tasks %d, want the fourth made unassigned", len(crm.tasks))
	}
	for _, task := range crm.tasks {
		if task.Subject == "Call dee@example.com" && task.OwnerID != "" {
			t.Errorf("task %+v, want unassigned", task)
		}
	}
}

// TestCompile_CRMActions: the CRM actions' settings are checked at load.
func TestCompile_CRMActions(t *testing.T) {
	for _, tt := range []struct {
		a    workflow.Action
		want string
	}{
		{workflow.Action{Kind: workflow.KindCreateTask}, "actions[0].create_task.subject: is required"},
		{workflow.Action{Kind: workflow.KindCreateTask, Subject: "x", DueIn: -time.Hour}, "due_in: must not be negative"},
		{workflow.Action{Kind: workflow.KindCreateNote, Body: "{{ .x "}, "create_note.body: template"},
		{workflow.Action{Kind: workflow.KindSetLifecycleStage, Stage: "prospect"}, `"prospect" is not a lifecycle stage`},
		{workflow.Action{Kind: workflow.KindAssignOwner}, "assign_owner: names no owner"},
		{workflow.Action{Kind: workflow.KindAssignOwner, OwnerID: "1", RoundRobin: []string{"2"}}, "not both"},
		{workflow.Action{Kind: workflow.KindAssignOwner, RoundRobin: []string{"2", ""}}, "round_robin[1]: is empty"},
	} {
		_, err := workflow.Compile([]workflow.Rule{{Name: "r", Trigger: synclayer.EventFormSubmitted, Destination: "crm", Actions: []workflow.Action{tt.a}}}, channels)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%+v) = %v, want %q", tt.a, err, tt.want)
		}
	}
}
