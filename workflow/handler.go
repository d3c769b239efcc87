package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// Handler runs the action row a WorkflowSkill job names. It is the
// queue's handler for those jobs, so actions get leases, retries with
// backoff and dead letters.
type Handler struct {
	Rules *Rules
	Store synclayer.Store
	// Destinations are the destinations contact actions may act on, by
	// name; a rule's Destination or Destinations pick among them.
	Destinations map[string]synclayer.ActionDestination
	// CRM are the destinations create_task and create_note may act on,
	// by name.
	CRM map[string]synclayer.CRMActionDestination
	// Owners are the CRMs' owner directories (HubSpot's owners), by
	// destination name order: an owner named by email is found there,
	// and templates see the contact's owner by name (owners.go).
	Owners []synclayer.OwnerDirectory
	// Ingest applies set_lifecycle_stage's and assign_owner's changes to
	// the canonical contact (crm.go).
	Ingest IngestFunc
	Now    func() time.Time
	// ContactQueues, queue → destination, are enqueued for a contact that
	// add_tag changed (customer-sync on each destination, which sends the
	// tags); none when it does not run.
	ContactQueues map[string]string

	mu sync.Mutex
	// fields is, by destination, whether set_attribute's fields are known
	// to exist there. Each destination has its own lock, so a call to
	// one that hangs in an outage holds up no other's actions.
	fields map[string]*fieldsState
}

type fieldsState struct {
	mu      sync.Mutex
	ensured bool
}

// JobKey is the record key of the job that runs action row id on
// destination ("" for an action that runs once per rule: Slack, webhook,
// add_tag). Each destination's job has its own key, so its own done
// marker, retries and dead letter: a retry on one never repeats what
// succeeded on another.
func JobKey(id int64, destination string) string {
	key := strconv.FormatInt(id, 10)
	if destination == "" {
		return key
	}
	return key + "@" + destination
}

// parseJobKey reads JobKey back. A key without a destination is a row's
// only job: a Slack or webhook action, add_tag, or a contact action
// recorded before rules named several destinations.
func parseJobKey(key string) (id int64, destination string, err error) {
	num, destination, _ := strings.Cut(key, "@")
	id, err = strconv.ParseInt(num, 10, 64)
	return id, destination, err
}

// doneState is the done marker of an action row, committed with its job.
type doneState struct {
	Rule   string `json:"rule"`
	Action int    `json:"action"`
	Kind   string `json:"kind"`
	Result string `json:"result"`
}

// Handle runs one action row once, on the destination its job names
// (see JobKey). A job whose done marker is committed (it was replayed
// from the dead-letter queue, or ran again after a crash) completes
// without a call. Otherwise the action runs and its done marker is
// returned, for the queue to commit with the job. A rule that is no
// longer configured, that no longer has the row's action (see actionOf),
// or that no longer acts on the job's destination dead-letters the job
// with the reason.
func (h *Handler) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	if _, err := h.Store.FindSyncState(ctx, job.RecordKey, synclayer.WorkflowSkill); err == nil {
		return nil, nil, nil
	} else if synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return nil, nil, err
	}
	id, destination, err := parseJobKey(job.RecordKey)
	if err != nil {
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow job %d names no action row (%q)", job.ID, job.RecordKey))
	}
	row, err := h.Store.FindWorkflowAction(ctx, id)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow action %d is no longer stored", id))
	}
	if err != nil {
		return nil, nil, err
	}
	ru := h.Rules.byName[row.Rule]
	if ru == nil {
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow %s is no longer configured; its %s action for %s %s did not run", row.Rule, row.Kind, row.TriggerType, row.TriggerKey))
	}
	a, err := h.actionOf(ctx, ru, row)
	if err != nil {
		return nil, nil, err
	}
	var dest *target
	if a.onDestinations() {
		if dest, err = h.target(ru, a, row, destination); err != nil {
			return nil, nil, err
		}
	} else if destination != "" {
		// Unreachable by Fire: such a job would run a once-per-rule
		// action once per destination.
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow %s: job %q names destination %s, but its %s action runs once per rule", row.Rule, job.RecordKey, destination, a.Kind))
	}
	view, err := decodeView(row.View)
	if err != nil {
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow action %d: decode its view: %v", id, err))
	}
	var c *synclayer.Contact
	if a.needsContact() {
		// A contact deleted since the trigger gets nothing: an event or an
		// update by its ID would bring it back into the destination.
		c, err = h.Store.FindContactByID(ctx, row.ContactID)
		switch {
		case synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && c.Deleted:
			return h.done(job, row, "skipped "+row.Kind+": the contact was deleted")
		case err != nil:
			return nil, nil, err
		}
	}
	tmplView := maps.Clone(view) // templates also see the rule: {{ .rule.owner }}
	tmplView["rule"] = map[string]any{"name": ru.Name, "owner": ru.Owner}
	h.ownerView(ctx, tmplView)
	result, err := h.run(ctx, ru, a, row, c, dest, tmplView)
	if err != nil {
		on := ""
		if dest != nil {
			on = " on " + dest.name
		}
		return nil, nil, fmt.Errorf("workflow %s actions[%d] (%s%s): %w", row.Rule, row.Action, row.Kind, on, err)
	}
	return h.done(job, row, result)
}

