package hubspot_test

import (
	"context"
	"strconv"
	"testing"

	"synclayer/destination/hubspot/hubspotsim"
)

// TestOwners: every active person owner is listed across pages, archived
// owners and queues are left out, and the list is read once for several
// callers; every request held to HubSpot's owners spec.
func TestOwners(t *testing.T) {
	sim, client := mustSim(t, hubspotsim.Options{})
	var owners []hubspotsim.Owner
	for i := range 230 {
		owners = append(owners, hubspotsim.Owner{ID: strconv.Itoa(1000 + i), Email: "owner" + strconv.Itoa(i) + "@example.com",
			FirstName: "Owner", LastName: strconv.Itoa(i), Type: "PERSON"})
	}
	owners[5].Archived = true
	owners[7].Type = "QUEUE"
	sim.SetOwners(owners)
	d := actionDestination(t, client)
	got, err := d.Owners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 228 {
		t.Fatalf("owners = %d, want 228 (230 less one archived, one queue)", len(got))
	}
	seen := map[string]bool{}
	for _, o := range got {
		if seen[o.ID] {
			t.Fatalf("owner %s listed twice", o.ID)
		}
		seen[o.ID] = true
	}
	if seen["1005"] || seen["1007"] || !seen["1229"] || got[0].Name() != "Owner 0" || got[0].Email != "owner0@example.com" {
		t.Fatalf("owners = %+v…", got[:2])
	}
	before := sim.CallCount("GET", "/crm/v3/owners")
	if _, err := d.Owners(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := sim.CallCount("GET", "/crm/v3/owners") - before; n != 0 {
		t.Fatalf("a second read within the TTL made %d calls, want 0", n)
	}
}
