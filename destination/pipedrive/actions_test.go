package pipedrive_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
	"synclayer/destination/simkit"
)

func mustDestination(tb testing.TB, base string) *pipedrive.Destination {
	tb.Helper()
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base})
	d, err := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatal(err)
	}
	return d.(*pipedrive.Destination)
}

func TestDestination_CreateTask(t *testing.T) {
	ctx := context.Background()
	ref := synclayer.ContactRef{ID: "c1", Email: "Ann@Example.com"}
	due := time.Date(2026, 12, 9, 14, 30, 0, 0, time.FixedZone("CET", 3600))
	task := synclayer.Task{Subject: "Call Ann", Body: "She asked for a quote.", Due: due, OwnerID: "7", Key: "wf_0123456789abcdef"}
	t.Run("CreatedOnThePerson", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		sim.AddUser(pipedrivesim.User{ID: 7, Name: "Jane Seller", Email: "jane@shop.example", ActiveFlag: true})
		d := mustDestination(t, base)
		if err := d.CreateTask(ctx, ref, task); err != nil {
			t.Fatal(err)
		}
		p, ok := sim.Person("ann@example.com")
		acts := sim.Activities()
		if !ok || len(acts) != 1 {
			t.Fatalf("person %v, activities %+v: want a person made by email and one activity", ok, acts)
		}
		a := acts[0]
		if a.Type != "task" || a.Subject != "Call Ann" || a.OwnerID != 7 || a.PersonID == nil || *a.PersonID != p.ID ||
			a.DueDate != "2026-12-09" || a.DueTime != "13:30" || !strings.HasPrefix(a.Note, "She asked for a quote.") {
			t.Fatalf("activity %+v", a)
		}
	})
	t.Run("RetryFindsTheActivity", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		sim.AddUser(pipedrivesim.User{ID: 7, Name: "Jane Seller", ActiveFlag: true})
		if err := mustDestination(t, base).CreateTask(ctx, ref, task); err != nil {
			t.Fatal(err)
		}
		// The answer was lost; another process retries the action.
		if err := mustDestination(t, base).CreateTask(ctx, ref, task); err != nil {
			t.Fatal(err)
		}
		if n := len(sim.Activities()); n != 1 {
			t.Fatalf("activities = %d, want 1", n)
		}
		other := task
		other.Key = "wf_fedcba9876543210"
		if err := mustDestination(t, base).CreateTask(ctx, ref, other); err != nil {
			t.Fatal(err)
		}
		if n := len(sim.Activities()); n != 2 {
			t.Fatalf("activities = %d, want 2 for two keys", n)
		}
	})
	t.Run("BadOwnerIsPermanent", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		bad := task
		bad.OwnerID = "jane@shop.example"
		err := mustDestination(t, base).CreateTask(ctx, ref, bad)
		var perm *synclayer.PermanentError
		if !errors.As(err, &perm) || sim.Count(func(c simkit.Call) bool { return c.Method != http.MethodGet }) != 0 {
			t.Fatalf("err = %v, want a Permanent error before any write", err)
		}
	})
}

func TestDestination_CreateNote(t *testing.T) {
	ctx := context.Background()
	sim, _, base := mustSim(t, pipedrivesim.Options{})
	ref := synclayer.ContactRef{ID: "c1", Email: "ann@example.com"}
	n := synclayer.Note{Body: "Bought twice this week.", At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Key: "wf_aa"}
	for range 2 {
		if err := mustDestination(t, base).CreateNote(ctx, ref, n); err != nil {
			t.Fatal(err)
		}
	}
	notes := sim.Notes()
	p, _ := sim.Person("ann@example.com")
	if len(notes) != 1 || notes[0].PersonID == nil || *notes[0].PersonID != p.ID || !strings.HasPrefix(notes[0].Content, n.Body) || notes[0].AddTime != "2026-12-01 09:00:00" {
		t.Fatalf("notes %+v, want one on person %d", notes, p.ID)
	}
}

func TestDestination_Owners(t *testing.T) {
	sim, _, base := mustSim(t, pipedrivesim.Options{})
	sim.AddUser(pipedrivesim.User{ID: 7, Name: "Jane Seller", Email: "jane@shop.example", ActiveFlag: true})
	sim.AddUser(pipedrivesim.User{ID: 8, Name: "Gone", Email: "gone@shop.example"})
	d := mustDestination(t, base)
	owners, err := d.Owners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 2 || owners[1] != (synclayer.Owner{ID: "7", Email: "jane@shop.example", FirstName: "Jane", LastName: "Seller"}) {
		t.Fatalf("owners = %+v, want the two active users", owners)
	}
	if n := sim.CallCount("GET", "/api/v1/users"); n != 1 {
		t.Fatalf("GET /v1/users made %d times, want 1", n)
	}
	d.Owners(context.Background())
	if sim.CallCount("GET", "/api/v1/users") != 1 {
		t.Error("a second Owners within five minutes read Pipedrive again")
	}
}
