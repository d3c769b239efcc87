package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"cel.dev/cel-go/cel"

	"synclayer"
)

// Rule is one workflow as configured: on Trigger, when Filter holds, run
// Actions in order. Owner is who answers for it, named in its messages.
type Rule struct {
	Name    string
	Owner   string
	Trigger synclayer.EventType
	Filter  string // CEL; "" matches every trigger
	Actions []Action
	// Destination names the one destination the rule's contact actions
	// (event, set_attribute, the lists) act on; "" is brevo.
	Destination string
	// Destinations names several, for a shop whose rule should reach
	// Brevo and Klaviyo alike without copying it: each contact action
	// runs on each, as its own job, so one destination's outage delays
	// nothing on the others. Setting it with Destination is a Problem.
	Destinations []string
	// Checks are the destinations' own checks of a contact action
	// (synclayer.ActionDestination.CheckAction), by destination name,
	// run at Compile for each destination the rule acts on; a
	// destination without one is not checked.
	Checks map[string]func(synclayer.ActionCheck) error
}

// Action kinds. KindBrevoEvent is the event action's first name, from
// when rules acted on Brevo only; it is still accepted and means
// KindEvent.
const (
	KindSlack          = "slack"
	KindWebhook        = "webhook"
	KindEvent          = "event"
	KindBrevoEvent     = "brevo_event"
	KindSetAttribute   = "set_attribute"
	KindAddTag         = "add_tag"
	KindAddToList      = "add_to_list"
	KindRemoveFromList = "remove_from_list"
	// CRM actions (crm.go): a task or note on each of the rule's
	// destinations, and the canonical contact's stage or owner.
	KindCreateTask        = "create_task"
	KindCreateNote        = "create_note"
	KindSetLifecycleStage = "set_lifecycle_stage"
	KindAssignOwner       = "assign_owner"
)

// Action is one thing a rule does. Kind decides which fields apply;
// strings marked "template" are Go text/templates over the view.
type Action struct {
	Kind string

	WebhookURL string // slack: the incoming-webhook URL, a secret
	Text       string // slack: template

	URL    string // webhook: the endpoint
	Secret string // webhook: whsec_ Standard Webhooks signing secret

	Name       string         // event: the event name
	Properties map[string]any // event: its properties; string values are templates

	Attributes map[string]any // set_attribute: field → value; string values are templates

	Tag string // add_tag: template

	ListID int64  // add_to_list, remove_from_list: a numeric list ID (Brevo's)
	List   string // add_to_list, remove_from_list: any other list (a Klaviyo list ID, a Mailchimp tag)
	// Lists, for a rule on several destinations, is the list on each, by
	// destination name, in place of ListID or List: one list is a number
	// on Brevo, an ID such as Y6nRLr on Klaviyo and a tag on Mailchimp,
	// so a shared value rarely names the same list on two platforms.
	Lists map[string]string

	Subject string        // create_task: template
	Body    string        // create_task, create_note: template
	DueIn   time.Duration // create_task: due this long after the trigger
	// TaskOwner is create_task's fixed assignee (a CRM owner ID); ""
	// assigns the contact's canonical owner when it has one.
	TaskOwner string

	Stage synclayer.LifecycleStage // set_lifecycle_stage

	OwnerID    string   // assign_owner: one fixed owner
	RoundRobin []string // assign_owner: or these in turn
}

// ListName is the action's one list as the destination names it; "" when
// it gives one per destination (Lists).
func (a Action) ListName() string {
	if a.List != "" {
		return a.List
	}
	if a.ListID > 0 {
		return strconv.FormatInt(a.ListID, 10)
	}
	return ""
}

// ListOn is the action's list on destination: its own in Lists, or the
// one list.
func (a Action) ListOn(destination string) string {
	if a.Lists != nil {
		return a.Lists[destination]
	}
	return a.ListName()
}

// Problem is one thing wrong with a rule. Field is where, relative to the
// rule ("filter", "actions[1].slack.text"); Line and Column locate it in
// the filter expression, 1-based, and are 0 elsewhere.
type Problem struct {
	Rule    int // index in the rules given to Compile
	Name    string
	Field   string
	Line    int
	Column  int
	Message string
}

