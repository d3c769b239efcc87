package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"synclayer"
)

// RulePreview is what one rule would do for a trigger, for dry runs.
// Matched is false when the filter does not hold (Reason says so, or
// that the filter failed).
type RulePreview struct {
	Rule       string              `json:"rule"`
	Trigger    synclayer.EventType `json:"trigger"`
	TriggerKey string              `json:"triggerKey"`
	Matched    bool                `json:"matched"`
	Reason     string              `json:"reason,omitempty"`
	Actions    []ActionPreview     `json:"actions,omitempty"`
}

// ActionPreview is one action a matching rule would record: its kind,
// where it acts, what it would do, and its fingerprint, which with the
// rule, the action's index and the trigger key makes it fire once.
// A contact action on several destinations has one preview for each,
// since each is its own call and delivery. Skipped says why it would not
// run (it needs a contact and none is identified); the caller adds
// whether it already fired.
type ActionPreview struct {
	Action      int    `json:"action"`
	Kind        string `json:"kind"`
	Destination string `json:"destination,omitempty"`
	Does        string `json:"does"`
	Fingerprint string `json:"fingerprint"`
	// Fires is true when the action would run, once; Skipped says why
	// not.
	Fires   bool   `json:"fires"`
	Skipped string `json:"skipped,omitempty"`
}

// Preview evaluates the rules on t's type against t and c (the contact
// as it stands after the change; nil when nobody is identified), as Fire
// would, without recording anything. Rules are in config order.
func (r *Rules) Preview(ctx context.Context, t synclayer.Trigger, c *synclayer.Contact) ([]RulePreview, error) {
	if r == nil {
		return nil, nil
	}
	rules := r.byTrigger[t.Type]
	if len(rules) == 0 {
		return nil, nil
	}
	if c != nil && c.Deleted {
		c = nil
	}
	view, _, err := View(t, c)
	if err != nil {
		return nil, err
	}
	var out []RulePreview
	for _, ru := range rules {
		p := RulePreview{Rule: ru.Name, Trigger: t.Type, TriggerKey: t.Key}
		ok, err := match(ctx, ru.filter, view)
		switch {
		case err != nil:
			p.Reason = "the filter failed, so the rule is skipped: " + err.Error()
		case !ok:
			p.Reason = "the filter does not hold: " + ru.Filter
		default:
			p.Matched = true
		}
		if p.Matched {
			for i, a := range ru.actions {
				ap := ActionPreview{Action: i, Kind: a.Kind, Does: a.describe(""), Fingerprint: a.fingerprint}
				if a.needsContact() && c == nil {
					ap.Skipped = "it needs a contact, and none is identified"
				}
				ap.Fires = ap.Skipped == ""
				if !a.onDestinations() {
					// add_tag, set_lifecycle_stage and assign_owner act
					// on synclayer's own contact, which customer-sync
					// carries; Slack and webhooks on no destination.
					p.Actions = append(p.Actions, ap)
					continue
				}
				for _, d := range ru.destinations {
					ap.Destination, ap.Does = d, a.describe(d)
					p.Actions = append(p.Actions, ap)
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// describe says what the action would do on destination ("" for an
// action on none), without its secrets: the Slack URL and the webhook
// secret are left out, a webhook shows its host only.
func (a *action) describe(destination string) string {
	switch a.Kind {
	case KindSlack:
		return "post a Slack message: " + clip(a.Text)
	case KindWebhook:
		host := "the webhook"
		if u, err := url.Parse(a.URL); err == nil && u.Host != "" {
			host = u.Host
		}
		return "post a signed webhook to " + host
	case KindEvent, KindBrevoEvent:
		return "send event " + a.Name
	case KindSetAttribute:
		return "set " + values(a.Attributes)
	case KindAddTag:
		return "add tag " + a.Tag
	case KindAddToList:
		return "add to list " + a.ListOn(destination)
	case KindRemoveFromList:
		return "remove from list " + a.ListOn(destination)
	case KindCreateTask:
		to := "the contact's owner"
		if a.TaskOwner != "" {
			to = "owner " + a.TaskOwner
		}
		return fmt.Sprintf("create task %s, due %s after the trigger, for %s", clip(a.Subject), a.DueIn, to)
	case KindCreateNote:
		return "create note " + clip(a.Body)
	case KindSetLifecycleStage:
		return "set the contact's lifecycle stage to " + string(a.Stage) + " (as source workflows)"
	case KindAssignOwner:
		if len(a.RoundRobin) > 0 {
			return "assign the contact an owner in turn among " + strings.Join(a.RoundRobin, ", ") + " (as source workflows)"
		}
		return "assign the contact owner " + a.OwnerID + " (as source workflows)"
	}
	return a.Kind
}

func values(m map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v, _ := json.Marshal(m[k])
		parts = append(parts, fmt.Sprintf("%s = %s", k, v))
	}
	return strings.Join(parts, ", ")
}

func orBrevo(name string) string {
	if name == "" {
		return "brevo"
	}
	return name
}
