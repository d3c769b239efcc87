package klaviyo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
)

// Workflow contact actions. The workflow package renders an action's
// templates, checks consent before an add and runs each action once per
// trigger; these methods check an action's settings and make the calls.
// None of them sends consent: an event's profile has no subscriptions
// attribute, profile-import is sent without one (CheckAction refuses a
// field named subscriptions), and list membership is the
// relationships endpoint, which the spec documents as leaving consent
// alone. See docs/platforms/klaviyo.md, "Workflow actions".

var _ synclayer.ActionDestination = (*Destination)(nil)

// The action kinds CheckAction knows. ActionBrevoEvent is the name the
// workflow config gave the event action first; both send a Klaviyo event.
const (
	ActionEvent          = "event"
	ActionBrevoEvent     = "brevo_event"
	ActionSetAttribute   = "set_attribute"
	ActionAddToList      = "add_to_list"
	ActionRemoveFromList = "remove_from_list"
)

// RetryNotYet is how long an action on a contact Klaviyo does not hold
// yet waits before it runs again: customer-sync creates the profile.
const RetryNotYet = 30 * time.Second

// ownedIdentifiers are the profile identifiers synclayer owns, which no
// action may set: customer-sync sets them from the contact.
var ownedIdentifiers = map[string]string{
	"email":        "is the profile's email, which customer-sync sets from the contact",
	"phone_number": "is the profile's phone, which customer-sync sets from the contact",
	"external_id":  "holds the synclayer contact ID, which identifies the profile",
	"id":           "is Klaviyo's own profile ID",
}

// CheckAction says whether an action can be carried out on Klaviyo as
// configured: an event's metric name (1 to 127 characters: the spec's
// "must be less than 128 characters"), set_attribute's field names, a
// list action's list ID. Errors are synclayer.EINVALID and say what to
// change.
func (d *Destination) CheckAction(a synclayer.ActionCheck) error {
	switch a.Kind {
	case ActionEvent, ActionBrevoEvent:
		return checkEventName(a.EventName)
	case ActionSetAttribute:
		if len(a.Fields) == 0 {
			return synclayer.Errorf(synclayer.EINVALID, "klaviyo: set_attribute sets no field: name at least one Klaviyo profile property")
		}
		var errs []error
		for _, f := range a.Fields {
			if _, _, err := fieldPlace(f); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	case ActionAddToList, ActionRemoveFromList:
		return checkList(a.List)
	}
	return synclayer.Errorf(synclayer.EINVALID, "klaviyo: cannot carry out a %q action; on Klaviyo a workflow can use %s", a.Kind,
		strings.Join([]string{ActionEvent, ActionBrevoEvent, ActionSetAttribute, ActionAddToList, ActionRemoveFromList}, ", "))
}

// checkEventName checks a metric name against the spec's limit.
func checkEventName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return synclayer.Errorf(synclayer.EINVALID, "klaviyo: the event has no name: give the Klaviyo metric name a flow triggers on, such as \"VIP Reached\"")
	case n > maxMetricName:
		return synclayer.Errorf(synclayer.EINVALID, "klaviyo: the event name %q has %d characters; Klaviyo takes metric names of at most %d (less than 128): shorten it", name, n, maxMetricName)
	case name != strings.TrimSpace(name):
		return synclayer.Errorf(synclayer.EINVALID, "klaviyo: the event name %q starts or ends with a space: remove it, or a flow triggering on the name without it will not fire", name)
	}
	return nil
}

// checkList checks that list is a Klaviyo list ID.
func checkList(list string) error {
	if !listIDPattern.MatchString(list) {
		return synclayer.Errorf(synclayer.EINVALID, "klaviyo: list %q is not a Klaviyo list ID: use the ID, letters and digits such as \"Y6nRLr\" (Lists & Segments → the list → Settings), not its name", list)
	}
	return nil
}

// Where a field goes in a profile-import's attributes.
const (
	placeTop      = iota // a standard attribute: attributes.<name>
	placeLocation        // attributes.location.<key>
	placeProperty        // a custom property: attributes.properties.<name>
)

