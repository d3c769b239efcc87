package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"synclayer"
)

// WorkflowSource is the source name of the fields workflows set.
const WorkflowSource = "workflows"

func (h *Handler) slack(ctx context.Context, a *action, view map[string]any) (string, error) {
	text, err := render(a.text, escapeSlack(view))
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"text": clipSlack(text)})
	if err := a.slack.Send(ctx, &synclayer.Notification{Channel: synclayer.ChannelSlack, Body: body}); err != nil {
		return "", err
	}
	return "Slack message sent", nil
}

// maxSlackText is where a message is cut: Slack truncates text past
// 40,000 characters, and a ticket's 1 MB text would otherwise be sent whole.
const maxSlackText = 40000

// clipSlack cuts text to maxSlackText characters, marking the cut with
// "…", and never inside an escape such as &amp;.
func clipSlack(text string) string {
	if utf8.RuneCountInString(text) <= maxSlackText {
		return text
	}
	cut := string([]rune(text)[:maxSlackText-1])
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && i > len(cut)-6 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}

// WebhookID is the webhook-id of a webhook action's deliveries: derived
// from the rule, the action and the trigger, so every retry of it, and a
// repeat after a crash, carries the same ID for the receiver to
// deduplicate on. The trigger's type is part of it, as of the row's
// once-key: one rule's order_created and (after a config change)
// order_cancelled of the same order are two deliveries.
func WebhookID(rule string, action int, trigger synclayer.EventType, triggerKey string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + strconv.Itoa(action) + "\x00" + string(trigger) + "\x00" + triggerKey))
	return "wf_" + hex.EncodeToString(sum[:16])
}

// WebhookBody is what a webhook action posts.
type WebhookBody struct {
	Type      string         `json:"type"` // "workflow.action"
	Timestamp time.Time      `json:"timestamp"`
	Data      WebhookPayload `json:"data"`
}

// WebhookPayload names the rule and the trigger, and carries the view the
// rule's filter saw.
type WebhookPayload struct {
	Rule    string         `json:"rule"`
	Owner   string         `json:"owner,omitempty"`
	Trigger WebhookTrigger `json:"trigger"`
	View    map[string]any `json:"view"`
}

type WebhookTrigger struct {
	Type      synclayer.EventType `json:"type"`
	Key       string              `json:"key"`
	EventID   string              `json:"eventId,omitempty"`
	ContactID string              `json:"contactId,omitempty"`
}

func (h *Handler) webhook(ctx context.Context, ru *rule, a *action, row *synclayer.WorkflowAction, view map[string]any) (string, error) {
	view = maps.Clone(view)
	delete(view, "rule") // named in the payload itself
	body, err := json.Marshal(WebhookBody{Type: "workflow.action", Timestamp: row.CreatedAt, Data: WebhookPayload{
		Rule: ru.Name, Owner: ru.Owner, View: view,
		Trigger: WebhookTrigger{Type: row.TriggerType, Key: row.TriggerKey, EventID: row.EventID, ContactID: row.ContactID},
	}})
	if err != nil {
		return "", synclayer.Permanent(fmt.Errorf("encode webhook body: %w", err))
	}
	id := WebhookID(row.Rule, row.Action, row.TriggerType, row.TriggerKey)
	if err := a.hook.Send(ctx, &synclayer.Notification{ID: id, Channel: synclayer.ChannelWebhook, Body: body}); err != nil {
		return "", err
	}
	return "webhook " + id + " delivered", nil
}

// EventKey is the once-only key of an event action's delivery to
// destination, sent for platforms that deduplicate events by an ID
// (Klaviyo's unique_id): derived from the rule, the action, the trigger
// and the destination, so every retry there carries the same key and
// each destination has its own. destination "" (a job queued before
// rules named several destinations) gives WebhookID, the key such a
// job's first attempts sent.
func EventKey(rule string, action int, trigger synclayer.EventType, triggerKey, destination string) string {
	if destination == "" {
		return WebhookID(rule, action, trigger, triggerKey)
	}
	sum := sha256.Sum256([]byte(rule + "\x00" + strconv.Itoa(action) + "\x00" + string(trigger) + "\x00" + triggerKey + "\x00" + destination))
	return "wf_" + hex.EncodeToString(sum[:16])
}

// event sends the destination's custom event: a Brevo event, a Klaviyo
// metric event, a Mailchimp member event.
func (h *Handler) event(ctx context.Context, t *target, a *action, row *synclayer.WorkflowAction, c *synclayer.Contact, view map[string]any) (string, error) {
	dest := t.d
	props, err := renderValues(a.properties, view)
	if err != nil {
		return "", err
	}
	ev := synclayer.ContactEvent{Name: a.Name, Properties: props, Key: t.key}
	if at, err := time.Parse(time.RFC3339Nano, viewText(view, "event", "at")); err == nil {
		ev.At = at
	}
	ref := synclayer.ContactRef{ID: row.ContactID, Email: viewText(view, "contact", "email")}
	if c != nil && c.Email != "" {
		ref.Email = c.Email
	}
	if err := dest.SendContactEvent(ctx, ref, ev); err != nil {
		return "", err
	}
	return label(dest) + " event " + a.Name + " sent", nil
}

