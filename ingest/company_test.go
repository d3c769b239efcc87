package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

func withCompany(source, email, company string, at time.Time) *synclayer.Event {
	ev := event(fmt.Sprint("co-", dedupe.Add(1)), email, "", at)
	ev.Source = source
	ev.Customer.Fields[synclayer.FieldCompany] = json.RawMessage(fmt.Sprintf("%q", company))
	return ev
}

// TestCompanies, on both databases: three sources spelling one company
// three ways make one company with one stable ID, linked to each contact
// (companyId set); a contact that moves to another company is linked
// there and no longer to the first; a company cleared unlinks the
// contact; a contact update that leaves the company alone writes no
// company.
func TestCompanies(t *testing.T) {
	for name, open := range map[string]func(testing.TB) synclayer.Store{
		"SQLite":   func(tb testing.TB) synclayer.Store { return storetest.OpenSQLite(tb) },
		"Postgres": func(tb testing.TB) synclayer.Store { return storetest.OpenPostgres(tb) },
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			in := ingest.New(ingest.Config{Store: s, Now: clock()})
			ann := mustIngest(t, in, withCompany("shopify", "ann@example.com", "ACME  Inc", c0))
			bob := mustIngest(t, in, withCompany("woocommerce", "bob@example.com", "acme inc", c0.Add(time.Minute)))
			cat := mustIngest(t, in, withCompany("form", "cat@example.com", "Acme Inc", c0.Add(2*time.Minute)))
			cos, err := s.FindCompanies(ctx, "acme", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(cos) != 1 || cos[0].Name != "Acme Inc" || cos[0].Key != "acme inc" || len(cos[0].Sources) != 3 {
				t.Fatalf("companies = %+v, want one, Acme Inc (the latest spelling), named by three sources", cos)
			}
			acme := cos[0].ID
			members, err := s.FindCompanyContacts(ctx, acme, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(members) != 3 || members[0] != ann.ContactID || members[1] != bob.ContactID || members[2] != cat.ContactID {
				t.Fatalf("contacts of %s = %v, want ann, bob, cat", acme, members)
			}
			companyID := func(id string) string {
				c, err := s.FindContactByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				var v string
				_ = json.Unmarshal(c.Value(synclayer.FieldCompanyID), &v)
				return v
			}
			if got := companyID(bob.ContactID); got != acme {
				t.Fatalf("bob's companyId = %q, want %s", got, acme)
			}

			// A change that leaves the company alone: no company written.
			before, _ := s.FindCompany(ctx, acme)
			upd := event(fmt.Sprint("co-", dedupe.Add(1)), "ann@example.com", "", c0.Add(3*time.Minute))
			upd.Customer.Fields[synclayer.FieldFirstName] = json.RawMessage(`"Ann"`)
			if r := mustIngest(t, in, upd); r.Status != synclayer.EventApplied {
				t.Fatalf("update: %+v", r)
			}
			if after, _ := s.FindCompany(ctx, acme); after.Version != before.Version {
				t.Errorf("company version %d → %d on an update that did not touch the company", before.Version, after.Version)
			}

			// Bob moves to Globex; Cat's company is cleared.
			mustIngest(t, in, withCompany("woocommerce", "bob@example.com", "Globex", c0.Add(4*time.Minute)))
			clear := event(fmt.Sprint("co-", dedupe.Add(1)), "cat@example.com", "", c0.Add(5*time.Minute))
			clear.Source = "form"
			clear.Customer.Fields[synclayer.FieldCompany] = json.RawMessage(`null`)
			mustIngest(t, in, clear)
			if members, _ := s.FindCompanyContacts(ctx, acme, 10); len(members) != 1 || members[0] != ann.ContactID {
				t.Errorf("Acme's contacts after the moves = %v, want only ann", members)
			}
			globex, _ := s.FindCompanies(ctx, "Globex", 10)
			if len(globex) != 1 || companyID(bob.ContactID) != globex[0].ID {
				t.Errorf("Globex = %+v, bob's companyId %q", globex, companyID(bob.ContactID))
			}
			if got := companyID(cat.ContactID); got != "" {
				t.Errorf("cat's companyId = %q after the company was cleared, want none", got)
			}
			if all, _ := s.FindCompanies(ctx, "", 10); len(all) != 2 {
				t.Errorf("all companies = %d, want 2", len(all))
			}
		})
	}
}