// fieldPlace says where set_attribute's field name goes and under which
// key: first_name and the other standard attributes at the top level,
// location.city and the other location fields in location, any other
// name as a custom property. The identifiers synclayer owns, consent
// (subscriptions), the attribute objects and Klaviyo's $ properties are
// refused.
func fieldPlace(name string) (place int, key string, err error) {
	refuse := func(format string, args ...any) (int, string, error) {
		return 0, "", synclayer.Errorf(synclayer.EINVALID, "klaviyo: field %q cannot be set: "+format, append([]any{name}, args...)...)
	}
	switch {
	case strings.TrimSpace(name) == "":
		return 0, "", synclayer.Errorf(synclayer.EINVALID, "klaviyo: a field name is empty: name the Klaviyo profile property to set")
	case name != strings.TrimSpace(name):
		return refuse("it starts or ends with a space; remove it")
	case ownedIdentifiers[name] != "":
		return refuse("it %s; set another property", ownedIdentifiers[name])
	case name == "subscriptions":
		return refuse("it is consent, which only customer-sync sends, from the contact's emailConsent")
	case name == "location":
		return refuse("it is an object; set location.%s", strings.Join(locationFields, ", location."))
	case name == "properties":
		return refuse("it is the object of custom properties; set the property by its own name")
	case name == "_kx":
		return refuse("it %s", reservedAttrs["_kx"])
	case strings.HasPrefix(name, "$"):
		return refuse("names starting with $ are Klaviyo's special properties; drop the $")
	case strings.HasPrefix(name, "location."):
		k := strings.TrimPrefix(name, "location.")
		if !slices.Contains(locationFields, k) {
			return refuse("it is no Klaviyo location field; they are location.%s", strings.Join(locationFields, ", location."))
		}
		return placeLocation, k, nil
	case slices.Contains(standardAttrs, name):
		return placeTop, name, nil
	}
	return placeProperty, name, nil
}

// SendContactEvent records one event of metric ev.Name on the contact's
// profile, named by email and external_id = c.ID, with ev's properties,
// its time (left out when zero or outside what Klaviyo accepts, after
// 1990 and at most a year ahead: Klaviyo then uses the time received)
// and ev.Key as unique_id, so a retry is recorded once. Klaviyo creates
// the profile when none matches, as it does for every event; the event
// carries no consent.
func (d *Destination) SendContactEvent(ctx context.Context, c synclayer.ContactRef, ev synclayer.ContactEvent) error {
	if err := checkEventName(ev.Name); err != nil {
		return synclayer.Permanent(err)
	}
	e := Event{Metric: ev.Name, Email: strings.TrimSpace(c.Email), ExternalID: c.ID, Properties: ev.Properties, UniqueID: ev.Key}
	if t := ev.At; !t.IsZero() && t.Year() > 1990 && !t.After(time.Now().AddDate(1, 0, 0)) {
		e.Time = t
	}
	return d.client.CreateEvent(ctx, e)
}

// SetContactFields sets fields on the contact's profile: standard
// attributes (first_name, ...) at the top level, location.* in location,
// the rest as custom properties. A nil value clears the field (a custom
// property through meta.patch_properties.unset). It first finds the
// profile by external_id, then email, and updates it by its Klaviyo ID,
// so the import cannot create a profile customer-sync has not, change
// its email, or match two profiles; none found is a RetryAfter error.
// Nothing is sent about subscriptions.
func (d *Destination) SetContactFields(ctx context.Context, c synclayer.ContactRef, fields map[string]any) error {
	if len(fields) == 0 {
		return nil
	}
	attrs, unset, err := profileFields(fields)
	if err != nil {
		return synclayer.Permanent(err)
	}
	id, err := d.findContact(ctx, c)
	if err != nil {
		return err
	}
	_, _, err = d.client.UpsertProfile(ctx, ProfileUpsert{ID: id, Attributes: attrs, Unset: unset})
	if IsNotFound(err) { // deleted in Klaviyo since the lookup
		return notYetInKlaviyo()
	}
	return err
}

