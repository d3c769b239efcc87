package intercom

import (
	"encoding/json"
	"strconv"
	"strings"

	"synclayer"
	"synclayer/normalize"
)

// parseConversation reads a conversation as a ticket: its id, the
// subject (source.subject, else title), the message the notification
// reports (the last conversation part, else source.body) as text, the state, the
// contact who wrote in, tags and times. path is the item's place in the
// body, for errors.
func parseConversation(path string, c map[string]json.RawMessage) (*synclayer.TicketChange, error) {
	ch, err := common(path, c)
	if err != nil {
		return nil, err
	}
	state, err := optString(path+".state", c["state"])
	if err != nil {
		return nil, err
	}
	if state == "" {
		if open, ok, err := normalize.Bool(path+".open", c["open"]); err != nil {
			return nil, err
		} else if ok {
			state = map[bool]string{true: "open", false: "closed"}[open]
		}
	}
	if ch.Status, err = ConversationStatus(state); err != nil {
		return nil, synclayer.FieldErrorf(path+".state", "%s", synclayer.ErrorMessage(err))
	}
	if ch.Subject, err = optString(path+".title", c["title"]); err != nil {
		return nil, err
	}
	var author map[string]json.RawMessage
	if src := c["source"]; !normalize.IsNull(src) {
		source, err := normalize.Object(path+".source", src)
		if err != nil {
			return nil, err
		}
		subject, err := optString(path+".source.subject", source["subject"])
		if err != nil {
			return nil, err
		}
		if subject = normalize.HTMLText(subject); subject != "" {
			ch.Subject = subject
		}
		body, err := optString(path+".source.body", source["body"])
		if err != nil {
			return nil, err
		}
		ch.Text = normalize.HTMLText(body)
		if ch.Channel, err = optString(path+".source.type", source["type"]); err != nil {
			return nil, err
		}
		ch.Channel = strings.ToLower(ch.Channel)
		if a := source["author"]; !normalize.IsNull(a) {
			if author, err = normalize.Object(path+".source.author", a); err != nil {
				return nil, err
			}
		}
	}
	if text, has, err := lastPart(path+".conversation_parts", c["conversation_parts"], "conversation_parts"); err != nil {
		return nil, err
	} else if has {
		ch.Text = text
	}
	if ch.Requester, err = requester(path, c, author); err != nil {
		return nil, err
	}
	return ch, nil
}

// parseTicket reads an Intercom ticket (ticket.* topics): its default
// title and description, its state, its contact and times.
func parseTicket(path string, t map[string]json.RawMessage) (*synclayer.TicketChange, error) {
	ch, err := common(path, t)
	if err != nil {
		return nil, err
	}
	state, err := ticketState(path+".ticket_state", t["ticket_state"])
	if err != nil {
		return nil, err
	}
	if ch.Status, err = TicketStatus(state); err != nil {
		return nil, synclayer.FieldErrorf(path+".ticket_state", "%s", synclayer.ErrorMessage(err))
	}
	if a := t["ticket_attributes"]; !normalize.IsNull(a) {
		attrs, err := normalize.Object(path+".ticket_attributes", a)
		if err != nil {
			return nil, err
		}
		if ch.Subject, err = optString(path+".ticket_attributes._default_title_", attrs["_default_title_"]); err != nil {
			return nil, err
		}
		desc, err := optString(path+".ticket_attributes._default_description_", attrs["_default_description_"])
		if err != nil {
			return nil, err
		}
		ch.Text = normalize.HTMLText(desc)
	}
	if text, has, err := lastPart(path+".ticket_parts", t["ticket_parts"], "ticket_parts"); err != nil {
		return nil, err
	} else if has {
		ch.Text = text
	}
	if tid, err := normalize.ID(path+".ticket_id", t["ticket_id"]); err != nil {
		return nil, err
	} else if tid != "" {
		ch.Fields["ticketNumber"], _ = json.Marshal(tid)
	}
	ch.Channel = "ticket"
	if ch.Requester, err = requester(path, t, nil); err != nil {
		return nil, err
	}
	return ch, nil
}

