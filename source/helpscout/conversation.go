package helpscout

import (
	"encoding/json"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// parseConversation reads a v2 conversation object as a ticket: id,
// subject, status, the primary customer (customer in the v1 shape),
// type as the channel, tags, times, and for the events that carry a
// message (convo.created and the two replies) that message's text.
func parseConversation(event string, c map[string]json.RawMessage) (*synclayer.TicketChange, error) {
	ch := &synclayer.TicketChange{Fields: map[string]json.RawMessage{}}
	var err error
	if ch.SourceID, err = normalize.ID("id", c["id"]); err != nil {
		return nil, err
	}
	if ch.SourceID == "" {
		return nil, synclayer.FieldErrorf("id", "missing; the conversation's id keys its ticket")
	}
	if ch.Subject, err = optString("subject", c["subject"]); err != nil {
		return nil, err
	}
	status, err := optString("status", c["status"])
	if err != nil {
		return nil, err
	}
	if ch.Status, err = Status(status); err != nil {
		return nil, synclayer.FieldErrorf("status", "%s", synclayer.ErrorMessage(err))
	}
	if strings.EqualFold(status, "spam") {
		ch.Fields["spam"] = json.RawMessage("true")
	}
	if ch.Channel, err = optString("type", c["type"]); err != nil {
		return nil, err
	}
	ch.Channel = strings.ToLower(ch.Channel)
	if ch.Tags, err = tags("tags", c["tags"]); err != nil {
		return nil, err
	}
	if ch.Created, err = timeField("createdAt", c["createdAt"]); err != nil {
		return nil, err
	}
	if ch.Requester, err = customer(c); err != nil {
		return nil, err
	}
	if n, err := normalize.ID("number", c["number"]); err != nil {
		return nil, err
	} else if n != "" {
		ch.Fields["number"], _ = json.Marshal(n)
	}
	if m, err := normalize.ID("mailboxId", c["mailboxId"]); err != nil {
		return nil, err
	} else if m != "" {
		ch.Fields["mailboxId"], _ = json.Marshal(m)
	}
	ch.Fields["event"], _ = json.Marshal(event)

	// The update time is the latest time the conversation shows: Help
	// Scout's v2 object has no single "updated" field (userUpdatedAt moves
	// with agents' changes, customerWaitingSince with customers' replies).
	latest := ch.Created
	later := func(t time.Time) {
		if t.After(latest) {
			latest = t
		}
	}
	for _, k := range []string{"userUpdatedAt", "closedAt", "updatedAt", "modifiedAt"} {
		t, err := timeField(k, c[k])
		if err != nil {
			return nil, err
		}
		later(t)
	}
	if w := c["customerWaitingSince"]; !normalize.IsNull(w) {
		obj, err := normalize.Object("customerWaitingSince", w)
		if err != nil {
			return nil, err
		}
		t, err := timeField("customerWaitingSince.time", obj["time"])
		if err != nil {
			return nil, err
		}
		later(t)
	}
	text, at, err := latestThread(c, event)
	if err != nil {
		return nil, err
	}
	later(at)
	ch.Text = text
	if latest.IsZero() {
		return nil, synclayer.FieldErrorf("userUpdatedAt", "missing, as are createdAt and every thread's time; the conversation's times decide which of two reports is newer")
	}
	ch.Updated = latest
	return ch, nil
}

// customer reads primaryCustomer (v2), else customer (v1): the Help Scout
// customer id and email.
func customer(c map[string]json.RawMessage) (*synclayer.CustomerChange, error) {
	key := "primaryCustomer"
	raw := c[key]
	if normalize.IsNull(raw) {
		key, raw = "customer", c["customer"]
	}
	if normalize.IsNull(raw) {
		return nil, nil
	}
	obj, err := normalize.Object(key, raw)
	if err != nil {
		return nil, err
	}
	rc := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	if rc.SourceID, err = normalize.ID(key+".id", obj["id"]); err != nil {
		return nil, err
	}
	email, err := normalize.Text(key+".email", obj["email"])
	if err != nil {
		return nil, err
	}
	if !normalize.IsNull(email) {
		rc.Fields[synclayer.FieldEmail] = email
	}
	if !rc.Identifies() {
		return nil, nil
	}
	return rc, nil
}

// messageThreads are the thread types of each message event's message:
// a customer's reply is a "customer" thread, an agent's a "message" one;
// a new conversation's first message is either, or a chat or a phone
// call.
var messageThreads = map[string][]string{
	"convo.created":                {"customer", "message", "chat", "phone"},
	"convo.customer.reply.created": {"customer", "chat"},
	"convo.agent.reply.created":    {"message", "chat"},
}

// latestThread returns the text of the newest thread (_embedded.threads)
// that is the event's message, or "" for an event that carries none, and
// the newest thread's time of any type.
func latestThread(c map[string]json.RawMessage, event string) (text string, at time.Time, err error) {
	emb := c["_embedded"]
	if normalize.IsNull(emb) {
		return "", time.Time{}, nil
	}
	obj, err := normalize.Object("_embedded", emb)
	if err != nil {
		return "", time.Time{}, err
	}
	threads, err := normalize.Array("_embedded.threads", obj["threads"])
	if err != nil {
		return "", time.Time{}, err
	}
	var textAt time.Time
	for _, raw := range threads {
		th, err := normalize.Object("_embedded.threads[]", raw)
		if err != nil {
			return "", time.Time{}, err
		}
		created, err := timeField("_embedded.threads[].createdAt", th["createdAt"])
		if err != nil {
			return "", time.Time{}, err
		}
		if created.After(at) {
			at = created
		}
		typ, err := optString("_embedded.threads[].type", th["type"])
		if err != nil {
			return "", time.Time{}, err
		}
		if !contains(messageThreads[event], typ) {
			continue
		}
		body, err := optString("_embedded.threads[].body", th["body"])
		if err != nil {
			return "", time.Time{}, err
		}
		if t := normalize.HTMLText(body); t != "" && (text == "" || created.After(textAt)) {
			text, textAt = t, created
		}
	}
	return text, at, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Status maps a Help Scout conversation status to the canonical one:
// active is open, pending pending, closed solved (a customer's reply
// reopens it, as it does a solved Zendesk ticket), and spam closed.
func Status(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "active", "open":
		return synclayer.TicketOpen, nil
	case "pending":
		return synclayer.TicketPending, nil
	case "closed":
		return synclayer.TicketSolved, nil
	case "spam":
		return synclayer.TicketClosed, nil
	case "":
		return "", synclayer.Errorf(synclayer.EINVALID, "missing; Help Scout sends every conversation's status")
	}
	return "", synclayer.Errorf(synclayer.EINVALID, "%q is not a Help Scout status: active, pending, closed or spam", normalize.Clip(s))
}

// tags reads v2's [{"id", "color", "tag"}] or v1's ["name", ...].
func tags(field string, raw json.RawMessage) ([]string, error) {
	items, err := normalize.Array(field, raw)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		name, err := normalize.String(field+"[]", it)
		if err != nil {
			obj, oerr := normalize.Object(field+"[]", it)
			if oerr != nil {
				return nil, synclayer.FieldErrorf(field+"[]", "must be a tag object or a tag name")
			}
			if name, err = optString(field+"[].tag", obj["tag"]); err != nil {
				return nil, err
			}
		}
		if name != "" {
			out = append(out, strings.ToLower(name))
		}
	}
	return out, nil
}
