package freshdesk

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// parseTicket reads the README's ticket object: id, subject, text (the
// latest public comment, else the description), status, priority, source
// as the channel, type, tags, requester {id, email} and, when the body
// has them, created_at and updated_at in RFC 3339. Freshdesk has no
// placeholder for a ticket's update time, so without updated_at the
// report's time is its receipt (docs/platforms/freshdesk.md).
func (s *Source) parseTicket(path string, t map[string]json.RawMessage, now time.Time) (*synclayer.TicketChange, error) {
	ch := &synclayer.TicketChange{Fields: map[string]json.RawMessage{}}
	var err error
	if ch.SourceID, err = normalize.ID(path+".id", t["id"]); err != nil {
		return nil, err
	}
	if ch.SourceID == "" {
		return nil, synclayer.FieldErrorf(path+".id", "missing; send {{ticket.id}}, which keys the ticket")
	}
	if ch.Subject, err = optString(path+".subject", t["subject"]); err != nil {
		return nil, err
	}
	text, err := optString(path+".text", t["text"])
	if err != nil {
		return nil, err
	}
	desc, err := optString(path+".description", t["description"])
	if err != nil {
		return nil, err
	}
	if ch.Text = normalize.HTMLText(text); ch.Text == "" {
		ch.Text = normalize.HTMLText(desc)
	}
	status, err := scalar(path+".status", t["status"])
	if err != nil {
		return nil, err
	}
	if ch.Status, err = s.Status(status); err != nil {
		return nil, synclayer.FieldErrorf(path+".status", "%s", synclayer.ErrorMessage(err))
	}
	priority, err := scalar(path+".priority", t["priority"])
	if err != nil {
		return nil, err
	}
	ch.Priority = Priority(priority)
	source, err := scalar(path+".source", t["source"])
	if err != nil {
		return nil, err
	}
	ch.Channel = Channel(source)
	if typ, err := optString(path+".type", t["type"]); err != nil {
		return nil, err
	} else if typ != "" {
		ch.Fields["type"], _ = json.Marshal(typ)
	}
	if ch.Tags, err = tags(path+".tags", t["tags"]); err != nil {
		return nil, err
	}
	if ch.Created, err = timeField(path+".created_at", t["created_at"]); err != nil {
		return nil, err
	}
	if ch.Updated, err = timeField(path+".updated_at", t["updated_at"]); err != nil {
		return nil, err
	}
	if ch.Updated.IsZero() {
		ch.Updated = now.UTC().Truncate(time.Second)
	}
	if r := t["requester"]; !normalize.IsNull(r) {
		req, err := normalize.Object(path+".requester", r)
		if err != nil {
			return nil, err
		}
		rc := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
		if rc.SourceID, err = normalize.ID(path+".requester.id", req["id"]); err != nil {
			return nil, err
		}
		email, err := normalize.Text(path+".requester.email", req["email"])
		if err != nil {
			return nil, err
		}
		if !normalize.IsNull(email) {
			rc.Fields[synclayer.FieldEmail] = email
		}
		if rc.Identifies() {
			ch.Requester = rc
		}
	}
	if ch.Requester == nil {
		return nil, synclayer.FieldErrorf(path+".requester", "missing; send {\"email\": \"{{ticket.requester.email}}\"} so the ticket finds its contact")
	}
	return ch, nil
}

// simpleKeys maps the keys of the body Freshdesk builds in a rule's
// simple mode (named after its placeholders: ticket_id for {{ticket.id}})
// to the README's.
var simpleKeys = map[string]string{
	"ticket_id": "id", "ticket_subject": "subject", "ticket_latest_public_comment": "text",
	"ticket_description": "description", "ticket_status": "status", "ticket_priority": "priority",
	"ticket_source": "source", "ticket_ticket_type": "type", "ticket_tags": "tags",
}

// fromSimple rewrites a simple-mode body into the README's ticket object.
func fromSimple(f map[string]json.RawMessage) map[string]json.RawMessage {
	t := map[string]json.RawMessage{}
	for k, v := range f {
		if to, ok := simpleKeys[k]; ok {
			t[to] = v
		}
	}
	req := map[string]json.RawMessage{}
	for _, k := range []string{"ticket_contact_email", "ticket_requester_email", "ticket_from_email"} {
		if v := f[k]; !normalize.IsNull(v) {
			req["email"] = v
			break
		}
	}
	if v := f["ticket_requester_id"]; !normalize.IsNull(v) {
		req["id"] = v
	}
	if len(req) > 0 {
		t["requester"], _ = json.Marshal(req)
	}
	return t
}

// Status maps a Freshdesk status, as {{ticket.status}} renders it (the
// name: "Open") or as the API numbers it (2), to the canonical one: Open
// is open, Pending pending, Resolved solved and Closed closed. A custom
// status is read through the source's statuses setting.
func (s *Source) Status(v string) (string, error) {
	key := strings.ToLower(strings.TrimSpace(v))
	if st, ok := s.statuses[key]; ok {
		return st, nil
	}
	switch key {
	case "open", "2":
		return synclayer.TicketOpen, nil
	case "pending", "3":
		return synclayer.TicketPending, nil
	case "resolved", "4":
		return synclayer.TicketSolved, nil
	case "closed", "5":
		return synclayer.TicketClosed, nil
	case "":
		return "", synclayer.Errorf(synclayer.EINVALID, "missing; send the ticket's status ({{ticket.status}})")
	}
	return "", synclayer.Errorf(synclayer.EINVALID, "%q is not a Freshdesk status (Open, Pending, Resolved, Closed): map a custom status in the source's statuses setting", normalize.Clip(v))
}

// Priority maps a priority, by name or by the API's number (1 Low to 4
// Urgent), to lower case; anything else is kept as sent, lower-cased.
func Priority(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if p, ok := map[string]string{"1": "low", "2": "medium", "3": "high", "4": "urgent"}[v]; ok {
		return p
	}
	return v
}

// Channel maps a ticket's source, by name or by the API's number, to a
// lower-case channel.
func Channel(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if c, ok := map[string]string{"1": "email", "2": "portal", "3": "phone", "7": "chat", "9": "feedback widget", "10": "outbound email"}[v]; ok {
		return c
	}
	return v
}

// scalar reads a value a placeholder renders as a string, or the API as
// a whole number.
func scalar(field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if normalize.IsNull(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		n, _, err := normalize.Int64(field, raw)
		if err != nil {
			return "", synclayer.FieldErrorf(field, "must be a string or a whole number")
		}
		return strconv.FormatInt(n, 10), nil
	}
	return normalize.String(field, raw)
}

func optString(field string, raw json.RawMessage) (string, error) {
	if normalize.IsNull(raw) {
		return "", nil
	}
	return normalize.String(field, raw)
}

func timeField(field string, raw json.RawMessage) (time.Time, error) {
	_, t, err := normalize.Date(field, raw)
	return t, err
}

// tags reads {{ticket.tags}}, the tags separated by commas, or an array.
func tags(field string, raw json.RawMessage) ([]string, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	var out []string
	if s, err := normalize.String(field, raw); err == nil {
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	} else {
		b, err := normalize.Tags(field, raw)
		if err != nil {
			return nil, err
		}
		_ = json.Unmarshal(b, &out)
	}
	for i := range out {
		out[i] = strings.ToLower(out[i])
	}
	return out, nil
}
