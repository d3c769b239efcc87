package hubspot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// Workflow actions on HubSpot: set_attribute sets contact properties
// (by email, as customer-sync keys contacts), and create_task and
// create_note make a task or note on the contact. Tasks and notes are
// upserted by synclayer_action_key (a task and note property with unique
// values created before the first), which holds the action's key for
// its trigger, so a retry after a lost answer updates the record the
// first attempt made instead of making a second; each is then
// associated with the contact (v4 default association, which a retry
// repeats harmlessly). HubSpot has no lists a contact can be put on by
// ID through the APIs vendored here, and custom events need an
// Enterprise account, so CheckAction refuses event and the list actions.

var (
	_ synclayer.ActionDestination    = (*Destination)(nil)
	_ synclayer.CRMActionDestination = (*Destination)(nil)
)

// ActionKeyProperty is the task and note property that keys a record by
// the workflow action that made it.
const ActionKeyProperty = "synclayer_action_key"

// RetryNotYet is how long set_attribute on a contact HubSpot does not
// hold yet waits before it runs again: customer-sync creates it.
const RetryNotYet = 30 * time.Second

// ownedProperties are contact properties no set_attribute may set: the
// email keys the contact, and the stage and owner change through the
// canonical contact (set_lifecycle_stage, assign_owner), so their
// ownership rules apply.
var ownedProperties = map[string]string{
	"email":            "is the contact's email, which customer-sync sets from the contact",
	"hs_object_id":     "is HubSpot's own record ID",
	"lifecyclestage":   "is the lifecycle stage: use set_lifecycle_stage, which changes the canonical contact so the stage rules apply",
	"hubspot_owner_id": "is the contact owner: use assign_owner, which changes the canonical contact so every destination gets it",
}

// actionKeys is which object types' synclayer_action_key is known to
// exist.
type actionKeys struct {
	mu sync.Mutex
	ok map[string]bool
}

// CheckAction says whether a contact action can be carried out on
// HubSpot: set_attribute with property names HubSpot takes (lower case
// letters, digits and underscores) that synclayer does not own. Errors
// are synclayer.EINVALID.
func (d *Destination) CheckAction(a synclayer.ActionCheck) error {
	switch a.Kind {
	case "set_attribute":
		if len(a.Fields) == 0 {
			return synclayer.Errorf(synclayer.EINVALID, "hubspot: set_attribute sets no property: name at least one HubSpot contact property")
		}
		for _, f := range a.Fields {
			if why, ok := ownedProperties[f]; ok {
				return synclayer.FieldErrorf("attributes."+f, "hubspot: %s %s", f, why)
			}
			if !propertyPattern.MatchString(f) {
				return synclayer.FieldErrorf("attributes."+f, "hubspot: %q is not a HubSpot property name: lower case letters, digits and underscores, starting with a letter, as in churn_risk", f)
			}
		}
		return nil
	case "event":
		return synclayer.Errorf(synclayer.EINVALID, "hubspot: custom events need a HubSpot Enterprise account and are not supported; use create_note for a timeline entry, or send the event to another destination")
	case "add_to_list", "remove_from_list":
		return synclayer.Errorf(synclayer.EINVALID, "hubspot: list actions are not supported on HubSpot; use set_attribute to set a property a HubSpot active list filters on")
	}
	return synclayer.Errorf(synclayer.EINVALID, "hubspot: cannot carry out a %q action; on HubSpot a workflow can use set_attribute, create_task and create_note", a.Kind)
}

// CheckCRMAction accepts create_task and create_note.
func (d *Destination) CheckCRMAction(a synclayer.ActionCheck) error {
	switch a.Kind {
	case "create_task", "create_note":
		return nil
	}
	return synclayer.Errorf(synclayer.EINVALID, "hubspot: %q is not a CRM action; HubSpot takes create_task and create_note", a.Kind)
}

// SendContactEvent is refused: CheckAction refuses event actions.
func (d *Destination) SendContactEvent(ctx context.Context, c synclayer.ContactRef, ev synclayer.ContactEvent) error {
	return synclayer.Permanent(fmt.Errorf("hubspot: custom events are not supported"))
}

// AddContactToList is refused: CheckAction refuses list actions.
func (d *Destination) AddContactToList(ctx context.Context, c synclayer.ContactRef, list string) error {
	return synclayer.Permanent(fmt.Errorf("hubspot: list actions are not supported"))
}

// RemoveContactFromList is refused: CheckAction refuses list actions.
func (d *Destination) RemoveContactFromList(ctx context.Context, c synclayer.ContactRef, list string) error {
	return synclayer.Permanent(fmt.Errorf("hubspot: list actions are not supported"))
}

// SetContactFields sets contact properties by the contact's email. A
// contact HubSpot does not hold yet is a RetryAfter: customer-sync
// creates it, and the action runs once it has.
func (d *Destination) SetContactFields(ctx context.Context, c synclayer.ContactRef, fields map[string]any) error {
	if c.Email == "" {
		return synclayer.Permanent(fmt.Errorf("hubspot: the contact has no email, which HubSpot contacts are keyed by"))
	}
	props := make(map[string]string, len(fields))
	for k, v := range fields {
		props[k] = actionValue(v)
	}
	_, err := d.client.UpdateContactByEmail(ctx, c.Email, props)
	if IsNotFound(err) {
		return synclayer.RetryAfter(fmt.Errorf("hubspot: contact %s is not in HubSpot yet; customer-sync creates it", c.ID), RetryNotYet)
	}
	return err
}

