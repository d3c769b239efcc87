package pipedrive_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
)

func mustDeals(tb testing.TB, base string, opts map[string]any) synclayer.OrderSync {
	tb.Helper()
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base})
	d, err := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatal(err)
	}
	o, _ := json.Marshal(opts)
	s, err := d.(synclayer.OrderDestination).OrderSync(synclayer.SkillConfig{Options: o})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func order(status synclayer.OrderStatus) *synclayer.Order {
	return &synclayer.Order{ID: "shopify:5001", SourceID: "5001", Number: "#5001", Status: status, Currency: "eur",
		Total: synclayer.MustMoney("120.50"), CreatedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
}

func applyDeal(tb testing.TB, s synclayer.OrderSync, o *synclayer.Order, c *synclayer.Contact, prev json.RawMessage) (*synclayer.Plan, json.RawMessage) {
	tb.Helper()
	plan, err := s.Plan(o, c, prev)
	if err != nil {
		tb.Fatal(err)
	}
	if plan.Op != synclayer.PlanNone {
		if _, err := s.Apply(context.Background(), o, c, plan); err != nil {
			tb.Fatal(err)
		}
	}
	return plan, plan.Next
}

func TestDealSync(t *testing.T) {
	buyer := func() *synclayer.Contact { return withCompany(contact("buyer@acme.example", "Bo", ""), "Acme Inc") }
	t.Run("OneDealLinkedAndRedeliveryCreatesNothing", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		s := mustDeals(t, base, nil)
		_, st := applyDeal(t, s, order(synclayer.OrderPaid), buyer(), nil)
		deals, orgs := sim.Deals(), sim.Organizations()
		p, ok := sim.Person("buyer@acme.example")
		if !ok || len(deals) != 1 || len(orgs) != 1 {
			t.Fatalf("person %v, deals %+v, orgs %+v: want one of each", ok, deals, orgs)
		}
		d := deals[0]
		if d.Title != "Order #5001" || d.Value != 120.5 || d.Currency != "EUR" || d.Status != "won" ||
			d.PersonID == nil || *d.PersonID != p.ID || d.OrgID == nil || *d.OrgID != orgs[0].ID {
			t.Fatalf("deal %+v, want a won deal of 120.50 EUR linked to person %d and org %d", d, p.ID, orgs[0].ID)
		}
		n := writes(sim)
		plan, _ := applyDeal(t, s, order(synclayer.OrderPaid), buyer(), st)
		if plan.Op != synclayer.PlanNone || writes(sim) != n {
			t.Fatalf("redelivery: op %s, %d more writes", plan.Op, writes(sim)-n)
		}
	})
	t.Run("LostAnswerFindsTheDealByOrderField", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		s := mustDeals(t, base, nil)
		applyDeal(t, s, order(synclayer.OrderPaid), buyer(), nil)
		// The first answer was lost: the state was never recorded, and a
		// new process (no caches) runs the job again.
		s2 := mustDeals(t, base, nil)
		applyDeal(t, s2, order(synclayer.OrderPaid), buyer(), nil)
		if deals := sim.Deals(); len(deals) != 1 {
			t.Fatalf("deals = %d, want 1", len(deals))
		}
		if n := len(sim.DealFields()); n != 1 {
			t.Fatalf("deal fields = %d, want one synclayer_order_id", n)
		}
		if p := sim.Organizations(); len(p) != 1 {
			t.Fatalf("organizations = %d, want 1", len(p))
		}
	})
	t.Run("StageFollowsTheFinancialState", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		s := mustDeals(t, base, map[string]any{"pipeline_id": 2, "deal_stages": map[string]int{"open": 6, "won": 7, "lost": 8}})
		steps := []struct {
			status synclayer.OrderStatus
			want   string
			stage  int64
		}{
			{synclayer.OrderPending, "open", 6},
			{synclayer.OrderPaid, "won", 7},
			{synclayer.OrderRefunded, "lost", 8},
		}
		var st json.RawMessage
		for _, step := range steps {
			_, st = applyDeal(t, s, order(step.status), buyer(), st)
			deals := sim.Deals()
			if len(deals) != 1 || deals[0].Status != step.want || deals[0].StageID != step.stage || deals[0].PipelineID != 2 {
				t.Fatalf("after %s: deals %+v, want one %s deal in stage %d of pipeline 2", step.status, deals, step.want, step.stage)
			}
		}
	})
	t.Run("NoneAndFirstOrder", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		applyDeal(t, mustDeals(t, base, map[string]any{"deals": "none"}), order(synclayer.OrderPaid), buyer(), nil)
		c := buyer()
		c.Fields[synclayer.FieldFirstOrderDate] = synclayer.Field{Value: json.RawMessage(`"2026-01-01T00:00:00Z"`)}
		applyDeal(t, mustDeals(t, base, map[string]any{"deals": "first_order"}), order(synclayer.OrderPaid), c, nil)
		if n := len(sim.Deals()); n != 0 {
			t.Fatalf("deals = %d, want none", n)
		}
	})
	t.Run("BadOptions", func(t *testing.T) {
		raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": "http://127.0.0.1:1"})
		d, _ := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{})
		for _, o := range []string{`{"deals":"all"}`, `{"deal_stages":{"paid":3}}`, `{"deal_stages":{"won":0}}`, `{"pipeline":"x"}`} {
			if _, err := d.(synclayer.OrderDestination).OrderSync(synclayer.SkillConfig{Options: json.RawMessage(o)}); err == nil {
				t.Errorf("options %s accepted", o)
			}
		}
	})
}
