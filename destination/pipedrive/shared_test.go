package pipedrive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
	"synclayer/destination/simkit"
	"synclayer/store/storetest"
)

// instance is one synclayer instance's Pipedrive destination: its own
// client and caches, the store it shares with the others.
func instance(tb testing.TB, base string, shared synclayer.SharedKeys) *pipedrive.Destination {
	tb.Helper()
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base})
	d, err := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{Shared: shared})
	if err != nil {
		tb.Fatal(err)
	}
	return d.(*pipedrive.Destination)
}

// loseCreate forwards requests, but loses the answer to the first
// POST of path: Pipedrive made the record, the caller never hears.
type loseCreate struct {
	path string
	mu   sync.Mutex
	lost bool
}

func (l *loseCreate) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && !l.lost && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, l.path) {
		l.lost = true
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

func contactSync(tb testing.TB, d *pipedrive.Destination) synclayer.ContactSync {
	tb.Helper()
	cs, err := d.ContactSync(synclayer.ContactSyncConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

func dealSync(tb testing.TB, d *pipedrive.Destination) synclayer.OrderSync {
	tb.Helper()
	s, err := d.OrderSync(synclayer.SkillConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// apply plans and applies c, returning the error rather than failing, so
// it runs in a goroutine.
func apply(cs synclayer.ContactSync, c *synclayer.Contact) error {
	plan, err := cs.Plan(c, nil)
	if err != nil {
		return err
	}
	_, err = cs.Apply(context.Background(), c, plan)
	return err
}

// together runs fns at once, released together, and returns their errors.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var start, done sync.WaitGroup
	start.Add(1)
	for i, fn := range fns {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn()
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func posts(sim *pipedrivesim.Server, path string) int {
	return sim.Count(func(c simkit.Call) bool {
		p, _, _ := strings.Cut(c.Path, "?")
		return c.Method == http.MethodPost && strings.HasSuffix(p, path)
	})
}

// TestShared_CreatedOnceAcrossInstances: instances sharing one store (as
// synclayer instances sharing one PostgreSQL, or one SQLite file, do),
// each with its own Pipedrive client, deliver at once what needs one new
// organization or person, against a Pipedrive whose search does not see
// a new record for seconds: exactly one is created and every delivery
// links to it.
func TestShared_CreatedOnceAcrossInstances(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(testing.TB) synclayer.SharedKeys
	}{
		{"SQLite", func(tb testing.TB) synclayer.SharedKeys { return storetest.OpenSQLite(tb) }},
		{"Postgres", func(tb testing.TB) synclayer.SharedKeys { return storetest.OpenPostgres(tb) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			t.Run("OneOrganizationForPersonsOfANewCompany", func(t *testing.T) {
				sim, _, base := mustSim(t, pipedrivesim.Options{SearchLag: 5 * time.Second})
				shared := db.open(t)
				const n = 4
				var fns []func() error
				for i := range n {
					cs := contactSync(t, instance(t, base, shared))
					c := withCompany(contact(fmt.Sprintf("p%d@newco.example", i), "P", ""), "Newco  GmbH")
					c.ID = fmt.Sprintf("c%d", i)
					fns = append(fns, func() error { return apply(cs, c) })
				}
				for i, err := range together(fns...) {
					if err != nil {
						t.Fatalf("delivery %d: %v", i, err)
					}
				}
				orgs := sim.Organizations()
				if len(orgs) != 1 || posts(sim, "/api/v2/organizations") != 1 {
					t.Fatalf("organizations = %+v (%d created), want one", orgs, posts(sim, "/api/v2/organizations"))
				}
				for i := range n {
					p, ok := sim.Person(fmt.Sprintf("p%d@newco.example", i))
					if !ok || p.OrgID == nil || *p.OrgID != orgs[0].ID {
						t.Errorf("person %d: org_id %v, want %d", i, p.OrgID, orgs[0].ID)
					}
				}

				// Deleted in Pipedrive: the stored ID answers 404, is
				// forgotten, and one organization is made again.
				sim.DeleteOrganizationInPipedrive(orgs[0].ID)
				fns = nil
				for i := range 2 {
					cs := contactSync(t, instance(t, base, shared))
					c := withCompany(contact(fmt.Sprintf("q%d@newco.example", i), "Q", ""), "newco gmbh")
					c.ID = fmt.Sprintf("d%d", i)
					fns = append(fns, func() error { return apply(cs, c) })
				}
				for i, err := range together(fns...) {
					if err != nil {
						t.Fatalf("delivery after the delete %d: %v", i, err)
					}
				}
				again := sim.Organizations()
				if len(again) != 1 || again[0].ID == orgs[0].ID || posts(sim, "/api/v2/organizations") != 2 {
					t.Fatalf("after the delete: organizations %+v (%d created), want one new one", again, posts(sim, "/api/v2/organizations"))
				}
				for i := range 2 {
					if p, _ := sim.Person(fmt.Sprintf("q%d@newco.example", i)); p.OrgID == nil || *p.OrgID != again[0].ID {
						t.Errorf("person q%d: org_id %v, want %d", i, p.OrgID, again[0].ID)
					}
				}
			})
			t.Run("OnePersonForCustomerSyncAndADealAtOnce", func(t *testing.T) {
				sim, _, base := mustSim(t, pipedrivesim.Options{SearchLag: 5 * time.Second})
				shared := db.open(t)
				buyer := func() *synclayer.Contact { return withCompany(contact("buyer@newco.example", "Bo", ""), "Newco") }
				cs := contactSync(t, instance(t, base, shared))
				ds := dealSync(t, instance(t, base, shared))
				errs := together(
					func() error { return apply(cs, buyer()) },
					func() error {
						o, c := order(synclayer.OrderPaid), buyer()
						plan, err := ds.Plan(o, c, nil)
						if err != nil {
							return err
						}
						_, err = ds.Apply(context.Background(), o, c, plan)
						return err
					},
				)
				for i, err := range errs {
					if err != nil {
						t.Fatalf("delivery %d: %v", i, err)
					}
				}
				p, _ := sim.Person("buyer@newco.example")
				deals, orgs := sim.Deals(), sim.Organizations()
				if n := posts(sim, "/api/v2/persons"); n != 1 {
					t.Fatalf("%d persons created, want one", n)
				}
				if len(orgs) != 1 || len(deals) != 1 || deals[0].PersonID == nil || *deals[0].PersonID != p.ID ||
					p.OrgID == nil || *p.OrgID != orgs[0].ID || deals[0].OrgID == nil || *deals[0].OrgID != orgs[0].ID {
					t.Fatalf("person %+v, deals %+v, organizations %+v: want one of each, linked", p, deals, orgs)
				}
			})
			t.Run("ALostCreateAnswerKeepsTheClaim", func(t *testing.T) {
				sim, _, base := mustSim(t, pipedrivesim.Options{SearchLag: 300 * time.Millisecond})
				shared := db.open(t)
				raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base})
				d, err := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{Shared: shared, Transport: &loseCreate{path: "/api/v2/organizations"}})
				if err != nil {
					t.Fatal(err)
				}
				a, b := d.(*pipedrive.Destination), instance(t, base, shared)
				pipedrive.SetClaimTimes(a, 800*time.Millisecond, 100*time.Millisecond, 20*time.Millisecond)
				pipedrive.SetClaimTimes(b, 800*time.Millisecond, 100*time.Millisecond, 20*time.Millisecond)
				if err := apply(contactSync(t, a), withCompany(contact("ann@lostco.example", "Ann", ""), "Lostco")); err == nil {
					t.Fatal("the delivery whose create answer was lost succeeded")
				}
				// The organization exists, unseen by search: another
				// instance must not make a second while the claim lives.
				bob := withCompany(contact("bob@lostco.example", "Bob", ""), "Lostco")
				var retry *synclayer.RetryAfterError
				if err := apply(contactSync(t, b), bob); !errors.As(err, &retry) {
					t.Fatalf("a delivery during the lost create's claim: %v, want a RetryAfter", err)
				}
				time.Sleep(900 * time.Millisecond) // the claim runs out; search sees the organization
				if err := apply(contactSync(t, b), bob); err != nil {
					t.Fatal(err)
				}
				orgs := sim.Organizations()
				if len(orgs) != 1 {
					t.Fatalf("organizations = %+v, want one", orgs)
				}
				if p, _ := sim.Person("bob@lostco.example"); p.OrgID == nil || *p.OrgID != orgs[0].ID {
					t.Errorf("bob's org_id %v, want %d", p.OrgID, orgs[0].ID)
				}
			})
			t.Run("ADeadClaimerIsTakenOver", func(t *testing.T) {
				sim, _, base := mustSim(t, pipedrivesim.Options{SearchLag: 5 * time.Second})
				shared := db.open(t)
				// An instance claimed the organization and died before
				// it created it.
				if mine, err := shared.ClaimShared(context.Background(), "pipedrive:pipedrive:org:deadco", 500*time.Millisecond); err != nil || !mine {
					t.Fatalf("claim: %v %v", mine, err)
				}
				start := time.Now()
				if err := apply(contactSync(t, instance(t, base, shared)), withCompany(contact("ann@deadco.example", "Ann", ""), "Deadco")); err != nil {
					t.Fatal(err)
				}
				if waited := time.Since(start); waited < 400*time.Millisecond || waited > 5*time.Second {
					t.Errorf("waited %s for the dead claim, want about its 500 ms", waited)
				}
				if orgs := sim.Organizations(); len(orgs) != 1 {
					t.Fatalf("organizations = %+v, want one", orgs)
				}
			})
		})
	}
}