// target is the destination one job of a contact action acts on: its
// name, the destination, and the once-only key of an event sent there.
type target struct {
	name string
	d    synclayer.ActionDestination    // for the contact actions
	crm  synclayer.CRMActionDestination // for create_task and create_note
	key  string
}

// target resolves the destination a job of row names. A job that names
// none was queued before rules named several destinations, when each
// rule had one: it runs on the rule's first. A destination the rule no
// longer names dead-letters the job rather than acting where the config
// no longer asks it to.
func (h *Handler) target(ru *rule, a *action, row *synclayer.WorkflowAction, name string) (*target, error) {
	key := EventKey(row.Rule, row.Action, row.TriggerType, row.TriggerKey, name)
	if name == "" {
		name = ru.destinations[0]
	} else if !slices.Contains(ru.destinations, name) {
		return nil, synclayer.Permanent(fmt.Errorf("workflow %s no longer acts on %s; its %s action for %s %s did not run there: "+
			"a replay runs it once the rule names %s again, so act on this trigger by hand if it still matters",
			row.Rule, name, row.Kind, row.TriggerType, row.TriggerKey, name))
	}
	if a.onCRM() {
		crm := h.CRM[name]
		if crm == nil {
			return nil, synclayer.Permanent(fmt.Errorf("destination %s, which workflow %s acts on, is not configured or takes no CRM actions (create_task, create_note)", name, ru.Name))
		}
		return &target{name: name, crm: crm, key: key}, nil
	}
	d := h.Destinations[name]
	if d == nil {
		return nil, synclayer.Permanent(fmt.Errorf("destination %s, which workflow %s acts on, is not configured or takes no contact actions", name, ru.Name))
	}
	return &target{name: name, d: d, key: key}, nil
}

// done is the done marker and trace line of a row whose action ran, or
// was skipped, with result saying which.
func (h *Handler) done(job *synclayer.Job, row *synclayer.WorkflowAction, result string) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	state, _ := json.Marshal(doneState{Rule: row.Rule, Action: row.Action, Kind: row.Kind, Result: result})
	st := &synclayer.SyncState{RecordKey: job.RecordKey, Destination: synclayer.WorkflowSkill, State: state}
	key := row.ContactID
	if key == "" {
		key = row.TriggerKey
	}
	trace := &synclayer.TraceEntry{ContactID: key, Kind: synclayer.TraceDelivery, EventID: row.EventID,
		Summary: fmt.Sprintf("workflow %s (%s %s): %s", row.Rule, row.TriggerType, row.TriggerKey, result)}
	return st, trace, nil
}