// profileFields turns set_attribute's fields into profile-import
// attributes and the custom properties to unset.
func profileFields(fields map[string]any) (map[string]any, []string, error) {
	attrs := map[string]any{}
	var unset []string
	location, props := map[string]any{}, map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		place, key, err := fieldPlace(name)
		if err != nil {
			return nil, nil, err
		}
		switch place {
		case placeProperty:
			if v == nil {
				unset = append(unset, key)
			} else {
				props[key] = v
			}
		case placeLocation:
			if (key == "latitude" || key == "longitude") && isNumber(v) {
				location[key] = v
				continue
			}
			s, ok := text(v)
			if !ok {
				return nil, nil, synclayer.Errorf(synclayer.EINVALID, "klaviyo: field %s takes text, not %s", name, describe(v))
			}
			location[key] = s
		case placeTop:
			s, ok := text(v)
			if !ok {
				return nil, nil, synclayer.Errorf(synclayer.EINVALID, "klaviyo: field %s takes text, not %s: set a custom property instead", name, describe(v))
			}
			attrs[key] = s
		}
	}
	if len(location) > 0 {
		attrs["location"] = location
	}
	if len(props) > 0 {
		attrs["properties"] = props
	}
	return attrs, unset, nil
}

// text is v as a string attribute's value: nil (which clears it) for
// nil, the text of a string, number, boolean or time; false for an
// object or a list.
func text(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339), true
	}
	return nil, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any, []string:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// EnsureContactFields does nothing: Klaviyo keeps any custom property it
// is sent, so there is nothing to create.
func (d *Destination) EnsureContactFields(context.Context, map[string]string) error { return nil }

// AddContactToList adds the contact's profile to Klaviyo list list
// (POST /api/lists/{id}/relationships/profiles). That changes no
// consent: the spec sends whoever wants to give consent to the subscribe
// job instead, and says "To add someone to a list without changing their
// subscription status, use Add Profile to List". The workflow package
// checks the contact's consent before an add.
func (d *Destination) AddContactToList(ctx context.Context, c synclayer.ContactRef, list string) error {
	return d.listAction(ctx, c, list, true)
}

// RemoveContactFromList removes the contact's profile from list list
// (DELETE, the same path), which "will not impact the profile's consent
// status" (spec): it is no unsubscribe.
func (d *Destination) RemoveContactFromList(ctx context.Context, c synclayer.ContactRef, list string) error {
	return d.listAction(ctx, c, list, false)
}

func (d *Destination) listAction(ctx context.Context, c synclayer.ContactRef, list string, add bool) error {
	if err := checkList(list); err != nil {
		return synclayer.Permanent(err)
	}
	id, err := d.findContact(ctx, c)
	if err != nil {
		return err
	}
	if add {
		err = d.client.AddToList(ctx, list, id)
	} else {
		err = d.client.RemoveFromList(ctx, list, id)
	}
	if IsNotFound(err) {
		return fmt.Errorf("klaviyo: list %s (or the contact's profile %s) is not in this Klaviyo account; check the list ID under Lists & Segments → the list → Settings: %w", list, id, err)
	}
	return err
}

// findContact returns the Klaviyo ID of the contact's profile, found by
// external_id (the synclayer contact ID customer-sync sets), else by
// email. None is a RetryAfter error: customer-sync has not created it yet.
func (d *Destination) findContact(ctx context.Context, c synclayer.ContactRef) (string, error) {
	email := strings.TrimSpace(c.Email)
	if c.ID == "" && email == "" {
		return "", synclayer.Permanent(errors.New("klaviyo: the action's contact has neither an ID nor an email to find its profile by"))
	}
	for _, by := range []struct{ field, value string }{{"external_id", c.ID}, {"email", email}} {
		if by.value == "" {
			continue
		}
		ps, err := d.client.FindProfiles(ctx, by.field, by.value, false)
		if err != nil {
			return "", err
		}
		if len(ps) > 0 {
			return ps[0].ID, nil
		}
	}
	return "", notYetInKlaviyo()
}

func notYetInKlaviyo() error {
	return synclayer.RetryAfter(errors.New("the contact is not in Klaviyo yet; retrying once customer-sync has created it"), RetryNotYet)
}
