package hubspot

import (
	"encoding/json"
	"slices"

	"synclayer"
)

// HubSpot's own contact properties for the CRM fields.
const (
	PropertyLifecycleStage = "lifecyclestage"
	PropertyOwner          = "hubspot_owner_id"
)

// hubspotStageOrder is the order HubSpot moves lifecyclestage in: its
// default stages, other last. HubSpot ignores a write that moves the
// stage to an earlier one unless the property is cleared first
// (docs/platforms/hubspot.md).
var hubspotStageOrder = synclayer.LifecycleStages

// stageRank is value's place in hubspotStageOrder (1 …), or 0 for a
// value that is not one of the default stages (a custom stage, or none).
func stageRank(value string) int {
	return slices.Index(hubspotStageOrder, synclayer.LifecycleStage(value)) + 1
}

// stageClear returns the call that clears lifecyclestage before an
// upsert of props moves it back from what HubSpot holds (held): a
// separate request, since HubSpot does not promise the order of a
// batch's inputs. Nil when the move is forward, or either side is no
// default stage.
func stageClear(held map[string]json.RawMessage, props map[string]string) *synclayer.PlannedCall {
	next, ok := props[PropertyLifecycleStage]
	if !ok || next == "" {
		return nil
	}
	var cur string
	_ = json.Unmarshal(held[PropertyLifecycleStage], &cur)
	if stageRank(cur) == 0 || stageRank(next) == 0 || stageRank(next) >= stageRank(cur) {
		return nil
	}
	in := UpsertInput{ID: props["email"], IDProperty: "email", Properties: map[string]string{"email": props["email"], PropertyLifecycleStage: ""}}
	return &synclayer.PlannedCall{Method: "POST", Path: pathUpsert, Body: upsertBody{Inputs: []UpsertInput{in}}}
}

// heldByHubSpot marks as held the values HubSpot itself reported (the
// canonical field's source is this destination: its webhook or
// reconciliation), so a change made in HubSpot is not written back to
// it, nor, for a stage moved back, cleared and written again.
func (s *ContactSync) heldByHubSpot(c *synclayer.Contact, held, vals map[string]json.RawMessage) {
	if s.name == "" {
		return
	}
	for field, prop := range s.mapping {
		if f, ok := c.Fields[field]; ok && f.Source == s.name {
			if v, ok := vals[prop]; ok {
				held[prop] = v
			}
		}
	}
}
