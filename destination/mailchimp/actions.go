package mailchimp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
)

// Workflow contact actions (synclayer.ActionDestination). They act on
// the audience of Settings.AudienceID, on a member found by the MD5 of
// the contact's email, and never send a status: an event, merge fields
// (PATCH with merge_fields only) and tags do not change whether the
// member is subscribed. A member the audience does not hold yet is a
// RetryAfter: customer-sync creates it.

var _ synclayer.ActionDestination = (*Destination)(nil)

// MaxTagName is the longest tag name CheckAction accepts for a list
// action (a Mailchimp tag).
const MaxTagName = 100

// eventNamePattern is a member event's name: 2 to 30 letters, digits,
// underscores and dashes.
var eventNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{2,30}$`)

// notYetRetry is how long a not-yet-created member waits.
const notYetRetry = 30 * time.Second

// WithClient is a Mailchimp destination named name on client whose
// workflow actions act on audience, for callers that built the client
// themselves (tests, CLI commands).
func WithClient(name string, client *Client, audience string) *Destination {
	return &Destination{name: name, client: client, audience: strings.TrimSpace(audience)}
}

// AudienceID is the audience workflow actions act on ("" when
// destinations.<name>.audience_id is not set).
func (d *Destination) AudienceID() string { return d.audience }

// CheckAction says whether a workflow action can run as configured: an
// audience_id must be set; an event's name is 2 to 30 letters, digits, _
// or -; set_attribute's fields are merge tags (upper case, at most 10
// characters, not EMAIL); a list is a tag name of at most MaxTagName
// characters.
func (d *Destination) CheckAction(a synclayer.ActionCheck) error {
	if d.audience == "" {
		return synclayer.Errorf(synclayer.EINVALID, "Mailchimp destination %s has no audience for workflow actions: set destinations.%s.audience_id to the Mailchimp audience ID (Audience → Settings → Audience name and defaults)", d.name, d.name)
	}
	switch a.Kind {
	case "brevo_event", "event":
		return checkEventName(a.EventName)
	case "set_attribute":
		var errs []error
		for _, f := range a.Fields {
			if err := checkFieldName(f); err != nil {
				errs = append(errs, synclayer.FieldErrorf("attributes."+f, "%v", err))
			}
		}
		return errors.Join(errs...)
	case "add_to_list", "remove_from_list":
		return checkTagName(a.List)
	}
	return synclayer.Errorf(synclayer.EINVALID, "Mailchimp cannot carry out a %s action; it takes event, set_attribute, add_to_list and remove_from_list", a.Kind)
}

func checkEventName(name string) error {
	if !eventNamePattern.MatchString(name) {
		return synclayer.FieldErrorf("name", "%q is not a Mailchimp event name: use 2 to 30 letters, digits, _ or - (like order_shipped)", name)
	}
	return nil
}

func checkFieldName(name string) error {
	switch {
	case strings.EqualFold(name, "EMAIL"):
		return errors.New("EMAIL is the member's address, not a field an action can set")
	case !mergeTagPattern.MatchString(name):
		hint := ""
		if up := strings.ToUpper(name); mergeTagPattern.MatchString(up) {
			hint = fmt.Sprintf(" (did you mean %s?)", up)
		}
		return fmt.Errorf("%q is not a Mailchimp merge tag: use upper-case letters, digits and _, at most %d characters (like FNAME)%s", name, MaxMergeTag, hint)
	}
	return nil
}

func checkTagName(list string) error {
	switch {
	case strings.TrimSpace(list) == "":
		return synclayer.FieldErrorf("list", "is required: the Mailchimp tag to add or remove")
	case utf8.RuneCountInString(list) > MaxTagName:
		return synclayer.FieldErrorf("list", "a Mailchimp tag name is at most %d characters; this one has %d", MaxTagName, utf8.RuneCountInString(list))
	}
	return nil
}

// member returns the audience and subscriber hash an action acts on.
func (d *Destination) member(c synclayer.ContactRef) (audience, hash string, err error) {
	if d.audience == "" {
		return "", "", synclayer.Permanent(fmt.Errorf("mailchimp: destination %s has no audience_id: set destinations.%s.audience_id", d.name, d.name))
	}
	if strings.TrimSpace(c.Email) == "" {
		return "", "", synclayer.Permanent(errors.New("mailchimp: the contact has no email, and Mailchimp knows members only by their address"))
	}
	return d.audience, SubscriberHash(c.Email), nil
}

// notYet turns Mailchimp's 404 for a member into a retry: customer-sync
// creates members, and its job may not have run yet. A 404 because the
// audience itself is gone is permanent, naming audience_id.
func (d *Destination) notYet(ctx context.Context, err error) error {
	if !IsNotFound(err) {
		return err
	}
	if lerr := d.client.GetList(ctx, d.audience); IsNotFound(lerr) {
		return synclayer.Permanent(fmt.Errorf("mailchimp: audience %s (destinations.%s.audience_id) does not exist: %w", d.audience, d.name, err))
	}
	return synclayer.RetryAfter(errors.New("the contact is not in Mailchimp yet; retrying once customer-sync has created it"), notYetRetry)
}

// SendContactEvent records ev on the member: POST …/members/{hash}/events
// with the properties as strings and occurred_at from ev.At (now when
// zero). is_syncing is false, so the event can start a Mailchimp
// automation. Mailchimp's events carry no ID, so ev.Key cannot make a
// retry count once.
func (d *Destination) SendContactEvent(ctx context.Context, c synclayer.ContactRef, ev synclayer.ContactEvent) error {
	list, hash, err := d.member(c)
	if err != nil {
		return err
	}
	if err := checkEventName(ev.Name); err != nil {
		return synclayer.Permanent(err)
	}
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	body := MemberEvent{Name: ev.Name, OccurredAt: at.UTC().Format(time.RFC3339)}
	if len(ev.Properties) > 0 {
		body.Properties = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(ev.Properties)) {
			if v, ok := propertyString(ev.Properties[k]); ok {
				body.Properties[k] = v
			}
		}
	}
	return d.notYet(ctx, d.client.AddMemberEvent(ctx, list, hash, body))
}

// propertyString is an event property as the string Mailchimp takes; a
// nil value is left out.
func propertyString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return formatFloat(x), true
	case float32:
		return formatFloat(float64(x)), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return fmt.Sprint(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339), true
	case fmt.Stringer:
		return x.String(), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	return string(b), true
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// SetContactFields sets merge fields on the member: a PATCH whose body is
// merge_fields alone, never a status. A boolean is sent as "true" or
// "false" (EnsureContactFields creates it as text), a time as
// YYYY-MM-DD, nil as "" (clearing the field).
func (d *Destination) SetContactFields(ctx context.Context, c synclayer.ContactRef, fields map[string]any) error {
	list, hash, err := d.member(c)
	if err != nil || len(fields) == 0 {
		return err
	}
	mf := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if err := checkFieldName(name); err != nil {
			return synclayer.Permanent(fmt.Errorf("mailchimp: %w", err))
		}
		mf[name] = mergeFieldValue(fields[name])
	}
	_, err = d.client.PatchMember(ctx, list, hash, MemberRequest{MergeFields: mf})
	return d.notYet(ctx, err)
}

func mergeFieldValue(v any) any {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.DateOnly)
	case string, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return x
	}
	s, _ := propertyString(v)
	return s
}

// EnsureContactFields creates the merge fields (tag → text, number or
// float, boolean, date) the audience lacks, as Prepare does for
// customer-sync: number and float become number fields, date a date
// field, text and boolean text fields.
func (d *Destination) EnsureContactFields(ctx context.Context, fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	if d.audience == "" {
		return synclayer.Errorf(synclayer.EINVALID, "Mailchimp destination %s has no audience for workflow actions: set destinations.%s.audience_id", d.name, d.name)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if err := checkFieldName(name); err != nil {
			errs = append(errs, synclayer.FieldErrorf("attributes."+name, "%v", err))
		} else if _, err := actionMergeType(fields[name]); err != nil {
			errs = append(errs, synclayer.FieldErrorf("attributes."+name, "%v", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	have, err := d.client.ListMergeFields(ctx, d.audience)
	if err != nil {
		return fmt.Errorf("list the merge fields of audience %s: %w", d.audience, err)
	}
	exists := map[string]bool{}
	for _, f := range have {
		exists[strings.ToUpper(f.Tag)] = true
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if exists[name] {
			continue
		}
		typ, _ := actionMergeType(fields[name])
		if _, err := d.client.CreateMergeField(ctx, d.audience, MergeField{Tag: name, Name: name, Type: typ}); err != nil {
			return fmt.Errorf("create merge field %s in audience %s: %w", name, d.audience, err)
		}
	}
	return nil
}

// actionMergeType is the merge field type a workflow field type is
// created as. Mailchimp has no boolean merge field: a boolean is text.
func actionMergeType(t string) (string, error) {
	switch strings.ToLower(t) {
	case "text", "string", "boolean", "bool":
		return "text", nil
	case "number", "float":
		return "number", nil
	case "date":
		return "date", nil
	}
	return "", fmt.Errorf("field type %q is not one of text, number, float, boolean, date", t)
}

// AddContactToList adds tag list to the member (POST …/tags, active). It
// never touches the member's status.
func (d *Destination) AddContactToList(ctx context.Context, c synclayer.ContactRef, list string) error {
	return d.tag(ctx, c, list, "active")
}

// RemoveContactFromList removes tag list from the member (inactive).
func (d *Destination) RemoveContactFromList(ctx context.Context, c synclayer.ContactRef, list string) error {
	return d.tag(ctx, c, list, "inactive")
}

func (d *Destination) tag(ctx context.Context, c synclayer.ContactRef, list, status string) error {
	audience, hash, err := d.member(c)
	if err != nil {
		return err
	}
	if err := checkTagName(list); err != nil {
		return synclayer.Permanent(err)
	}
	return d.notYet(ctx, d.client.TagMember(ctx, audience, hash, []Tag{{Name: list, Status: status}}))
}
