package workflow

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"synclayer"
)

// Where a rule's contact actions run: its destinations, and each one's
// check of the actions at Compile.

// names is the destinations the rule's contact actions act on, in the
// order given: Destinations, or the one Destination (brevo when unset).
func (r *Rule) names() []string {
	if len(r.Destinations) > 0 {
		return r.Destinations
	}
	return []string{orBrevo(r.Destination)}
}

// checkDestinations reports what is wrong with the rule's destination
// keys themselves: both forms at once, an empty list, a name empty or
// given twice (which would run each action twice there). Whether each
// name is configured is the config's to say; Compile does not know.
func checkDestinations(r Rule, add func(field, format string, args ...any)) {
	if r.Destinations == nil {
		return
	}
	if r.Destination != "" {
		add("destinations", "give either destination (one) or destinations (several), not both")
	}
	if len(r.Destinations) == 0 {
		add("destinations", "names no destination: list them, as in destinations: [brevo, klaviyo], or leave the key out for brevo")
	}
	for k, name := range r.Destinations {
		switch first := slices.Index(r.Destinations, name); {
		case strings.TrimSpace(name) == "":
			add(fmt.Sprintf("destinations[%d]", k), "is empty: name a destination configured under destinations")
		case first < k:
			add(fmt.Sprintf("destinations[%d]", k), "%q is named twice (also destinations[%d]); each destination runs the rule's actions once", name, first)
		}
	}
}

// checkLists holds a list action's per-destination lists to the rule's
// destinations: one for each, and none for a destination the rule does
// not name (a typo would otherwise leave a destination without a list).
func checkLists(destinations []string, a Action) []*actionError {
	if a.Lists == nil {
		return nil
	}
	var out []*actionError
	for _, name := range destinations {
		if _, ok := a.Lists[name]; !ok {
			out = append(out, errAt(a.Kind, "names no list for %s: give one for each of the rule's destinations (%s)", name, strings.Join(destinations, ", ")))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Lists)) {
		if !slices.Contains(destinations, name) {
			out = append(out, errAt(a.Kind+"."+name, "is not one of the rule's destinations (%s)", strings.Join(destinations, ", ")))
		}
	}
	return out
}

// checkAction runs each destination's check of a contact action, and
// returns each destination's problem, its field (a name, an attribute,
// "") placed under the action's key. With several destinations the
// message says whose check it failed, since the key alone does not.
func checkAction(checks map[string]func(synclayer.ActionCheck) error, destinations []string, a Action) []*actionError {
	ac := synclayer.ActionCheck{Kind: a.Kind}
	switch a.Kind {
	case KindEvent, KindBrevoEvent:
		ac.Kind, ac.EventName = KindEvent, a.Name
	case KindSetAttribute:
		ac.Fields = slices.Sorted(maps.Keys(a.Attributes))
	case KindAddToList, KindRemoveFromList, KindCreateTask, KindCreateNote:
	default:
		return nil
	}
	var out []*actionError
	for k, name := range destinations {
		check := checks[name]
		if check == nil {
			continue
		}
		if a.Kind == KindAddToList || a.Kind == KindRemoveFromList {
			ac.List = a.ListOn(name)
		}
		err := check(ac)
		if err == nil {
			continue
		}
		at := ""
		if len(destinations) > 1 {
			at = fmt.Sprintf("on destinations[%d] (%s): ", k, name)
		}
		var e *synclayer.Error
		if errors.As(err, &e) {
			// A field names an attribute, or "name"; the list and the
			// action as a whole are the action's own key.
			switch field := strings.TrimPrefix(e.Field, "attributes."); field {
			case "", "list":
				out = append(out, errAt(a.Kind, "%s%s", at, e.Message))
			default:
				out = append(out, errAt(a.Kind+"."+field, "%s%s", at, e.Message))
			}
			continue
		}
		out = append(out, errAt(a.Kind, "%s%s", at, err.Error()))
	}
	return out
}

// AttributesByDestination is Attributes for each destination the rules'
// set_attribute actions act on: a rule with several destinations needs
// its fields at each of them.
func (r *Rules) AttributesByDestination() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, ru := range r.all {
		for _, name := range ru.destinations {
			for _, a := range ru.actions {
				for field, v := range a.Attributes {
					if out[name] == nil {
						out[name] = map[string]string{}
					}
					switch v.(type) {
					case bool:
						out[name][field] = "boolean"
					case string:
						out[name][field] = "text"
					default:
						out[name][field] = "float"
					}
				}
			}
		}
	}
	return out
}

// Destinations returns, sorted, every destination the rules' contact
// actions act on, for the start-up log and for checks that each is
// configured.
func (r *Rules) Destinations() []string {
	var out []string
	for _, ru := range r.all {
		if !slices.ContainsFunc(ru.actions, (*action).onDestinations) {
			continue
		}
		for _, name := range ru.destinations {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}
