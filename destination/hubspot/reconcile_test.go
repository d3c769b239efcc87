package hubspot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/hubspot/hubspotspec"
)

// TestReconcile pages through the contacts HubSpot changed with the CRM
// search (every request checked against HubSpot's spec), reports the
// stage and owner of those that have them, and starts the next pass
// where this one began, less the overlap.
func TestReconcile(t *testing.T) {
	now := time.Now().UTC()
	sim := hubspotsim.New(hubspotsim.Options{AccessToken: "pat-test", Validate: hubspotspec.Load(t).Validate})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		for _, v := range sim.Violations() {
			t.Errorf("request violates HubSpot's spec: %s", v)
		}
	})
	section := fmt.Sprintf(`{"access_token":"pat-test","base_url":%q,"webhook":{"reconcile_interval":"15m"}}`, srv.URL)
	d, err := hubspot.Open("crm", json.RawMessage(section), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	r := d.(synclayer.Reconciler)
	if d.(synclayer.InboundDestination).Inbound() != nil {
		t.Error("a reconcile-only block takes webhooks")
	}
	ctx := context.Background()
	for batch := 0; batch < 2; batch++ {
		var in []hubspot.UpsertInput
		for i := 0; i < 75; i++ {
			e := fmt.Sprintf("p%d-%d@example.com", batch, i)
			in = append(in, hubspot.UpsertInput{ID: e, IDProperty: "email", Properties: map[string]string{"email": e}})
		}
		if _, err := d.(*hubspot.Destination).Client().UpsertContacts(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.SetProperty("p1-3@example.com", "lifecyclestage", "opportunity"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.SetProperty("p0-9@example.com", "hubspot_owner_id", "42"); err != nil {
		t.Fatal(err)
	}

	var events []*synclayer.Event
	cursor, pages := "", 0
	for more := true; more; pages++ {
		var evs []*synclayer.Event
		evs, cursor, more, err = r.Reconcile(ctx, cursor, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	if pages != 2 {
		t.Errorf("%d pages for 150 contacts, want 2", pages)
	}
	got := map[string]string{}
	for _, ev := range events {
		for f, v := range ev.Customer.Fields {
			if f != synclayer.FieldEmail {
				got[ev.Customer.Email()+" "+f] = string(v)
			}
		}
		if ev.Customer.SourceID == "" || ev.DedupeKey == "" {
			t.Errorf("event %+v without the record ID or a dedupe key", ev)
		}
	}
	want := map[string]string{"p1-3@example.com lifecycleStage": `"opportunity"`, "p0-9@example.com owner": `"42"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reconciled %v, want %v", got, want)
	}
	var cur struct {
		Since time.Time `json:"since"`
	}
	if err := json.Unmarshal([]byte(cursor), &cur); err != nil || !cur.Since.Equal(now.Add(-2*time.Minute)) {
		t.Errorf("next pass's cursor %s, want since %s", cursor, now.Add(-2*time.Minute))
	}
}
