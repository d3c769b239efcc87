package hubspot_test

import (
	"encoding/json"
	"testing"

	"synclayer"
	"synclayer/destination/hubspot/hubspotsim"
)

// TestContactSync_LifecycleStage: lifecycleStage and owner go to
// lifecyclestage and hubspot_owner_id; a stage moved back (by its owner,
// upstream) is cleared first, in its own call, since HubSpot ignores a
// backwards write; a forward move is one call.
func TestContactSync_LifecycleStage(t *testing.T) {
	sim, c := mustSim(t, hubspotsim.Options{})
	cs := mustSync(t, c, nil)
	ct := contact("stage@example.com", "Sam", "")
	set := func(stage string) {
		ct.Fields[synclayer.FieldLifecycleStage] = synclayer.Field{Value: json.RawMessage(`"` + stage + `"`)}
	}
	set("customer")
	ct.Fields[synclayer.FieldOwner] = synclayer.Field{Value: json.RawMessage(`"8675309"`)}
	_, st := deliver(t, cs, ct, nil)
	got, _ := sim.Contact("stage@example.com")
	if got.Properties["lifecyclestage"] != "customer" || got.Properties["hubspot_owner_id"] != "8675309" {
		t.Fatalf("properties %v", got.Properties)
	}

	set("opportunity")
	plan, st := deliver(t, cs, ct, st)
	if len(plan.Calls) != 2 {
		t.Fatalf("a backwards move: %d calls, want the clear and then the stage", len(plan.Calls))
	}
	if got, _ := sim.Contact("stage@example.com"); got.Properties["lifecyclestage"] != "opportunity" {
		t.Fatalf("stage %q, want opportunity", got.Properties["lifecyclestage"])
	}

	set("evangelist")
	if plan, _ := deliver(t, cs, ct, st); len(plan.Calls) != 1 {
		t.Errorf("a forward move: %d calls, want 1", len(plan.Calls))
	}
	if got, _ := sim.Contact("stage@example.com"); got.Properties["lifecyclestage"] != "evangelist" {
		t.Errorf("stage %q, want evangelist", got.Properties["lifecyclestage"])
	}
}

// TestSimulator_StageMovesForwardOnly: HubSpot answers a backwards write
// as a success and keeps the stage; a clear lets any stage follow.
func TestSimulator_StageMovesForwardOnly(t *testing.T) {
	sim, c := mustSim(t, hubspotsim.Options{})
	cs := mustSync(t, c, nil)
	ct := contact("fwd@example.com", "F", "")
	ct.Fields[synclayer.FieldLifecycleStage] = synclayer.Field{Value: json.RawMessage(`"customer"`)}
	deliver(t, cs, ct, nil)
	// Written with no sync state, the plan cannot know to clear.
	ct.Fields[synclayer.FieldLifecycleStage] = synclayer.Field{Value: json.RawMessage(`"lead"`)}
	deliver(t, cs, ct, nil)
	if got, _ := sim.Contact("fwd@example.com"); got.Properties["lifecyclestage"] != "customer" {
		t.Errorf("stage %q after a backwards write, want customer kept", got.Properties["lifecyclestage"])
	}
}

// TestContactSync_WhatHubSpotReportedIsNotWrittenBack: a stage the
// canonical contact holds from HubSpot itself (its webhook) is what
// HubSpot holds: no call, not even the clear of a backwards move.
func TestContactSync_WhatHubSpotReportedIsNotWrittenBack(t *testing.T) {
	_, c := mustSim(t, hubspotsim.Options{})
	cs := mustSync(t, c, nil)
	ct := contact("back@example.com", "B", "")
	ct.Fields[synclayer.FieldLifecycleStage] = synclayer.Field{Value: json.RawMessage(`"customer"`), Source: "shopify"}
	_, st := deliver(t, cs, ct, nil)
	ct.Fields[synclayer.FieldLifecycleStage] = synclayer.Field{Value: json.RawMessage(`"lead"`), Source: "hubspot"}
	plan, err := cs.Plan(ct, st)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Op != synclayer.PlanNone {
		t.Errorf("plan %s with %d calls for HubSpot's own stage, want none", plan.Op, len(plan.Calls))
	}
	ct.Fields[synclayer.FieldLifecycleStage] = synclayer.Field{Value: json.RawMessage(`"lead"`), Source: "custom"}
	if plan, _ := cs.Plan(ct, st); len(plan.Calls) != 2 {
		t.Errorf("a stage moved back elsewhere: %d calls, want the clear and the stage", len(plan.Calls))
	}
}
