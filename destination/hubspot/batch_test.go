package hubspot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
)

// TestBatch_Companies: in batch mode, 150 new contacts of three
// companies (and some of none) cost, per batch of 100, one contact
// upsert, one company upsert and one association call, not three calls
// a contact; each contact ends linked to its own company, spelled any
// way; every request held to HubSpot's specs.
func TestBatch_Companies(t *testing.T) {
	sim, client := mustSim(t, hubspotsim.Options{})
	d, err := hubspot.Open("hubspot", json.RawMessage(`{"access_token":"pat-test"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	*d.(*hubspot.Destination).Client() = *client
	cs, err := d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{
		Mapping: map[string]string{"email": "email", "firstName": "firstname", "company": "company"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cs.Prepare(ctx, true); err != nil {
		t.Fatal(err)
	}
	b := cs.(synclayer.ContactBatcher)
	spellings := []string{"Acme Inc", "ACME  inc", "Globex", "Initech", ""}
	var rows []json.RawMessage
	want := map[string]string{} // email → company key
	for i := range 150 {
		email := fmt.Sprintf("buyer%03d@example.com", i)
		c := contact(email, "Buyer", "")
		if co := spellings[i%len(spellings)]; co != "" {
			c.Fields[synclayer.FieldCompany] = synclayer.Field{Value: json.RawMessage(fmt.Sprintf("%q", co))}
			want[email] = synclayer.CompanyKey(co)
		}
		row, err := b.PlanBatch(c, nil)
		if err != nil || row.Realtime != "" || row.Group != "contacts" {
			t.Fatalf("PlanBatch(%s) = %+v, %v; want a batch row", email, row, err)
		}
		rows = append(rows, row.Row)
	}
	before := len(sim.Calls())
	refused := map[int]string{}
	for start := 0; start < len(rows); start += 100 {
		chunk := rows[start:min(start+100, len(rows))]
		job, err := b.SendBatch(ctx, "contacts", chunk)
		if err != nil {
			t.Fatal(err)
		}
		_, r, err := b.CheckBatch(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		for i, reason := range r {
			refused[start+i] = reason
		}
	}
	if n := len(sim.Calls()) - before; n != 6 {
		t.Errorf("150 contacts in 2 batches made %d calls, want 6 (contacts, companies, links, twice)", n)
	}
	if n := sim.CallCount(http.MethodPost, "/crm/v4/associations/contacts/companies/batch/associate/default"); n != 2 {
		t.Errorf("%d batch association calls, want 2", n)
	}
	if len(refused) != 0 {
		t.Errorf("refused = %v, want none", refused)
	}
	companies := map[string]string{} // key → ID
	for _, co := range sim.Records("companies") {
		companies[co.Properties[hubspot.CompanyKeyProperty]] = co.ID
	}
	if len(companies) != 3 {
		t.Fatalf("companies %v, want acme inc, globex and initech", companies)
	}
	for email, key := range want {
		hc, ok := sim.Contact(email)
		if !ok || !sim.Associated("contacts", hc.ID, "companies", companies[key]) {
			t.Errorf("%s is not linked to %s", email, key)
		}
	}
}
