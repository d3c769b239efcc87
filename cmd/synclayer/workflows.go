package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"synclayer"
	"synclayer/ingest"
	"synclayer/queue"
	"synclayer/workflow"
)

// WorkflowConfig is one rule under workflows: on trigger, when filter (a
// CEL expression) holds, run actions in order.
type WorkflowConfig struct {
	Name    string                 `yaml:"name"`
	Owner   string                 `yaml:"owner,omitempty"` // who answers for the rule
	Trigger string                 `yaml:"trigger"`
	Filter  string                 `yaml:"filter,omitempty"`
	Actions []WorkflowActionConfig `yaml:"actions"`
	// Destination is the one destination the rule's contact actions
	// (event, set_attribute, add_to_list, remove_from_list) act on;
	// default brevo.
	Destination string `yaml:"destination,omitempty"`
	// Destinations names several instead: each contact action runs on
	// each, as its own delivery. Not with Destination.
	Destinations []string `yaml:"destinations,omitempty"`
}

// WorkflowActionConfig is one action: exactly one of its keys is set.
type WorkflowActionConfig struct {
	Slack   *SlackActionConfig   `yaml:"slack,omitempty"`
	Webhook *WebhookActionConfig `yaml:"webhook,omitempty"`
	// Event sends the destination's custom event; BrevoEvent is its
	// first name, kept so configs written for Brevo alone still load.
	Event          *EventActionConfig `yaml:"event,omitempty"`
	BrevoEvent     *EventActionConfig `yaml:"brevo_event,omitempty"`
	SetAttribute   map[string]any     `yaml:"set_attribute,omitempty"`
	AddTag         string             `yaml:"add_tag,omitempty"`
	AddToList      ListRef            `yaml:"add_to_list,omitempty"`
	RemoveFromList ListRef            `yaml:"remove_from_list,omitempty"`
	// CRM actions: a task or note on each of the rule's destinations
	// (a CRM such as hubspot), and the canonical contact's lifecycle
	// stage or owner, set as source workflows.
	CreateTask        *CreateTaskActionConfig `yaml:"create_task,omitempty"`
	CreateNote        *CreateNoteActionConfig `yaml:"create_note,omitempty"`
	SetLifecycleStage string                  `yaml:"set_lifecycle_stage,omitempty"`
	AssignOwner       OwnerRef                `yaml:"assign_owner,omitempty"`
}

// CreateTaskActionConfig is a follow-up task: its title and notes
// (templates), due due_in after the trigger, assigned to owner (a CRM
// owner ID) or else the contact's owner.
type CreateTaskActionConfig struct {
	Subject string        `yaml:"subject"`
	Body    string        `yaml:"body,omitempty"`
	DueIn   time.Duration `yaml:"due_in,omitempty"`
	Owner   string        `yaml:"owner,omitempty"`
}

// CreateNoteActionConfig is a note on the contact's timeline.
type CreateNoteActionConfig struct {
	Body string `yaml:"body"`
}

// OwnerRef is assign_owner's value: one CRM owner ID ("123"), or
// { round_robin: ["11", "22"] } to take them in turn.
type OwnerRef struct {
	ID         string
	RoundRobin []string
}

// IsZero reports whether no owner is given.
func (o OwnerRef) IsZero() bool { return o.ID == "" && o.RoundRobin == nil }

// UnmarshalYAML takes an owner ID (text or a number) or a map with
// round_robin.
func (o *OwnerRef) UnmarshalYAML(b []byte) error {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return err
	}
	const want = `must be a CRM owner ID ("123"), or { round_robin: ["11", "22", "33"] }`
	switch x := v.(type) {
	case string:
		o.ID = x
		if x == "" {
			return errors.New(want)
		}
	case uint64, int64, int:
		o.ID = fmt.Sprint(x)
	case map[string]any:
		for k := range x {
			if k != "round_robin" {
				return fmt.Errorf("%s: unknown key; %s", k, want)
			}
		}
		list, ok := x["round_robin"].([]any)
		if !ok || len(list) == 0 {
			return errors.New("round_robin: must list the owner IDs to take in turn, as [\"11\", \"22\"]")
		}
		for i, e := range list {
			switch id := e.(type) {
			case string:
				o.RoundRobin = append(o.RoundRobin, id)
			case uint64, int64, int:
				o.RoundRobin = append(o.RoundRobin, fmt.Sprint(id))
			default:
				return fmt.Errorf("round_robin[%d]: must be a CRM owner ID", i)
			}
		}
	default:
		return errors.New(want)
	}
	return nil
}

