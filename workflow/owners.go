package workflow

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"synclayer"
)

// Owners by email and by name. A CRM names its owners by IDs ("11",
// "52750164") that mean nothing in a config review or a Slack message;
// with the CRM's owner directory a rule may name an owner by email
// (assign_owner: jane@shop.com, create_task's owner:), resolved when the
// action runs, and templates see the contact's owner by name
// ({{ .contact.ownerName }}, {{ .contact.ownerEmail }}).

// isEmailOwner reports whether an owner as configured is an email to
// resolve rather than a CRM owner ID.
func isEmailOwner(s string) bool { return strings.Contains(s, "@") }

// resolveOwner returns the CRM owner ID the configured owner names: an
// ID as it is; an email through dirs, the first directory that knows it.
// A directory that cannot be read is a retried error (the CRM may be in
// an outage); an email no directory knows is permanent, listing who is.
func resolveOwner(ctx context.Context, dirs []synclayer.OwnerDirectory, owner string) (string, error) {
	if !isEmailOwner(owner) {
		return owner, nil
	}
	if len(dirs) == 0 {
		return "", synclayer.Permanent(fmt.Errorf("owner %q is an email, but no destination of this rule lists its owners (HubSpot does): give the CRM owner ID instead", owner))
	}
	var known []string
	for _, d := range dirs {
		list, err := d.Owners(ctx)
		if err != nil {
			return "", fmt.Errorf("read %s's owners to find %s: %w", d.Name(), owner, err)
		}
		for _, o := range list {
			if strings.EqualFold(o.Email, owner) {
				return o.ID, nil
			}
			if len(known) < 10 {
				known = append(known, o.Email)
			}
		}
	}
	return "", synclayer.Permanent(fmt.Errorf("owner %s is not an active owner in the CRM (owners include: %s); add them there, or fix the rule", owner, strings.Join(known, ", ")))
}

// ownerView adds the contact's owner's name and email to the view's
// contact, when a directory knows its ID. It never fails: a name in a
// message is not worth an action's retry, so an unreadable directory
// leaves them empty.
func (h *Handler) ownerView(ctx context.Context, view map[string]any) {
	contact, ok := view["contact"].(map[string]any)
	if !ok {
		return
	}
	id, _ := contact["owner"].(string)
	if id == "" || len(h.Owners) == 0 {
		return
	}
	for _, d := range h.Owners {
		list, err := d.Owners(ctx)
		if err != nil {
			continue
		}
		for _, o := range list {
			if o.ID == id {
				contact = maps.Clone(contact)
				contact["ownerName"], contact["ownerEmail"] = o.Name(), o.Email
				view["contact"] = contact
				return
			}
		}
	}
}

// CheckOwners reads the owner directories once and returns a line for
// each owner a rule names (assign_owner, round_robin, create_task's
// owner) that none of them holds: a typo or a person who left is found
// when the program starts, not at the first lead. A directory that
// cannot be read is one line saying so; the names are checked again
// when each action runs.
func (h *Handler) CheckOwners(ctx context.Context) []string {
	if len(h.Owners) == 0 || h.Rules == nil {
		return nil
	}
	ids, emails := map[string]bool{}, map[string]bool{}
	for _, d := range h.Owners {
		list, err := d.Owners(ctx)
		if err != nil {
			return []string{fmt.Sprintf("%s's owners could not be read (%v); the owners the workflows name are checked when their actions run", d.Name(), err)}
		}
		for _, o := range list {
			ids[o.ID] = true
			emails[strings.ToLower(o.Email)] = true
		}
	}
	var out []string
	for _, ru := range h.Rules.all {
		for i, a := range ru.actions {
			var named []string
			switch a.Kind {
			case KindAssignOwner:
				named = append([]string{a.OwnerID}, a.RoundRobin...)
			case KindCreateTask:
				named = []string{a.TaskOwner}
			}
			for _, o := range named {
				switch {
				case o == "":
				case isEmailOwner(o) && !emails[strings.ToLower(o)]:
					out = append(out, fmt.Sprintf("workflow %s actions[%d] (%s) names %s, who is not an active owner in the CRM", ru.Name, i, a.Kind, o))
				case !isEmailOwner(o) && !ids[o]:
					out = append(out, fmt.Sprintf("workflow %s actions[%d] (%s) names owner ID %s, which the CRM does not have", ru.Name, i, a.Kind, o))
				}
			}
		}
	}
	return out
}