// actionOf finds the configured action a row was made for. The row's
// fingerprint decides, wherever the action now stands in the rule, so a
// reordered action list runs each row's own action. A row whose action
// was edited (no fingerprint matches) runs the edit only when that is
// unambiguous: the action at the row's index is the rule's only one of
// the row's kind, and no other row of the same trigger was made for it.
// Anything else dead-letters the row, naming why. Rows made before
// fingerprints existed are found by index and kind.
func (h *Handler) actionOf(ctx context.Context, ru *rule, row *synclayer.WorkflowAction) (*action, error) {
	gone := func(why string) error {
		return synclayer.Permanent(fmt.Errorf("workflow %s: the %s action recorded at actions[%d] for %s %s did not run: %s; "+
			"a replay runs it only once the config has the action again, so act on this trigger by hand if it still matters",
			row.Rule, row.Kind, row.Action, row.TriggerType, row.TriggerKey, why))
	}
	var at *action
	if row.Action >= 0 && row.Action < len(ru.actions) {
		at = ru.actions[row.Action]
	}
	if row.Fingerprint == "" {
		if at == nil || canonicalKind(at.Kind) != canonicalKind(row.Kind) {
			return nil, gone("the rule no longer has that action there")
		}
		return at, nil
	}
	if at != nil && at.fingerprint == row.Fingerprint {
		return at, nil
	}
	for _, a := range ru.actions {
		if a.fingerprint == row.Fingerprint {
			return a, nil // moved: the same config at another index
		}
	}
	sameKind := 0
	for _, a := range ru.actions {
		if canonicalKind(a.Kind) == canonicalKind(row.Kind) {
			sameKind++
		}
	}
	if at == nil || canonicalKind(at.Kind) != canonicalKind(row.Kind) || sameKind != 1 {
		return nil, gone(fmt.Sprintf("its config changed and the rule has %d %s actions, so which one it became is unclear", sameKind, row.Kind))
	}
	siblings, err := h.Store.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: row.Rule, TriggerKey: row.TriggerKey, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, s := range siblings {
		if s.ID != row.ID && s.Fingerprint == at.fingerprint {
			return nil, gone(fmt.Sprintf("it was removed from the rule; actions[%d] is now the action of row %d", row.Action, s.ID))
		}
	}
	return at, nil // edited in place: runs as now configured
}

func (h *Handler) run(ctx context.Context, ru *rule, a *action, row *synclayer.WorkflowAction, c *synclayer.Contact, dest *target, view map[string]any) (string, error) {
	switch a.Kind {
	case KindSlack:
		return h.slack(ctx, a, view)
	case KindWebhook:
		return h.webhook(ctx, ru, a, row, view)
	case KindEvent, KindBrevoEvent:
		return h.event(ctx, dest, a, row, c, view)
	case KindSetAttribute:
		return h.setAttribute(ctx, dest, a, c, view)
	case KindAddTag:
		return h.addTag(ctx, a, row, view)
	case KindAddToList, KindRemoveFromList:
		return h.list(ctx, dest, a, c)
	case KindCreateTask:
		return h.createTask(ctx, dest, a, row, c, view)
	case KindCreateNote:
		return h.createNote(ctx, dest, a, row, c, view)
	case KindSetLifecycleStage, KindAssignOwner:
		return h.setContactField(ctx, a, row, c, view)
	}
	return "", synclayer.Permanent(fmt.Errorf("unknown action %s", a.Kind))
}

// EnsureAttributes creates, at each destination, every field that
// set_attribute actions set and it lacks, since Brevo drops unknown
// attributes without an error. Handle does it for a destination before
// its first set_attribute; cmd calls this at start, to fail early. It
// goes on past a destination that fails, and returns every failure.
func (h *Handler) EnsureAttributes(ctx context.Context) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(h.Rules.AttributesByDestination())) {
		if err := h.ensureFields(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// ensureFields is EnsureAttributes for destination name alone.
func (h *Handler) ensureFields(ctx context.Context, name string) error {
	h.mu.Lock()
	if h.fields == nil {
		h.fields = map[string]*fieldsState{}
	}
	st := h.fields[name]
	if st == nil {
		st = &fieldsState{}
		h.fields[name] = st
	}
	h.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ensured {
		return nil
	}
	fields := h.Rules.AttributesByDestination()[name]
	if len(fields) > 0 {
		d := h.Destinations[name]
		if d == nil {
			return fmt.Errorf("destination %s is not configured", name)
		}
		if err := d.EnsureContactFields(ctx, fields); err != nil {
			return err
		}
	}
	st.ensured = true
	return nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
