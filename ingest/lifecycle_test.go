package ingest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

func stageIngester(s synclayer.Store, on bool, owners map[string][]string) *ingest.Ingester {
	if owners == nil {
		owners = map[string][]string{}
	}
	for _, f := range synclayer.AggregateFields {
		owners[f] = []string{synclayer.OrderEventsSource}
	}
	return ingest.New(ingest.Config{Store: s, FieldOwners: owners, Now: clock(), CustomerStageOnFirstOrder: on, Routes: []ingest.Route{
		{Skill: "customer-sync", Destination: "hubspot", Sources: []string{"shopify", "hubspot"}},
		{Skill: "order-events", Destination: "brevo", Sources: []string{"shopify"}, Records: ingest.RecordOrders},
	}})
}

func TestIngest_FirstPaidOrderMakesACustomer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stageEvent := func(source, stage string, at time.Time) *synclayer.Event {
		ev := event("st-"+source+at.String(), "ann@example.com", "", at)
		ev.Source = source
		ev.Customer.Fields[synclayer.FieldLifecycleStage] = json.RawMessage(`"` + stage + `"`)
		return ev
	}
	t.Run("Default", func(t *testing.T) {
		s := storetest.OpenSQLite(t)
		in := stageIngester(s, true, nil)
		cid := mustIngest(t, in, stageEvent("hubspot", "lead", c0)).ContactID
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1", "pending", "10.00", c0.Add(time.Minute), "", "ann@example.com"), c0.Add(time.Minute)))
		if got := field(t, s, cid, synclayer.FieldLifecycleStage); got != `"lead"` {
			t.Fatalf("stage %s after a pending order, want lead", got)
		}
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderUpdated, shopifyOrder("1", "paid", "10.00", c0.Add(2*time.Minute), "", "ann@example.com"), c0.Add(2*time.Minute)))
		c, _ := s.FindContactByID(ctx, cid)
		if f := c.Fields[synclayer.FieldLifecycleStage]; string(f.Value) != `"customer"` || f.Source != "shopify" {
			t.Fatalf("stage %+v after a paid order, want customer from shopify", f)
		}
		if _, ok := pending(t, s, "customer-sync")[cid]; !ok {
			t.Error("no customer-sync job for the new customer")
		}
	})
	t.Run("TheCRMOwnsTheStage", func(t *testing.T) {
		s := storetest.OpenSQLite(t)
		in := stageIngester(s, true, map[string][]string{synclayer.FieldLifecycleStage: {"hubspot"}})
		cid := mustIngest(t, in, stageEvent("hubspot", "salesqualifiedlead", c0)).ContactID
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1", "paid", "10.00", c0.Add(time.Minute), "", "ann@example.com"), c0.Add(time.Minute)))
		if got := field(t, s, cid, synclayer.FieldLifecycleStage); got != `"salesqualifiedlead"` {
			t.Fatalf("stage %s, want the CRM's salesqualifiedlead kept", got)
		}
		trace, err := s.Trace(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range trace {
			found = found || strings.Contains(string(e.Detail), synclayer.RuleSourceOfTruth) && strings.Contains(string(e.Detail), "lifecycleStage")
		}
		if !found {
			t.Error("the refused stage is not in the trace")
		}
	})
	t.Run("Off", func(t *testing.T) {
		s := storetest.OpenSQLite(t)
		in := stageIngester(s, false, nil)
		cid := mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1", "paid", "10.00", c0, "", "ann@example.com"), c0)).ContactID
		if got := field(t, s, cid, synclayer.FieldLifecycleStage); got != "" {
			t.Fatalf("stage %s with the option off, want none", got)
		}
	})
}