// setAttribute sets the contact's fields at the destination, by our
// contact ID, which customer-sync gives every contact it creates, so an
// email changed meanwhile does not lose the update.
func (h *Handler) setAttribute(ctx context.Context, t *target, a *action, c *synclayer.Contact, view map[string]any) (string, error) {
	dest := t.d
	if err := h.ensureFields(ctx, t.name); err != nil {
		return "", err
	}
	attrs, err := renderValues(a.attributes, view)
	if err != nil {
		return "", err
	}
	if err := dest.SetContactFields(ctx, synclayer.ContactRef{ID: c.ID, Email: c.Email}, attrs); err != nil {
		return "", err
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	return "set " + strings.Join(names, ", ") + " in " + label(dest), nil
}

// list adds the contact to a list, only while it may receive marketing
// (as the store holds it now, so a later opt-out wins), or removes it
// from one.
func (h *Handler) list(ctx context.Context, t *target, a *action, c *synclayer.Contact) (string, error) {
	dest := t.d
	list, ref := a.ListOn(t.name), synclayer.ContactRef{ID: c.ID, Email: c.Email}
	if a.Kind != KindAddToList {
		if err := dest.RemoveContactFromList(ctx, ref, list); err != nil {
			return "", err
		}
		return fmt.Sprintf("removed from %s list %s", label(dest), list), nil
	}
	if !c.Marketable() {
		return fmt.Sprintf("skipped adding to %s list %s: the contact has no marketing consent", label(dest), list), nil
	}
	if err := dest.AddContactToList(ctx, ref, list); err != nil {
		return "", err
	}
	return fmt.Sprintf("added to %s list %s", label(dest), list), nil
}

// label names a destination in result lines: its platform's name for the
// one named after its platform ("Brevo"), its own name for the others.
func label(d synclayer.Destination) string {
	if d.Name() == d.Type() && d.Name() != "" {
		return strings.ToUpper(d.Name()[:1]) + d.Name()[1:]
	}
	return d.Name()
}

// addTag merges the tag into the contact's workflow tags, in a store
// transaction that also queues customer-sync, which sends them with the
// sources' own tags. A repeat is harmless: a tag held is not added twice.
func (h *Handler) addTag(ctx context.Context, a *action, row *synclayer.WorkflowAction, view map[string]any) (string, error) {
	tag, err := render(a.tag, view)
	if err != nil {
		return "", err
	}
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return "skipped add_tag: the tag came out empty", nil
	}
	// Dated at the trigger, not now: a delete the source made after the
	// trigger must not look older than this tag (Merge keeps the newest).
	at, _ := time.Parse(time.RFC3339Nano, viewText(view, "event", "at"))
	result := "tag " + tag + " added"
	err = h.Store.Tx(ctx, func(tx synclayer.Tx) error {
		c, err := lockContact(ctx, tx, row.ContactID)
		if synclayer.ErrorCode(err) == synclayer.ENOTFOUND || err == nil && c.Deleted {
			result = "skipped add_tag: the contact was deleted"
			return nil
		}
		if err != nil {
			return err
		}
		var tags []string
		_ = json.Unmarshal(c.Value(synclayer.FieldWorkflowTags), &tags)
		if slices.Contains(tags, tag) {
			result = "tag " + tag + " already held"
			return nil
		}
		if c.Fields == nil {
			c.Fields = map[string]synclayer.Field{}
		}
		if held := c.Fields[synclayer.FieldWorkflowTags].At; held.After(at) {
			at = held
		}
		raw, _ := json.Marshal(append(tags, tag))
		c.Fields[synclayer.FieldWorkflowTags] = synclayer.Field{Value: raw, At: at, Source: WorkflowSource}
		now := h.now().UTC()
		c.UpdatedAt = now
		if err := tx.SaveContact(ctx, c); err != nil {
			return err
		}
		for _, q := range slices.Sorted(maps.Keys(h.ContactQueues)) {
			if err := tx.EnqueueJob(ctx, q, h.ContactQueues[q], c.ID, now); err != nil {
				return err
			}
		}
		return nil
	})
	return result, err
}

// lockContact reads contact id under the identity locks ingest takes
// (its source IDs, email and phone), then reads it again: without them,
// on PostgreSQL an event merged meanwhile (an opt-out) would be saved
// over by this transaction's older copy, or overwrite the tag.
func lockContact(ctx context.Context, tx synclayer.Tx, id string) (*synclayer.Contact, error) {
	c, err := tx.FindContactByID(ctx, id)
	if err != nil {
		return nil, err
	}
	var keys []string
	for source, sid := range c.SourceIDs {
		keys = append(keys, "src:"+source+":"+sid)
	}
	if c.Email != "" {
		keys = append(keys, "email:"+c.Email)
	}
	if c.Phone != "" {
		keys = append(keys, "phone:"+c.Phone)
	}
	if err := tx.Lock(ctx, keys...); err != nil {
		return nil, err
	}
	return tx.FindContactByID(ctx, id)
}

func render(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", synclayer.Permanent(fmt.Errorf("template %s: %v", t.Name(), err))
	}
	return b.String(), nil
}

func renderValues(in map[string]any, view map[string]any) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if t, ok := v.(*template.Template); ok {
			s, err := render(t, view)
			if err != nil {
				return nil, err
			}
			out[k] = s
			continue
		}
		out[k] = v
	}
	return out, nil
}

// escapeSlack returns a copy of v with &, < and > escaped in every
// string, as Slack's mrkdwn requires of text that is not markup: a
// customer's name cannot open a link or mention a channel. The
// template's own text is left as written, so rules may use mrkdwn.
func escapeSlack(v any) any {
	switch x := v.(type) {
	case string:
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = escapeSlack(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = escapeSlack(e)
		}
		return out
	}
	return v
}

func viewText(view map[string]any, obj, key string) string {
	m, _ := view[obj].(map[string]any)
	s, _ := m[key].(string)
	return s
}