// MarshalYAML writes the owner back as it was given.
func (o OwnerRef) MarshalYAML() (any, error) {
	if o.RoundRobin != nil {
		return map[string]any{"round_robin": o.RoundRobin}, nil
	}
	return o.ID, nil
}

// ListRef is a list as its destination names it: a Brevo list ID (a
// number) or a Klaviyo list ID or Mailchimp tag (text). A rule on several
// destinations, whose lists are named differently on each platform, gives
// one per destination instead: { brevo: 7, klaviyo: Y6nRLr }.
type ListRef struct {
	List string            // the one list, on every destination
	On   map[string]string // or each destination's own, by name
}

// IsZero reports whether no list is given, for omitempty and for the
// action's "which key is set".
func (l ListRef) IsZero() bool { return l.List == "" && l.On == nil }

// UnmarshalYAML takes a number or a string, or a map of them by
// destination.
func (l *ListRef) UnmarshalYAML(b []byte) error {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return err
	}
	one := func(v any) (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case uint64, int64, int:
			return fmt.Sprint(x), true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		}
		return "", false
	}
	if m, ok := v.(map[string]any); ok {
		l.On = map[string]string{}
		for name, x := range m {
			s, ok := one(x)
			if !ok {
				return fmt.Errorf("%s: must be a list ID: a Brevo list number, a Klaviyo list ID or a Mailchimp tag", name)
			}
			l.On[name] = s
		}
		return nil
	}
	s, ok := one(v)
	if !ok {
		return errors.New("must be a list ID (a Brevo list number, a Klaviyo list ID or a Mailchimp tag), or one for each destination: { brevo: 7, klaviyo: Y6nRLr }")
	}
	l.List = s
	return nil
}

// MarshalYAML writes a number back as a number.
func (l ListRef) MarshalYAML() (any, error) {
	num := func(s string) any {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		return s
	}
	if l.On != nil {
		out := make(map[string]any, len(l.On))
		for name, s := range l.On {
			out[name] = num(s)
		}
		return out, nil
	}
	return num(l.List), nil
}

// action fills a list action's list: ListID for a number, List
// otherwise, Lists for one per destination.
func (l ListRef) action(act *workflow.Action) {
	if l.On != nil {
		act.Lists = maps.Clone(l.On)
		return
	}
	if n, err := strconv.ParseInt(l.List, 10, 64); err == nil && n > 0 {
		act.ListID = n
		return
	}
	act.List = l.List
}

type SlackActionConfig struct {
	WebhookURL string `yaml:"webhook_url"` // env; the URL is the secret
	Text       string `yaml:"text"`        // template
}

type WebhookActionConfig struct {
	URL    string `yaml:"url"`    // env
	Secret string `yaml:"secret"` // env; whsec_ (Standard Webhooks)
}

// EventActionConfig is an event action: the event's name and its
// properties, on whichever platform the rule's destinations are.
type EventActionConfig struct {
	Name       string         `yaml:"name"`
	Properties map[string]any `yaml:"properties,omitempty"` // string values are templates
}

// BrevoEventActionConfig is EventActionConfig under its first name.
type BrevoEventActionConfig = EventActionConfig