// common reads what conversations and tickets share: id, times, tags,
// priority and assignees.
func common(path string, c map[string]json.RawMessage) (*synclayer.TicketChange, error) {
	ch := &synclayer.TicketChange{Fields: map[string]json.RawMessage{}}
	var err error
	if ch.SourceID, err = normalize.ID(path+".id", c["id"]); err != nil {
		return nil, err
	}
	if ch.SourceID == "" {
		return nil, synclayer.FieldErrorf(path+".id", "missing; the conversation's id keys its ticket")
	}
	if ch.Created, err = unixField(path+".created_at", c["created_at"]); err != nil {
		return nil, err
	}
	if ch.Updated, err = unixField(path+".updated_at", c["updated_at"]); err != nil {
		return nil, err
	}
	if ch.Updated.IsZero() {
		return nil, synclayer.FieldErrorf(path+".updated_at", "missing; the conversation's update time decides which of two reports is newer")
	}
	priority, err := optString(path+".priority", c["priority"])
	if err != nil {
		return nil, err
	}
	if priority == "priority" { // Intercom marks a conversation priority or not_priority
		ch.Priority = "high"
	}
	if ch.Tags, err = tags(path+".tags", c["tags"]); err != nil {
		return nil, err
	}
	for _, k := range []string{"admin_assignee_id", "team_assignee_id"} {
		if v, err := normalize.ID(path+"."+k, c[k]); err != nil {
			return nil, err
		} else if v != "" && v != "0" {
			ch.Fields[camel(k)], _ = json.Marshal(v)
		}
	}
	return ch, nil
}

// requester names who wrote in: the first of the item's contacts
// (contacts.contacts[0], or the older customers/user shapes), by Intercom
// contact id, with the email where the item or the source's author gives
// one. A conversation an admin started with nobody attached has none.
func requester(path string, c map[string]json.RawMessage, author map[string]json.RawMessage) (*synclayer.CustomerChange, error) {
	rc := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	if v := c["contacts"]; !normalize.IsNull(v) {
		list, err := normalize.Object(path+".contacts", v)
		if err != nil {
			return nil, err
		}
		items, err := normalize.Array(path+".contacts.contacts", list["contacts"])
		if err != nil {
			return nil, err
		}
		if len(items) > 0 {
			first, err := normalize.Object(path+".contacts.contacts[0]", items[0])
			if err != nil {
				return nil, err
			}
			if rc.SourceID, err = normalize.ID(path+".contacts.contacts[0].id", first["id"]); err != nil {
				return nil, err
			}
			if err := email(rc, path+".contacts.contacts[0].email", first["email"]); err != nil {
				return nil, err
			}
		}
	}
	if author != nil {
		typ, err := optString(path+".source.author.type", author["type"])
		if err != nil {
			return nil, err
		}
		if typ == "user" || typ == "lead" || typ == "contact" {
			aid, err := normalize.ID(path+".source.author.id", author["id"])
			if err != nil {
				return nil, err
			}
			if rc.SourceID == "" {
				rc.SourceID = aid
			}
			if aid == rc.SourceID && rc.Fields[synclayer.FieldEmail] == nil {
				if err := email(rc, path+".source.author.email", author["email"]); err != nil {
					return nil, err
				}
			}
		}
	}
	if !rc.Identifies() {
		return nil, nil
	}
	return rc, nil
}

func email(rc *synclayer.CustomerChange, field string, raw json.RawMessage) error {
	if normalize.IsNull(raw) {
		return nil
	}
	e, err := normalize.Text(field, raw)
	if err != nil {
		return err
	}
	if !normalize.IsNull(e) {
		rc.Fields[synclayer.FieldEmail] = e
	}
	return nil
}

