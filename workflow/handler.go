package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
)

// Handler runs the action row a WorkflowSkill job names. It is the
// queue's handler for those jobs, so actions get leases, retries with
// backoff and dead letters.
type Handler struct {
	Rules *Rules
	Store synclayer.Store
	Brevo *brevo.Client
	Now   func() time.Time
	// ContactSkills are enqueued for a contact that add_tag changed
	// (customer-sync, which sends the tags); none when it does not run.
	ContactSkills []string

	mu         sync.Mutex
	attributes bool // set_attribute's attributes are known to exist in Brevo
}

// doneState is the done marker of an action row, committed with its job.
type doneState struct {
	Rule   string `json:"rule"`
	Action int    `json:"action"`
	Kind   string `json:"kind"`
	Result string `json:"result"`
}

// Handle runs one action row once. A row whose done marker is committed
// (the job was replayed from the dead-letter queue, or ran again after a
// crash) completes without a call. Otherwise the action runs and its done
// marker is returned, for the queue to commit with the job. A rule that
// is no longer configured, or whose action changed kind, dead-letters
// the row with the reason.
func (h *Handler) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	if _, err := h.Store.FindSyncState(ctx, job.RecordKey, synclayer.WorkflowSkill); err == nil {
		return nil, nil, nil
	} else if synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(job.RecordKey, 10, 64)
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
	if row.Action >= len(ru.actions) || ru.actions[row.Action].Kind != row.Kind {
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow %s no longer has a %s action at actions[%d]; it did not run for %s %s", row.Rule, row.Kind, row.Action, row.TriggerType, row.TriggerKey))
	}
	view, err := decodeView(row.View)
	if err != nil {
		return nil, nil, synclayer.Permanent(fmt.Errorf("workflow action %d: decode its view: %v", id, err))
	}
	a := ru.actions[row.Action]
	tmplView := maps.Clone(view) // templates also see the rule: {{ .rule.owner }}
	tmplView["rule"] = map[string]any{"name": ru.Name, "owner": ru.Owner}
	result, err := h.run(ctx, ru, a, row, tmplView)
	if err != nil {
		return nil, nil, fmt.Errorf("workflow %s actions[%d] (%s): %w", row.Rule, row.Action, row.Kind, err)
	}
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

func (h *Handler) run(ctx context.Context, ru *rule, a *action, row *synclayer.WorkflowAction, view map[string]any) (string, error) {
	switch a.Kind {
	case KindSlack:
		return h.slack(ctx, a, view)
	case KindWebhook:
		return h.webhook(ctx, ru, a, row, view)
	case KindBrevoEvent:
		return h.brevoEvent(ctx, a, row, view)
	case KindSetAttribute:
		return h.setAttribute(ctx, a, row, view)
	case KindAddTag:
		return h.addTag(ctx, a, row, view)
	case KindAddToList, KindRemoveFromList:
		return h.list(ctx, a, row)
	}
	return "", synclayer.Permanent(fmt.Errorf("unknown action %s", a.Kind))
}

// EnsureAttributes creates, in Brevo, every attribute that set_attribute
// actions set and the account lacks, since Brevo drops unknown
// attributes without an error. Handle calls it before the first
// set_attribute; cmd calls it at start, to fail early.
func (h *Handler) EnsureAttributes(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attributes {
		return nil
	}
	want := h.Rules.Attributes()
	if len(want) > 0 {
		have, err := h.Brevo.ListAttributes(ctx)
		if err != nil {
			return fmt.Errorf("list Brevo contact attributes: %w", err)
		}
		exists := map[string]bool{}
		for _, a := range have {
			exists[strings.ToUpper(a.Name)] = true
		}
		for name, typ := range want {
			if exists[name] {
				continue
			}
			if err := h.Brevo.CreateAttribute(ctx, "normal", name, typ); err != nil {
				return fmt.Errorf("create Brevo attribute %s: %w", name, err)
			}
		}
	}
	h.attributes = true
	return nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// notYetInBrevo turns Brevo's 404 for a contact into a retry: the
// contact is created by customer-sync, whose job may not have run yet.
func notYetInBrevo(err error) error {
	if brevo.IsNotFound(err) {
		return synclayer.RetryAfter(errors.New("the contact is not in Brevo yet; retrying once customer-sync has created it"), 30*time.Second)
	}
	return err
}
