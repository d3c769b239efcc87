package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// CRM actions. create_task and create_note run on each of the rule's
// destinations, as the other contact actions do, through
// synclayer.CRMActionDestination, keyed by the action's EventKey there
// so a retry finds the record the first attempt made. set_lifecycle_stage
// and assign_owner change the canonical contact instead, as source
// workflows, through Handler.Ingest: the fields' owners and the
// forward-only stage rule apply, and customer-sync carries the change to
// every destination. A round-robin owner is picked by the number of the
// action's earlier rows, so the rotation survives a restart and a
// trigger fired again (which records no row) does not advance it.

// IngestFunc applies a contact change as ingest does, setting ev's
// Status, Reason and Ignored; duplicate reports an event ingest had
// applied before (a retry whose first attempt committed).
type IngestFunc func(ctx context.Context, ev *synclayer.Event) (duplicate bool, err error)

// RetryOwner is how long a task that waits for its rule's assign_owner
// waits before it looks again, and OwnerWait how long after the trigger
// it waits at most: an assign_owner that cannot run (dead-lettered, or
// retrying through an outage) leaves the task to the contact's owner as
// it stands then, or unassigned, rather than never made.
const (
	RetryOwner = 2 * time.Second
	OwnerWait  = 10 * time.Minute
)

func compileCRM(c *action) *actionError {
	a := c.Action
	var err error
	switch a.Kind {
	case KindCreateTask:
		if strings.TrimSpace(a.Subject) == "" {
			return errAt("create_task.subject", "is required: the task's title, a template such as \"Call {{ .contact.firstName }}\"")
		}
		if c.subject, err = parseTemplate("subject", a.Subject); err != nil {
			return errAt("create_task.subject", "%v", err)
		}
		if c.body, err = parseTemplate("body", a.Body); err != nil {
			return errAt("create_task.body", "%v", err)
		}
		if a.DueIn < 0 {
			return errAt("create_task.due_in", "must not be negative: how long after the trigger the task is due, such as 48h")
		}
	case KindCreateNote:
		if strings.TrimSpace(a.Body) == "" {
			return errAt("create_note.body", "is required: the note's text, a template")
		}
		if c.body, err = parseTemplate("body", a.Body); err != nil {
			return errAt("create_note.body", "%v", err)
		}
	case KindSetLifecycleStage:
		if !a.Stage.Valid() {
			names := make([]string, len(synclayer.LifecycleStages))
			for i, s := range synclayer.LifecycleStages {
				names[i] = string(s)
			}
			return errAt("set_lifecycle_stage", "%q is not a lifecycle stage; use one of %s", clip(string(a.Stage)), strings.Join(names, ", "))
		}
	case KindAssignOwner:
		switch {
		case a.OwnerID != "" && a.RoundRobin != nil:
			return errAt("assign_owner", "give one owner or round_robin, not both")
		case a.OwnerID == "" && len(a.RoundRobin) == 0:
			return errAt("assign_owner", "names no owner: assign_owner: \"123\" (a CRM owner ID) or \"jane@shop.com\" (an owner's email), or assign_owner: { round_robin: [\"11\", \"22\"] }")
		}
		for i, o := range a.RoundRobin {
			switch first := slices.Index(a.RoundRobin, o); {
			case strings.TrimSpace(o) == "":
				return errAt(fmt.Sprintf("assign_owner.round_robin[%d]", i), "is empty: give a CRM owner ID")
			case first < i:
				return errAt(fmt.Sprintf("assign_owner.round_robin[%d]", i), "%q is named twice (also round_robin[%d]); each owner takes one turn", o, first)
			}
		}
	}
	return nil
}

// triggerTime is when the trigger happened, from the view; the row's
// creation when the view does not say.
func triggerTime(view map[string]any, row *synclayer.WorkflowAction) time.Time {
	if at, err := time.Parse(time.RFC3339Nano, viewText(view, "event", "at")); err == nil && !at.IsZero() {
		return at
	}
	return row.CreatedAt
}

func contactRef(c *synclayer.Contact) synclayer.ContactRef {
	return synclayer.ContactRef{ID: c.ID, Email: c.Email}
}

func textField(c *synclayer.Contact, name string) string {
	var s string
	_ = json.Unmarshal(c.Value(name), &s)
	return s
}

// createTask creates the task at the destination, due DueIn after the
// trigger, assigned to the fixed owner or else the contact's owner. A
// task of a rule that also assigns an owner (an earlier assign_owner)
// waits for that action to be done, so the task goes to the owner it
// picked.
func (h *Handler) createTask(ctx context.Context, t *target, a *action, row *synclayer.WorkflowAction, c *synclayer.Contact, view map[string]any) (string, error) {
	subject, err := render(a.subject, view)
	if err != nil {
		return "", err
	}
	body, err := render(a.body, view)
	if err != nil {
		return "", err
	}
	owner := a.TaskOwner
	if owner != "" {
		// An email is the target CRM's owner: its IDs are its own.
		var dirs []synclayer.OwnerDirectory
		if d, ok := t.crm.(synclayer.OwnerDirectory); ok {
			dirs = append(dirs, d)
		}
		if owner, err = resolveOwner(ctx, dirs, owner); err != nil {
			return "", err
		}
	} else {
		if owner, err = h.taskOwner(ctx, row); err != nil {
			return "", err
		}
	}
	due := triggerTime(view, row).Add(a.DueIn)
	task := synclayer.Task{Subject: strings.TrimSpace(subject), Body: body, Due: due, OwnerID: owner, Key: t.key}
	if err := t.crm.CreateTask(ctx, contactRef(c), task); err != nil {
		return "", err
	}
	to := "unassigned"
	if owner != "" {
		to = "for owner " + owner
	}
	return fmt.Sprintf("%s task %q created, due %s, %s", label(t.crm), task.Subject, due.UTC().Format(time.RFC3339), to), nil
}

