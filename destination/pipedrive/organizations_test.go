package pipedrive_test

import (
	"encoding/json"
	"testing"

	"synclayer"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
)

func withCompany(c *synclayer.Contact, company string) *synclayer.Contact {
	c.Fields[synclayer.FieldCompany] = synclayer.Field{Value: json.RawMessage(`"` + company + `"`)}
	return c
}

func TestContactSync_Organizations(t *testing.T) {
	t.Run("ReusedAcrossPersons", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		cs := mustSync(t, base, nil, nil)
		_, s1 := deliver(t, cs, withCompany(contact("ann@example.com", "Ann", ""), "Acme  Inc"), nil)
		b := withCompany(contact("bob@example.com", "Bob", ""), "acme inc")
		b.ID = "c2"
		deliver(t, cs, b, nil)
		// A second process (a restart) has no cache: it finds the
		// organization by name.
		cs2 := mustSync(t, base, nil, nil)
		c := withCompany(contact("cat@example.com", "Cat", ""), "ACME INC")
		c.ID = "c3"
		deliver(t, cs2, c, nil)
		orgs := sim.Organizations()
		if len(orgs) != 1 || orgs[0].Name != "Acme Inc" {
			t.Fatalf("organizations = %+v, want one named Acme Inc", orgs)
		}
		for _, email := range []string{"ann@example.com", "bob@example.com", "cat@example.com"} {
			p, _ := sim.Person(email)
			if p.OrgID == nil || *p.OrgID != orgs[0].ID {
				t.Errorf("person %s org_id = %v, want %d", email, p.OrgID, orgs[0].ID)
			}
		}
		var st struct {
			OrgID int64 `json:"orgId"`
		}
		_ = json.Unmarshal(s1, &st)
		if st.OrgID != orgs[0].ID {
			t.Errorf("state orgId = %d, want %d", st.OrgID, orgs[0].ID)
		}
	})
	t.Run("RedeliveryCallsNothing", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		cs := mustSync(t, base, nil, nil)
		_, st := deliver(t, cs, withCompany(contact("ann@example.com", "Ann", ""), "Acme"), nil)
		n := len(sim.Calls())
		plan, _ := deliver(t, cs, withCompany(contact("ann@example.com", "Ann", ""), "Acme"), st)
		if plan.Op != synclayer.PlanNone || len(sim.Calls()) != n {
			t.Fatalf("redelivery: op %s, %d more calls", plan.Op, len(sim.Calls())-n)
		}
	})
	t.Run("CompanyChangeMovesPerson", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		cs := mustSync(t, base, nil, nil)
		_, st := deliver(t, cs, withCompany(contact("ann@example.com", "Ann", ""), "Acme"), nil)
		deliver(t, cs, withCompany(contact("ann@example.com", "Ann", ""), "Globex"), st)
		orgs := sim.Organizations()
		p, _ := sim.Person("ann@example.com")
		if len(orgs) != 2 || p.OrgID == nil || *p.OrgID != orgs[1].ID {
			t.Fatalf("orgs %+v, person org %v: want the person in Globex", orgs, p.OrgID)
		}
	})
	t.Run("DeletedOrgIsCreatedAgain", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		cs := mustSync(t, base, nil, nil)
		deliver(t, cs, withCompany(contact("ann@example.com", "Ann", ""), "Acme"), nil)
		sim.DeleteOrganizationInPipedrive(sim.Organizations()[0].ID)
		b := withCompany(contact("bob@example.com", "Bob", ""), "Acme")
		b.ID = "c2"
		deliver(t, cs, b, nil)
		if orgs := sim.Organizations(); len(orgs) != 1 {
			t.Fatalf("live organizations = %+v, want one new", orgs)
		}
	})
	t.Run("OrgMappingOnlyForCompany", func(t *testing.T) {
		raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": "http://127.0.0.1:1"})
		d, err := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{Mapping: map[string]string{"email": "email", "tags": "org_id"}})
		if err == nil {
			t.Fatal("tags: org_id accepted")
		}
	})
}
