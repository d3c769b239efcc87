package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"synclayer"
)

var _ synclayer.TriggerSink = (*Rules)(nil)

// Fire records the actions of every rule that the triggers start, in
// tx. For each rule on a trigger's type, the filter is evaluated with the
// contact as tx holds it (after the change that fired the trigger); each
// action of a matching rule gets one row, unique on rule, action and
// trigger key, and jobs of skill workflows to run it: one for a Slack,
// webhook or add_tag action, and one for each of the rule's destinations
// for a contact action, in that destination's queue (workflows@klaviyo;
// Brevo's is workflows itself), so an outage of one destination holds up
// neither the others' jobs nor their workers. A trigger fired again (a
// redelivered or replayed webhook, another delivery of the same order)
// finds its rows and records nothing.
//
// A filter that fails at runtime (a key the trigger does not carry) skips
// its rule with a trace line: a bad rule never fails an ingest.
func (r *Rules) Fire(ctx context.Context, tx synclayer.Tx, triggers ...synclayer.Trigger) error {
	if r == nil {
		return nil
	}
	for _, t := range triggers {
		rules := r.byTrigger[t.Type]
		if len(rules) == 0 {
			continue
		}
		var c *synclayer.Contact
		if t.ContactID != "" {
			var err error
			c, err = tx.FindContactByID(ctx, t.ContactID)
			if synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && c.Deleted {
				// A deleted contact is nobody: rules see an empty contact,
				// and actions on the contact are skipped.
				c, err = nil, nil
			}
			if err != nil {
				return err
			}
		}
		view, snapshot, err := View(t, c)
		if err != nil {
			return err
		}
		traceKey := t.ContactID
		if traceKey == "" {
			traceKey = t.Key
		}
		now := time.Now().UTC()
		trace := func(summary string) error {
			return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: traceKey, At: now, Kind: synclayer.TraceEvent, EventID: t.EventID, Summary: summary})
		}
		for _, ru := range rules {
			ok, err := match(ctx, ru.filter, view)
			if err != nil {
				if err := trace(fmt.Sprintf("workflow %s skipped for %s %s: the filter failed: %v", ru.Name, t.Type, t.Key, err)); err != nil {
					return err
				}
				continue
			}
			if !ok {
				continue
			}
			var queued, skipped []string
			for i, a := range ru.actions {
				if a.needsContact() && c == nil {
					skipped = append(skipped, a.Kind)
					continue
				}
				row := &synclayer.WorkflowAction{Rule: ru.Name, Action: i, Kind: a.Kind, Fingerprint: a.fingerprint, TriggerType: t.Type, TriggerKey: t.Key,
					EventID: t.EventID, ContactID: t.ContactID, View: snapshot, CreatedAt: now}
				added, err := tx.AddWorkflowAction(ctx, row)
				if err != nil {
					return err
				}
				if !added {
					continue
				}
				if !a.onDestinations() {
					if err := tx.EnqueueJob(ctx, synclayer.WorkflowSkill, a.Kind, JobKey(row.ID, ""), now); err != nil {
						return err
					}
					queued = append(queued, a.Kind)
					continue
				}
				for _, d := range ru.destinations {
					if err := tx.EnqueueJob(ctx, synclayer.Queue(synclayer.WorkflowSkill, d), d, JobKey(row.ID, d), now); err != nil {
						return err
					}
				}
				if len(ru.destinations) > 1 {
					queued = append(queued, a.Kind+" on "+strings.Join(ru.destinations, " and "))
				} else {
					queued = append(queued, a.Kind)
				}
			}
			if len(queued) > 0 {
				if err := trace(fmt.Sprintf("workflow %s started by %s %s: queued %s", ru.Name, t.Type, t.Key, strings.Join(queued, ", "))); err != nil {
					return err
				}
			}
			if len(skipped) > 0 {
				if err := trace(fmt.Sprintf("workflow %s started by %s %s: skipped %s, which need a contact, and none is identified",
					ru.Name, t.Type, t.Key, strings.Join(skipped, ", "))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
