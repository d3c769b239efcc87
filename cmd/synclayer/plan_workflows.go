package main

import (
	"context"
	"time"

	"synclayer"
	"synclayer/workflow"
)

// planSink fires the rules in the copy, as ingest does live, and keeps
// the triggers of the record being planned, so the plan can say what
// each rule would do with them. Firing in the copy records each action
// there once: a later sample with the same trigger finds it fired.
type planSink struct {
	rules *workflow.Rules
	fired []synclayer.Trigger
}

func (s *planSink) Fire(ctx context.Context, tx synclayer.Tx, ts ...synclayer.Trigger) error {
	s.fired = append(s.fired, ts...)
	return s.rules.Fire(ctx, tx, ts...)
}

// planRule is what one rule would do for one of a record's triggers. At
// is when the trigger fires, when not at once (a cart's abandonment).
type planRule struct {
	workflow.RulePreview
	At time.Time `json:"at,omitzero"`
}

// workflows previews the rules on each trigger, and marks each action of
// a matching rule fired once: it fires when the copy's row for it
// (rule, action, trigger key) was made by this record's event, and is
// skipped when an earlier event or the live store made it already. A
// contact action on several destinations is previewed once for each
// (workflow.ActionPreview), each its own call; one row records it for
// all of them, so they fire, or were fired, together.
// Triggers that fire later (at) record nothing in the copy: a row there
// means the rule already fired for them.
func (p *planner) workflows(ctx context.Context, triggers []synclayer.Trigger, rec *planRecord, at time.Time) error {
	if p.cfg.workflows == nil {
		return nil
	}
	for _, t := range triggers {
		var c *synclayer.Contact
		if t.ContactID != "" {
			var err error
			c, err = p.snap.FindContactByID(ctx, t.ContactID)
			if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
				c, err = nil, nil
			}
			if err != nil {
				return err
			}
		}
		rules, err := p.cfg.workflows.Preview(ctx, t, c)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Matched {
				rows, err := p.snap.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: r.Rule, TriggerKey: t.Key, Limit: 1000})
				if err != nil {
					return err
				}
				for i := range r.Actions {
					a := &r.Actions[i]
					for _, row := range rows {
						if row.Action != a.Action || row.TriggerType != t.Type {
							continue
						}
						if at.IsZero() && row.EventID == t.EventID && t.EventID != "" {
							break // made now, by this record: it fires once
						}
						a.Fires, a.Skipped = false, "already fired for this record ("+row.CreatedAt.UTC().Format(time.RFC3339)+")"
						break
					}
				}
			}
			rec.Workflows = append(rec.Workflows, planRule{RulePreview: r, At: at})
		}
	}
	return nil
}