func (p Problem) Error() string {
	at := ""
	if p.Line > 0 {
		at = fmt.Sprintf("line %d, column %d: ", p.Line, p.Column)
	}
	return fmt.Sprintf("workflows[%d] (%s).%s: %s%s", p.Rule, p.Name, p.Field, at, p.Message)
}

// Problems is every problem Compile found.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// Rules is a compiled set of rules: the trigger sink ingest fires, and
// what Handler runs actions by.
type Rules struct {
	all       []*rule
	byName    map[string]*rule
	byTrigger map[synclayer.EventType][]*rule
}

type rule struct {
	Rule
	filter  cel.Program
	actions []*action
	// destinations is Rule.names: where each contact action runs.
	destinations []string
}

type action struct {
	Action
	text       *template.Template
	tag        *template.Template
	subject    *template.Template // create_task
	body       *template.Template // create_task, create_note
	properties map[string]any     // string values compiled to *template.Template
	attributes map[string]any
	hook       synclayer.NotificationSender // a webhook action's
	slack      synclayer.NotificationSender // a slack action's
	// fingerprint identifies the action's config, for its rows to find it
	// again after the rule's actions are reordered (see fingerprint).
	fingerprint string
}

var (
	ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)
)

// Compile checks and compiles rules. It returns every problem found, as
// Problems, so a config with three mistakes reports three.
//
// ch builds the senders of slack and webhook actions; a rule with such
// an action is a problem when ch lacks the channel.
func Compile(rules []Rule, ch synclayer.Channels) (*Rules, error) {
	out := &Rules{byName: map[string]*rule{}, byTrigger: map[synclayer.EventType][]*rule{}}
	var problems Problems
	envs := map[synclayer.EventType]*cel.Env{}
	for i, r := range rules {
		add := func(field string, format string, args ...any) {
			problems = append(problems, Problem{Rule: i, Name: r.Name, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		switch {
		case r.Name == "":
			add("name", "is required: a short name such as high-value-order, which keys the rule's actions")
		case !ruleNameRE.MatchString(r.Name):
			add("name", "must be letters, digits, '-', '_' or '.', at most 100, starting with a letter or digit")
		case out.byName[r.Name] != nil:
			add("name", "%q names two rules; each needs its own name, since it keys what the rule has done", r.Name)
		}
		if len(r.Actions) == 0 {
			add("actions", "is required: what the rule does, such as slack, webhook or event")
		}
		c := &rule{Rule: r, destinations: r.names()}
		checkDestinations(r, add)
		if _, ok := nouns[r.Trigger]; !ok {
			if r.Trigger == "" {
				add("trigger", "is required: one of %s", Triggers())
			} else {
				add("trigger", "unknown trigger %q; use one of %s", clip(string(r.Trigger)), Triggers())
			}
		} else {
			env := envs[r.Trigger]
			if env == nil {
				var err error
				if env, err = newEnv(r.Trigger); err != nil {
					add("filter", "%v", err)
					continue
				}
				envs[r.Trigger] = env
			}
			prg, ps := compileFilter(env, r.Filter)
			for _, p := range ps {
				p.Rule, p.Name = i, r.Name
				if strings.Contains(p.Message, "undeclared reference") {
					p.Message += fmt.Sprintf("; %s rules see %s", r.Trigger, strings.Join(Variables(r.Trigger), ", "))
				}
				problems = append(problems, p)
			}
			c.filter = prg
		}
		for j, a := range r.Actions {
			ca, err := compileAction(a, ch)
			errs := []*actionError{err}
			if err == nil && ca.onDestinations() {
				// A missing list is the one problem to fix first; the
				// destination's check of "" would only repeat it.
				if errs = checkLists(c.destinations, a); errs == nil {
					errs = checkAction(r.Checks, c.destinations, a)
				}
			}
			failed := false
			for _, err := range errs {
				if err == nil {
					continue
				}
				field := fmt.Sprintf("actions[%d]", j)
				if err.field != "" {
					field += "." + err.field
				}
				add(field, "%s", err.msg)
				failed = true
			}
			if !failed {
				c.actions = append(c.actions, ca)
			}
		}
		if r.Name != "" && out.byName[r.Name] == nil {
			out.byName[r.Name] = c
		}
		out.all = append(out.all, c)
		out.byTrigger[r.Trigger] = append(out.byTrigger[r.Trigger], c)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

type actionError struct{ field, msg string }

func errAt(field, format string, args ...any) *actionError {
	return &actionError{field, fmt.Sprintf(format, args...)}
}

func compileAction(a Action, ch synclayer.Channels) (*action, *actionError) {
	c := &action{Action: a}
	var err error
	switch a.Kind {
	case KindSlack:
		if !httpURL(a.WebhookURL) {
			return nil, errAt("slack.webhook_url", "must be the http:// or https:// URL of a Slack incoming webhook, from the environment: webhook_url: \"${SLACK_WEBHOOK_URL}\"")
		}
		if strings.TrimSpace(a.Text) == "" {
			return nil, errAt("slack.text", "is required: the message, a template such as \"Order {{ .order.id }}\"")
		}
		if c.text, err = parseTemplate("text", a.Text); err != nil {
			return nil, errAt("slack.text", "%v", err)
		}
		if ch.Slack == nil {
			return nil, errAt("slack", "this program has no Slack channel")
		}
		c.slack = ch.Slack(a.WebhookURL)
	case KindWebhook:
		if !httpURL(a.URL) {
			return nil, errAt("webhook.url", "must be an http:// or https:// URL")
		}
		if ch.Webhook == nil {
			return nil, errAt("webhook", "this program has no webhook channel")
		}
		if c.hook, err = ch.Webhook(a.URL, a.Secret); err != nil {
			return nil, errAt("webhook.secret", "must be whsec_ followed by base64, from the environment: secret: \"${CHURN_WEBHOOK_SECRET}\"")
		}
	case KindEvent, KindBrevoEvent:
		// Problems name the key as written: event, or its alias.
		if strings.TrimSpace(a.Name) == "" {
			return nil, errAt(a.Kind+".name", "is required: the event's name, such as first_purchase")
		}
		if c.properties, err = compileValues(a.Properties); err != nil {
			return nil, errAt(a.Kind+".properties", "%v", err)
		}
	case KindSetAttribute:
		if len(a.Attributes) == 0 {
			return nil, errAt("set_attribute", "names no attribute; set_attribute: { CHURN_RISK: true }")
		}
		for name, v := range a.Attributes {
			switch v.(type) {
			case string, bool, int, int64, uint64, float64:
			default:
				return nil, errAt("set_attribute."+name, "must be a text, number or true/false")
			}
		}
		if c.attributes, err = compileValues(a.Attributes); err != nil {
			return nil, errAt("set_attribute", "%v", err)
		}
	case KindAddTag:
		if strings.TrimSpace(a.Tag) == "" {
			return nil, errAt("add_tag", "names no tag; add_tag: FIRST_PURCHASE")
		}
		if c.tag, err = parseTemplate("tag", a.Tag); err != nil {
			return nil, errAt("add_tag", "%v", err)
		}
	case KindAddToList, KindRemoveFromList:
		if a.Lists != nil {
			for _, name := range slices.Sorted(maps.Keys(a.Lists)) {
				if strings.TrimSpace(a.Lists[name]) == "" {
					return nil, errAt(a.Kind+"."+name, "names no list: give %s's list ID", name)
				}
			}
		} else if a.ListName() == "" {
			return nil, errAt(a.Kind, "names no list: give the list ID (a Brevo list ID is a number above 0)")
		}
	case KindCreateTask, KindCreateNote, KindSetLifecycleStage, KindAssignOwner:
		if err := compileCRM(c); err != nil {
			return nil, err
		}
	case "":
		return nil, errAt("", "names no action; use one of "+ActionKinds)
	default:
		return nil, errAt(a.Kind, "unknown action; use one of "+ActionKinds)
	}
	c.fingerprint = fingerprint(a)
	return c, nil
}

// ActionKinds names the action keys, for messages: event first, its
// older name brevo_event last.
const ActionKinds = "slack, webhook, event, set_attribute, add_tag, add_to_list, remove_from_list, create_task, create_note, set_lifecycle_stage or assign_owner (brevo_event is event's older name)"

// canonicalKind is kind with brevo_event read as event, for comparing a
// row's kind with its action's: renaming the key is no change.
func canonicalKind(kind string) string {
	if kind == KindBrevoEvent {
		return KindEvent
	}
	return kind
}

// fingerprint is a stable digest of what an action is configured to do,
// stored with each of its rows. The Slack webhook URL and the webhook
// secret are left out: they are secrets, and rotating one does not make
// it another action. Map keys are sorted by encoding/json. An event
// action is digested under its first name, brevo_event, so the rows of
// rules written before event existed keep finding their action, and
// renaming the key leaves the fingerprint as it was. The destinations
// are left out too: a row is one per action, whatever it acts on.
func fingerprint(a Action) string {
	if a.Kind == KindEvent {
		a.Kind = KindBrevoEvent
	}
	b, _ := json.Marshal(struct {
		Kind       string            `json:"k"`
		Text       string            `json:"t,omitempty"`
		URL        string            `json:"u,omitempty"`
		Name       string            `json:"n,omitempty"`
		Properties map[string]any    `json:"p,omitempty"`
		Attributes map[string]any    `json:"a,omitempty"`
		Tag        string            `json:"g,omitempty"`
		ListID     int64             `json:"l,omitempty"`
		List       string            `json:"ls,omitempty"`
		Lists      map[string]string `json:"lm,omitempty"`
		Subject    string            `json:"s,omitempty"`
		Body       string            `json:"b,omitempty"`
		DueIn      time.Duration     `json:"d,omitempty"`
		TaskOwner  string            `json:"o,omitempty"`
		Stage      string            `json:"st,omitempty"`
		OwnerID    string            `json:"oi,omitempty"`
		RoundRobin []string          `json:"rr,omitempty"`
	}{a.Kind, a.Text, a.URL, a.Name, a.Properties, a.Attributes, a.Tag, a.ListID, a.List, a.Lists,
		a.Subject, a.Body, a.DueIn, a.TaskOwner, string(a.Stage), a.OwnerID, a.RoundRobin})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

func compileValues(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if s, ok := v.(string); ok {
			t, err := parseTemplate(k, s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = t
			continue
		}
		out[k] = v
	}
	return out, nil
}

func parseTemplate(name, src string) (*template.Template, error) {
	t, err := template.New(name).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	return t, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// needsContact reports whether the action acts on, or names, a contact.
func (a *action) needsContact() bool {
	return a.Kind == KindAddTag || a.Kind == KindSetLifecycleStage || a.Kind == KindAssignOwner || a.onDestinations()
}

// onDestinations reports whether the action is carried out by the rule's
// destinations, once on each: the event, set_attribute and the lists.
// Slack and webhook actions run once per rule, and add_tag changes our
// own contact, which customer-sync then carries to every destination.
func (a *action) onDestinations() bool {
	switch a.Kind {
	case KindEvent, KindBrevoEvent, KindSetAttribute, KindAddToList, KindRemoveFromList, KindCreateTask, KindCreateNote:
		return true
	}
	return false
}

// onCRM reports whether the action is one a CRM destination carries out
// (synclayer.CRMActionDestination).
func (a *action) onCRM() bool { return a.Kind == KindCreateTask || a.Kind == KindCreateNote }

// Attributes returns every attribute set_attribute actions set, with the
// Brevo type to create it as: boolean, float or text.
func (r *Rules) Attributes() map[string]string {
	out := map[string]string{}
	for _, ru := range r.all {
		for _, a := range ru.actions {
			for name, v := range a.Attributes {
				switch v.(type) {
				case bool:
					out[name] = "boolean"
				case string:
					out[name] = "text"
				default:
					out[name] = "float"
				}
			}
		}
	}
	return out
}

// Len returns the number of rules.
func (r *Rules) Len() int { return len(r.all) }

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
