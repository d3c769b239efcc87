package synclayer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Canonical CRM fields: where the person stands in the funnel, and the
// CRM user who owns them (an owner ID, as text). A CRM usually owns both
// (fields: {lifecycleStage: [hubspot], owner: [hubspot]}).
const (
	FieldLifecycleStage = "lifecycleStage"
	FieldOwner          = "owner"
)

// LifecycleStage is a contact's stage, as HubSpot's default stages name
// them.
type LifecycleStage string

// The lifecycle stages, in funnel order. StageOther is outside the funnel.
const (
	StageSubscriber             LifecycleStage = "subscriber"
	StageLead                   LifecycleStage = "lead"
	StageMarketingQualifiedLead LifecycleStage = "marketingqualifiedlead"
	StageSalesQualifiedLead     LifecycleStage = "salesqualifiedlead"
	StageOpportunity            LifecycleStage = "opportunity"
	StageCustomer               LifecycleStage = "customer"
	StageEvangelist             LifecycleStage = "evangelist"
	StageOther                  LifecycleStage = "other"
)

// LifecycleStages lists every stage: the funnel in order, then other.
var LifecycleStages = []LifecycleStage{
	StageSubscriber, StageLead, StageMarketingQualifiedLead, StageSalesQualifiedLead,
	StageOpportunity, StageCustomer, StageEvangelist, StageOther,
}

// Rank is the stage's place in the funnel (subscriber 1 … evangelist 7),
// or 0 for other and for a value that is no stage: other is outside the
// funnel, so a move to or from it is neither forward nor backward
// (decision 0019).
func (s LifecycleStage) Rank() int {
	if s == StageOther {
		return 0
	}
	return slices.Index(LifecycleStages, s) + 1
}

// Valid reports whether s is one of LifecycleStages.
func (s LifecycleStage) Valid() bool { return slices.Contains(LifecycleStages, s) }

// ParseLifecycleStage reads a lifecycle stage from a JSON value: a string
// naming one of LifecycleStages, case and surrounding spaces ignored. Any
// other value is an EINVALID *Error naming field.
func ParseLifecycleStage(field string, raw json.RawMessage) (LifecycleStage, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", FieldErrorf(field, "must be a lifecycle stage as text (%s)", stageNames())
	}
	st := LifecycleStage(strings.ToLower(strings.TrimSpace(s)))
	if !st.Valid() {
		shown := s
		if len(shown) > 40 {
			shown = shown[:40] + "…"
		}
		return "", FieldErrorf(field, "%q is not a lifecycle stage: the stages are %s", shown, stageNames())
	}
	return st, nil
}

func stageNames() string {
	names := make([]string, len(LifecycleStages))
	for i, s := range LifecycleStages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Rules of the lifecycle stage, as recorded in a contact's trace.
const (
	// RuleStageBackwards: a move to an earlier stage by a system that
	// does not own the field, not applied. Only the field's owners
	// (MergeContext.FieldOwners) move a stage back.
	RuleStageBackwards = "stage_backwards"
	// RuleInvalidValue: a value the field cannot hold, not applied.
	RuleInvalidValue = "invalid_value"
)

// checkStage decides a lifecycle stage change before the general rules:
// a value that is no stage is refused, and so is a backwards move from a
// system that is not among the field's owners. It returns nil when the
// general rules decide; the value is stored lowercased.
func checkStage(c *Contact, val json.RawMessage, mc MergeContext) (json.RawMessage, *Decision) {
	if isNull(val) {
		return val, nil
	}
	next, err := ParseLifecycleStage(FieldLifecycleStage, val)
	if err != nil {
		return val, &Decision{Field: FieldLifecycleStage, Rule: RuleInvalidValue, Old: c.Value(FieldLifecycleStage), New: val, Note: err.Error()}
	}
	val = jsonString(string(next))
	cur := LifecycleStage(textValue(c.Value(FieldLifecycleStage)))
	if cur.Rank() == 0 || next.Rank() == 0 || next.Rank() >= cur.Rank() {
		return val, nil
	}
	if owners := mc.FieldOwners[FieldLifecycleStage]; slices.Contains(owners, mc.Source) {
		return val, nil
	}
	note := fmt.Sprintf("%s is before %s: stages move forward only, unless the field's owner moves them back", next, cur)
	if owners := mc.FieldOwners[FieldLifecycleStage]; len(owners) == 0 {
		note += " (fields: names no owner of " + FieldLifecycleStage + ")"
	}
	return val, &Decision{Field: FieldLifecycleStage, Rule: RuleStageBackwards, Old: c.Value(FieldLifecycleStage), New: val, Note: note}
}