// lastPart reads a part list ({"conversation_parts": [...]},
// {"ticket_parts": [...]}): Intercom sends the latest parts only, and the
// last is what the notification reports. has is false when there are no
// parts (a new conversation, whose message is its source); text is ""
// when the last part has no body (a close, a snooze, an assignment).
func lastPart(path string, raw json.RawMessage, key string) (text string, has bool, err error) {
	if normalize.IsNull(raw) {
		return "", false, nil
	}
	list, err := normalize.Object(path, raw)
	if err != nil {
		return "", false, err
	}
	parts, err := normalize.Array(path+"."+key, list[key])
	if err != nil || len(parts) == 0 {
		return "", false, err
	}
	last := path + "." + key + "[" + strconv.Itoa(len(parts)-1) + "]"
	p, err := normalize.Object(last, parts[len(parts)-1])
	if err != nil {
		return "", false, err
	}
	body, err := optString(last+".body", p["body"])
	if err != nil {
		return "", false, err
	}
	if typ, err := optString(last+".part_type", p["part_type"]); err != nil {
		return "", false, err
	} else if typ == "note" {
		return "", true, nil // an admin's internal note is not the customer's message
	}
	return normalize.HTMLText(body), true, nil
}

// ticketState reads ticket_state: a string in the ticket model, or an
// object whose category is the state in newer API versions.
func ticketState(field string, raw json.RawMessage) (string, error) {
	if normalize.IsNull(raw) {
		return "", nil
	}
	if s, err := normalize.String(field, raw); err == nil {
		return s, nil
	}
	obj, err := normalize.Object(field, raw)
	if err != nil {
		return "", synclayer.FieldErrorf(field, "must be a state name or a ticket_state object")
	}
	return optString(field+".category", obj["category"])
}

// ConversationStatus maps a conversation's state to the canonical status:
// open is open, snoozed is pending (set aside until a time or a reply),
// and closed is solved, since a reply reopens a closed Intercom
// conversation as it does a solved Zendesk ticket.
func ConversationStatus(state string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(state)) {
	case "open":
		return synclayer.TicketOpen, nil
	case "snoozed":
		return synclayer.TicketPending, nil
	case "closed":
		return synclayer.TicketSolved, nil
	case "":
		return "", synclayer.Errorf(synclayer.EINVALID, "missing; Intercom sends every conversation's state")
	}
	return "", synclayer.Errorf(synclayer.EINVALID, "%q is not an Intercom conversation state: open, snoozed or closed", normalize.Clip(state))
}

// TicketStatus maps an Intercom ticket's state to the canonical status:
// submitted is new, in_progress open, waiting_on_customer pending and
// resolved solved.
func TicketStatus(state string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(state)) {
	case "submitted":
		return synclayer.TicketNew, nil
	case "in_progress":
		return synclayer.TicketOpen, nil
	case "waiting_on_customer":
		return synclayer.TicketPending, nil
	case "resolved":
		return synclayer.TicketSolved, nil
	case "":
		return "", synclayer.Errorf(synclayer.EINVALID, "missing; Intercom sends every ticket's state")
	}
	return "", synclayer.Errorf(synclayer.EINVALID, "%q is not an Intercom ticket state: submitted, in_progress, waiting_on_customer or resolved", normalize.Clip(state))
}

// tags reads {"type": "tag.list", "tags": [{"name": ...}]}.
func tags(field string, raw json.RawMessage) ([]string, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	list, err := normalize.Object(field, raw)
	if err != nil {
		return nil, err
	}
	items, err := normalize.Array(field+".tags", list["tags"])
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		tag, err := normalize.Object(field+".tags[]", it)
		if err != nil {
			return nil, err
		}
		name, err := optString(field+".tags[].name", tag["name"])
		if err != nil {
			return nil, err
		}
		if name != "" {
			out = append(out, strings.ToLower(name))
		}
	}
	return out, nil
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