// taskOwner is the contact's canonical owner as the store holds it now.
// While an earlier assign_owner of the same rule and trigger has not
// run, the task waits (RetryAfter), for OwnerWait at most.
func (h *Handler) taskOwner(ctx context.Context, row *synclayer.WorkflowAction) (string, error) {
	siblings, err := h.Store.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: row.Rule, TriggerKey: row.TriggerKey, Limit: 1000})
	if err != nil {
		return "", err
	}
	for _, s := range siblings {
		if s.Kind != KindAssignOwner || s.TriggerType != row.TriggerType || s.Action > row.Action {
			continue
		}
		_, err := h.Store.FindSyncState(ctx, JobKey(s.ID, ""), synclayer.WorkflowSkill)
		if synclayer.ErrorCode(err) == synclayer.ENOTFOUND && h.now().Sub(row.CreatedAt) < OwnerWait {
			return "", synclayer.RetryAfter(fmt.Errorf("waiting for the rule's assign_owner (row %d) to pick the owner", s.ID), RetryOwner)
		}
		if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			return "", err
		}
	}
	c, err := h.Store.FindContactByID(ctx, row.ContactID)
	if err != nil {
		return "", err
	}
	return textField(c, synclayer.FieldOwner), nil
}

// createNote creates the note at the destination, dated at the trigger.
func (h *Handler) createNote(ctx context.Context, t *target, a *action, row *synclayer.WorkflowAction, c *synclayer.Contact, view map[string]any) (string, error) {
	body, err := render(a.body, view)
	if err != nil {
		return "", err
	}
	if err := t.crm.CreateNote(ctx, contactRef(c), synclayer.Note{Body: body, At: triggerTime(view, row), Key: t.key}); err != nil {
		return "", err
	}
	return label(t.crm) + " note created", nil
}

// setContactField changes the canonical contact's lifecycle stage or
// owner as source workflows, dated at the trigger, through ingest: an
// owner of the field other than workflows refuses it, a stage never
// moves back unless workflows owns it, and a newer change made
// elsewhere wins. The event's dedupe key is the action's, so a retry
// after a commit whose done marker was lost applies nothing twice.
func (h *Handler) setContactField(ctx context.Context, a *action, row *synclayer.WorkflowAction, c *synclayer.Contact, view map[string]any) (string, error) {
	if h.Ingest == nil {
		return "", synclayer.Permanent(fmt.Errorf("this program applies no contact changes from workflows"))
	}
	field, value := synclayer.FieldLifecycleStage, string(a.Stage)
	named := value // the owner as the rule names it: an ID, or an email
	if a.Kind == KindAssignOwner {
		field, value = synclayer.FieldOwner, a.OwnerID
		if len(a.RoundRobin) > 0 {
			n, err := h.Store.CountWorkflowActions(ctx, row.Rule, row.Fingerprint, row.ID)
			if err != nil {
				return "", err
			}
			value = a.RoundRobin[n%len(a.RoundRobin)]
		}
		named = value
		var err error
		if value, err = resolveOwner(ctx, h.Owners, value); err != nil {
			return "", err
		}
	}
	fields := map[string]json.RawMessage{field: jsonString(value)}
	switch {
	case c.Email != "":
		fields[synclayer.FieldEmail] = jsonString(c.Email)
	case c.Phone != "":
		fields[synclayer.FieldPhone] = jsonString(c.Phone)
	default:
		return "skipped " + a.Kind + ": the contact has no email or phone to find it by", nil
	}
	key := WebhookID(row.Rule, row.Action, row.TriggerType, row.TriggerKey)
	ch := &synclayer.CustomerChange{Fields: fields}
	payload, _ := json.Marshal(ch)
	ev := &synclayer.Event{Source: WorkflowSource, DedupeKey: key, Topic: "workflow." + a.Kind, Type: synclayer.EventCustomerUpdated,
		OccurredAt: triggerTime(view, row), ReceivedAt: h.now().UTC(), Customer: ch, Payload: payload}
	dup, err := h.Ingest(ctx, ev)
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("%s %s", field, value)
	if named != value {
		what += " (" + named + ")"
	}
	switch {
	case dup:
		return what + " applied before", nil
	case ev.Status == synclayer.EventFailed:
		return "", synclayer.Permanent(fmt.Errorf("%s not applied: %s", what, ev.Reason))
	}
	for _, ig := range ev.Ignored {
		if ig.Field == field {
			return fmt.Sprintf("%s not applied: %s", what, ig.Reason), nil
		}
	}
	if ev.Status == synclayer.EventUnchanged {
		return what + ": nothing changed (held already, or refused by the field's rules; see the trace)", nil
	}
	return what + " set", nil
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