// rule converts the YAML action; n is how many action keys it sets.
func (a *WorkflowActionConfig) rule() (act workflow.Action, n int) {
	set := func(kind string) {
		if n == 0 {
			act.Kind = kind
		}
		n++
	}
	if a.Slack != nil {
		set(workflow.KindSlack)
		act.WebhookURL, act.Text = a.Slack.WebhookURL, a.Slack.Text
	}
	if a.Webhook != nil {
		set(workflow.KindWebhook)
		act.URL, act.Secret = a.Webhook.URL, a.Webhook.Secret
	}
	if a.Event != nil {
		set(workflow.KindEvent)
		act.Name, act.Properties = a.Event.Name, a.Event.Properties
	}
	if a.BrevoEvent != nil {
		set(workflow.KindBrevoEvent)
		if act.Kind == workflow.KindBrevoEvent {
			act.Name, act.Properties = a.BrevoEvent.Name, a.BrevoEvent.Properties
		}
	}
	if a.SetAttribute != nil {
		set(workflow.KindSetAttribute)
		act.Attributes = a.SetAttribute
	}
	if a.AddTag != "" {
		set(workflow.KindAddTag)
		act.Tag = a.AddTag
	}
	if !a.AddToList.IsZero() {
		set(workflow.KindAddToList)
		a.AddToList.action(&act)
	}
	if !a.RemoveFromList.IsZero() {
		set(workflow.KindRemoveFromList)
		if act.Kind == workflow.KindRemoveFromList {
			a.RemoveFromList.action(&act)
		}
	}
	if a.CreateTask != nil {
		set(workflow.KindCreateTask)
		if act.Kind == workflow.KindCreateTask {
			act.Subject, act.Body, act.DueIn, act.TaskOwner = a.CreateTask.Subject, a.CreateTask.Body, a.CreateTask.DueIn, a.CreateTask.Owner
		}
	}
	if a.CreateNote != nil {
		set(workflow.KindCreateNote)
		if act.Kind == workflow.KindCreateNote {
			act.Body = a.CreateNote.Body
		}
	}
	if a.SetLifecycleStage != "" {
		set(workflow.KindSetLifecycleStage)
		act.Stage = synclayer.LifecycleStage(a.SetLifecycleStage)
	}
	if !a.AssignOwner.IsZero() {
		set(workflow.KindAssignOwner)
		act.OwnerID, act.RoundRobin = a.AssignOwner.ID, slices.Clone(a.AssignOwner.RoundRobin)
	}
	return act, n
}

// finishWorkflows checks every rule: its trigger, filter and actions.
// Errors name the rule by index and name, and the line; a filter's also
// give the line and column in the expression.
func (c *Config) finishWorkflows(e *configErrors) {
	c.workflows = nil
	if len(c.Workflows) == 0 {
		return
	}
	rules := make([]workflow.Rule, len(c.Workflows))
	failed := false
	for i, w := range c.Workflows {
		if w == nil {
			e.add(fmt.Sprintf("workflows[%d]", i), "is empty; a rule has name, trigger, filter and actions")
			failed = true
			continue
		}
		r := workflow.Rule{Name: w.Name, Owner: w.Owner, Trigger: synclayer.EventType(w.Trigger), Filter: w.Filter,
			Destination: w.Destination, Destinations: w.Destinations}
		if w.actsOnContacts() || w.actsOnCRM() {
			r.Checks = map[string]func(synclayer.ActionCheck) error{}
			seen := map[string]bool{}
			for k, name := range w.destinationNames() {
				field := "destination"
				if len(w.Destinations) > 0 {
					field = fmt.Sprintf("destinations[%d]", k)
				}
				if name == "" || seen[name] {
					continue // empty or named twice: Compile says so
				}
				seen[name] = true
				if check, err := c.actionCheck(name, w.actsOnContacts(), w.actsOnCRM()); err != nil {
					workflowError(e, i, w.Name, field, "%s", err.Error())
					failed = true
				} else if check != nil {
					r.Checks[name] = check
				}
			}
		}
		for j := range w.Actions {
			act, n := w.Actions[j].rule()
			if n > 1 {
				workflowError(e, i, w.Name, fmt.Sprintf("actions[%d]", j), "sets %d actions; give each its own list item (- %s: ...)", n, act.Kind)
				failed = true
			}
			r.Actions = append(r.Actions, act)
		}
		rules[i] = r
	}
	rs, err := workflow.Compile(rules, channels)
	if ps, ok := err.(workflow.Problems); ok {
		for _, p := range ps {
			if p.Line > 0 {
				workflowError(e, p.Rule, p.Name, p.Field, "expression line %d, column %d: %s", p.Line, p.Column, p.Message)
			} else {
				workflowError(e, p.Rule, p.Name, p.Field, "%s", p.Message)
			}
		}
		return
	}
	if err != nil {
		e.add("workflows", "%v", err)
		return
	}
	if !failed {
		c.workflows = rs
	}
}

// actsOnContacts reports whether the rule has an action a destination
// carries out (event, set_attribute, add_to_list, remove_from_list).
func (w *WorkflowConfig) actsOnContacts() bool {
	for _, a := range w.Actions {
		if a.Event != nil || a.BrevoEvent != nil || a.SetAttribute != nil || !a.AddToList.IsZero() || !a.RemoveFromList.IsZero() {
			return true
		}
	}
	return false
}