// actionValue is a value as HubSpot's properties take it: text.
func actionValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// EnsureContactFields creates the contact properties (name → text,
// float, boolean or date) the account lacks, since HubSpot refuses a
// write to a property it does not have.
func (d *Destination) EnsureContactFields(ctx context.Context, fields map[string]string) error {
	have, err := d.client.ListContactProperties(ctx)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, p := range have {
		held[p.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if held[name] {
			continue
		}
		p := Property{Name: name, Label: propertyLabel(name), Type: "string", FieldType: "text", GroupName: "contactinformation"}
		switch fields[name] {
		case "float":
			p.Type, p.FieldType = "number", "number"
		case "boolean":
			p.Type, p.FieldType = "bool", "booleancheckbox"
			p.Options = []PropertyOption{{Label: "Yes", Value: "true", DisplayOrder: 0}, {Label: "No", Value: "false", DisplayOrder: 1}}
		case "date":
			p.Type, p.FieldType = "date", "date"
		}
		if err := d.client.CreateContactProperty(ctx, p); err != nil {
			return fmt.Errorf("create contact property %s: %w", name, err)
		}
	}
	return nil
}

// propertyLabel is a property's label from its name: churn_risk → Churn risk.
func propertyLabel(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// CreateTask upserts the task by its key, not started, due at t.Due and
// assigned to t.OwnerID, and associates it with the contact (upserted
// by email, so a task for a contact customer-sync has not created yet
// does not wait).
func (d *Destination) CreateTask(ctx context.Context, c synclayer.ContactRef, t synclayer.Task) error {
	props := map[string]string{
		"hs_task_subject": t.Subject,
		"hs_task_status":  "NOT_STARTED",
		"hs_timestamp":    hubspotTime(t.Due),
	}
	if t.Body != "" {
		props["hs_task_body"] = t.Body
	}
	if t.OwnerID != "" {
		props["hubspot_owner_id"] = t.OwnerID
	}
	return d.createEngagement(ctx, objectTasks, c, t.Key, props)
}

// CreateNote upserts the note by its key, dated n.At, and associates it
// with the contact.
func (d *Destination) CreateNote(ctx context.Context, c synclayer.ContactRef, n synclayer.Note) error {
	at := n.At
	if at.IsZero() {
		at = time.Now()
	}
	return d.createEngagement(ctx, objectNotes, c, n.Key, map[string]string{"hs_note_body": n.Body, "hs_timestamp": hubspotTime(at)})
}

func (d *Destination) createEngagement(ctx context.Context, objectType string, c synclayer.ContactRef, key string, props map[string]string) error {
	if c.Email == "" {
		return synclayer.Permanent(fmt.Errorf("hubspot: the contact has no email, which HubSpot contacts are keyed by"))
	}
	if key == "" {
		return synclayer.Permanent(fmt.Errorf("hubspot: the %s has no key, so a retry could make a second", objectType))
	}
	if err := d.ensureActionKey(ctx, objectType); err != nil {
		return err
	}
	upsert := d.client.UpsertTasks
	if objectType == objectNotes {
		upsert = d.client.UpsertNotes
	}
	res, err := upsert(ctx, []UpsertInput{{ID: key, IDProperty: ActionKeyProperty, Properties: props}})
	if err != nil {
		return err
	}
	if len(res.Results) != 1 {
		return synclayer.Permanent(fmt.Errorf("hubspot refused the %s: %s", strings.TrimSuffix(objectType, "s"), batchReason(res.Errors)))
	}
	contacts, err := d.client.UpsertContacts(ctx, []UpsertInput{{ID: c.Email, IDProperty: "email", Properties: map[string]string{"email": c.Email}}})
	if err != nil {
		return err
	}
	if len(contacts.Results) != 1 {
		return synclayer.Permanent(fmt.Errorf("hubspot refused the contact: %s", batchReason(contacts.Errors)))
	}
	return d.client.AssociateDefault(ctx, objectType, res.Results[0].ID, "contacts", contacts.Results[0].ID)
}

// ensureActionKey creates synclayer_action_key on objectType, once per
// process, unless the account has it.
func (d *Destination) ensureActionKey(ctx context.Context, objectType string) error {
	d.actionKeys.mu.Lock()
	defer d.actionKeys.mu.Unlock()
	if d.actionKeys.ok[objectType] {
		return nil
	}
	if err := ensureUniqueProperty(ctx, d.client, objectType, ActionKeyProperty, "synclayer action key", strings.TrimSuffix(objectType, "s")); err != nil {
		return fmt.Errorf("hubspot: create %s property %s: %w", objectType, ActionKeyProperty, err)
	}
	if d.actionKeys.ok == nil {
		d.actionKeys.ok = map[string]bool{}
	}
	d.actionKeys.ok[objectType] = true
	return nil
}

// hubspotTime is a datetime property's value: ISO 8601 in UTC, to the
// millisecond.
func hubspotTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