// actsOnCRM reports whether the rule has an action a CRM destination
// carries out (create_task, create_note).
func (w *WorkflowConfig) actsOnCRM() bool {
	return slices.ContainsFunc(w.Actions, func(a WorkflowActionConfig) bool { return a.CreateTask != nil || a.CreateNote != nil })
}

// destinationNames is the destinations the rule's contact actions act
// on, as configured: destinations, else the one destination (brevo when
// neither is set).
func (w *WorkflowConfig) destinationNames() []string {
	if len(w.Destinations) > 0 {
		return w.Destinations
	}
	return []string{orDefault(w.Destination, "brevo")}
}

// actsOnBrevo reports whether the rule's contact actions act on the
// destination named brevo, which is then configured by default.
func (w *WorkflowConfig) actsOnBrevo() bool {
	return w.actsOnContacts() && slices.Contains(w.destinationNames(), "brevo")
}

// actionCheck is the check of contact and CRM actions on destination
// name, opened as config validation opens destinations; nil, without an
// error, when the destination does not open (reported at its own key).
// A rule with contact actions (contact) needs a
// synclayer.ActionDestination, one with create_task or create_note (crm)
// a synclayer.CRMActionDestination.
func (c *Config) actionCheck(name string, contact, crm bool) (func(synclayer.ActionCheck) error, error) {
	if _, ok := c.Destinations[name]; !ok {
		return nil, fmt.Errorf("destination %q is not configured under destinations", name)
	}
	d, err := c.openDestination(name, checkEnv())
	if err != nil {
		return nil, nil // reported at destinations.<name>
	}
	ad, isAction := d.(synclayer.ActionDestination)
	cd, isCRM := d.(synclayer.CRMActionDestination)
	var errs []error
	if contact && !isAction {
		errs = append(errs, fmt.Errorf("%s (type %s) takes no contact actions (event, set_attribute, add_to_list, remove_from_list)", name, d.Type()))
	}
	if crm && !isCRM {
		errs = append(errs, fmt.Errorf("%s (type %s) takes no CRM actions (create_task, create_note): they need a CRM destination such as hubspot", name, d.Type()))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return func(a synclayer.ActionCheck) error {
		if a.Kind == workflow.KindCreateTask || a.Kind == workflow.KindCreateNote {
			return cd.CheckCRMAction(a)
		}
		return ad.CheckAction(a)
	}, nil
}

// workflowError adds a problem with a rule, named by its index and name
// ("workflows[1] (churn-risk).filter") at the line of its key.
func workflowError(e *configErrors, i int, name, field, format string, args ...any) {
	key := fmt.Sprintf("workflows[%d].%s", i, field)
	shown := fmt.Sprintf("workflows[%d] (%s).%s", i, name, field)
	e.keys = append(e.keys, key)
	msg := shown + ": " + fmt.Sprintf(format, args...)
	line := e.line(key)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	e.errs = append(e.errs, msg)
	e.lines = append(e.lines, line)
}

// workflowEnvFields are the rules' env keys: Slack webhook URLs and
// webhook URLs and secrets.
func (c *Config) workflowEnvFields() []envField {
	var out []envField
	for i, w := range c.Workflows {
		if w == nil {
			continue
		}
		for j := range w.Actions {
			a, key := &w.Actions[j], fmt.Sprintf("workflows[%d].actions[%d]", i, j)
			if a.Slack != nil {
				out = append(out, envField{key: key + ".slack.webhook_url", value: &a.Slack.WebhookURL, secret: true})
			}
			if a.Webhook != nil {
				out = append(out, envField{key: key + ".webhook.url", value: &a.Webhook.URL},
					envField{key: key + ".webhook.secret", value: &a.Webhook.Secret, secret: true})
			}
		}
	}
	return out
}

// workflowSecrets are the values the logger must redact.
func (c *Config) workflowSecrets() []string {
	var out []string
	for _, f := range c.workflowEnvFields() {
		if f.secret && *f.value != "" {
			out = append(out, *f.value)
		}
	}
	return out
}

// cloneWorkflows copies the rules deep enough that versionYAML can put
// the env references back without touching the running config.
func cloneWorkflows(ws []*WorkflowConfig) []*WorkflowConfig {
	if ws == nil {
		return nil
	}
	out := make([]*WorkflowConfig, len(ws))
	for i, w := range ws {
		if w == nil {
			continue
		}
		cp := *w
		cp.Destinations = slices.Clone(w.Destinations)
		cp.Actions = make([]WorkflowActionConfig, len(w.Actions))
		for j, a := range w.Actions {
			if a.Slack != nil {
				s := *a.Slack
				a.Slack = &s
			}
			if a.Webhook != nil {
				h := *a.Webhook
				a.Webhook = &h
			}
			a.AddToList.On, a.RemoveFromList.On = maps.Clone(a.AddToList.On), maps.Clone(a.RemoveFromList.On)
			if a.CreateTask != nil {
				t := *a.CreateTask
				a.CreateTask = &t
			}
			if a.CreateNote != nil {
				n := *a.CreateNote
				a.CreateNote = &n
			}
			a.AssignOwner.RoundRobin = slices.Clone(a.AssignOwner.RoundRobin)
			cp.Actions[j] = a
		}
		out[i] = &cp
	}
	return out
}

// workflowIngest lets ingest fire the rules' triggers.
func (m *Main) workflowIngest(cfg *ingest.Config) {
	if m.Config.workflows == nil {
		return
	}
	m.triggers = m.Config.workflows
	cfg.Triggers = m.triggers
}

// startWorkflows starts the workers that run the rules' actions: one on
// the workflows queue (Slack, webhooks, add_tag and Brevo's contact
// actions) and one on each other action destination's queue
// (workflows@klaviyo), so one destination's outage, whose attempts hang
// until they time out, holds no other's actions behind it. Every
// destination that takes contact actions gets its worker, not only those
// the rules name now, so a job replayed after a rule dropped its
// destination still runs (and dead-letters, saying why). The fields
// set_attribute sets are created at each destination first where
// missing; an unreachable destination only delays its own to its first
// set_attribute, which checks again.
func (m *Main) startWorkflows() {
	rs := m.Config.workflows
	if rs == nil {
		return
	}
	dests := map[string]synclayer.ActionDestination{}
	crm := map[string]synclayer.CRMActionDestination{}
	queues := map[string]bool{}
	for name, d := range m.destinations {
		if ad, ok := d.(synclayer.ActionDestination); ok {
			dests[name], queues[name] = ad, true
		}
		if cd, ok := d.(synclayer.CRMActionDestination); ok {
			crm[name], queues[name] = cd, true
		}
	}
	h := &workflow.Handler{Rules: rs, Store: m.DB, Destinations: dests, CRM: crm, Ingest: m.workflowContactChange}
	for _, name := range sortedNames(m.destinations) {
		if od, ok := m.destinations[name].(synclayer.OwnerDirectory); ok {
			h.Owners = append(h.Owners, od)
		}
	}
	if cs := m.Config.Skills.CustomerSync; cs != nil && cs.Enabled {
		h.ContactQueues = map[string]string{}
		for _, t := range m.Config.targets(cs) {
			h.ContactQueues[contactQueue(t.name)] = t.name
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := h.EnsureAttributes(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Warn("workflows: set_attribute fields not checked yet; set_attribute checks again before it runs", "err", err)
		}
		for _, problem := range h.CheckOwners(ctx) {
			m.Logger.Warn("workflows: " + problem)
		}
	}()
	noTrace := func(c *queue.Config) { c.NoTrace = true }
	m.startWorker(synclayer.WorkflowSkill, h, noTrace)
	for _, name := range slices.Sorted(maps.Keys(queues)) {
		if q := synclayer.Queue(synclayer.WorkflowSkill, name); q != synclayer.WorkflowSkill {
			m.startWorker(q, h, noTrace)
		}
	}
	names := make([]string, 0, rs.Len())
	for _, w := range m.Config.Workflows {
		names = append(names, w.Name)
	}
	m.Logger.Info("workflows started", "rules", strings.Join(names, ","), "destinations", strings.Join(rs.Destinations(), ","))
}

// workflowContactChange applies set_lifecycle_stage's and assign_owner's
// change through ingest, the one path into the store, reporting what it
// did on the event.
func (m *Main) workflowContactChange(ctx context.Context, ev *synclayer.Event) (bool, error) {
	res, err := m.Ingester.Ingest(ctx, []*synclayer.Event{ev})
	if err != nil {
		return false, err
	}
	if len(res) != 1 {
		return false, fmt.Errorf("ingest answered %d results for one event", len(res))
	}
	ev.Status, ev.Reason, ev.Ignored = res[0].Status, res[0].Reason, res[0].Ignored
	return res[0].Duplicate, nil
}
