package custom

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"synclayer"
	"synclayer/normalize"
)

var eventTypes = map[string]synclayer.EventType{
	string(synclayer.EventCustomerCreated): synclayer.EventCustomerCreated,
	string(synclayer.EventCustomerUpdated): synclayer.EventCustomerUpdated,
	string(synclayer.EventCustomerDeleted): synclayer.EventCustomerDeleted,
}

// ParseEvent reads an event body (a customer, order or product event)
// without checking any signature; Parse calls it after verification, and
// manual triggers call it directly and set their own DedupeKey. The event's OccurredAt is its
// timestamp, ReceivedAt is now.
//
// Errors are EINVALID naming the field: "body" for malformed JSON (with the
// byte offset), "event" for an unknown event, "timestamp" for a missing or
// unreadable time, "data.id" when nothing identifies the customer, and the
// path of any value of the wrong type ("data.tags[2]").
func ParseEvent(body []byte, now time.Time) (*synclayer.Event, error) {
	top, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	name, err := normalize.String("event", top["event"])
	if err != nil {
		return nil, err
	}
	if parse, ok := commerceEvents[name]; ok {
		return parseCommerceEvent(top, name, parse, body, now)
	}
	typ, ok := eventTypes[name]
	if !ok {
		if name == "" {
			return nil, synclayer.FieldErrorf("event", "missing; set it to %s", eventList())
		}
		return nil, synclayer.FieldErrorf("event", "unknown event %q; use %s", clip(name), eventList())
	}
	at, err := eventTime(top["timestamp"])
	if err != nil {
		return nil, err
	}
	raw, ok := top["data"]
	if !ok || normalize.IsNull(raw) {
		return nil, synclayer.FieldErrorf("data", "missing; the event carries the customer in data")
	}
	data, err := normalize.Object("data", raw)
	if err != nil {
		return nil, err
	}
	ch, err := parseData(data)
	if err != nil {
		return nil, err
	}
	if !ch.Identifies() {
		return nil, synclayer.FieldErrorf("data.id", "the event must identify a customer: data.id, data.email or data.phone")
	}
	ch.Delete = typ == synclayer.EventCustomerDeleted
	return &synclayer.Event{
		Source:     sourceName,
		Topic:      name,
		Type:       typ,
		OccurredAt: at,
		ReceivedAt: now.UTC(),
		Customer:   ch,
		Payload:    body,
	}, nil
}

func eventTime(raw json.RawMessage) (time.Time, error) {
	s, err := normalize.String("timestamp", raw)
	if err != nil {
		return time.Time{}, err
	}
	if s == "" {
		return time.Time{}, synclayer.FieldErrorf("timestamp", "missing; set it to the RFC 3339 time of the change, such as 2024-10-02T14:24:09Z")
	}
	t, err := normalize.Time(s)
	if err != nil {
		return time.Time{}, synclayer.FieldErrorf("timestamp", "%s", synclayer.ErrorMessage(err))
	}
	return t, nil
}

// parseData reads data: canonical fields, attributes, consent and changes.
// Keys are read in sorted order so that the first error is always the same.
func parseData(data map[string]json.RawMessage) (*synclayer.CustomerChange, error) {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	var err error
	for _, k := range slices.Sorted(maps.Keys(data)) {
		raw, path := data[k], "data."+k
		switch k {
		case "id":
			ch.SourceID, err = normalize.ID(path, raw)
		case "":
			err = synclayer.FieldErrorf(path, "a field needs a name")
		case "changes":
			continue // after the plain fields, which it must not repeat
		case "attributes":
			err = parseAttributes(ch, raw)
		case "emailConsent":
			ch.EmailConsent, err = consent(path, raw)
		case "smsConsent":
			ch.SMSConsent, err = consent(path, raw)
		case "acceptsMarketing":
			continue // after emailConsent, which wins over it
		default:
			if f := synclayer.MisspeltField(k); f != "" {
				err = synclayer.FieldErrorf(path, "is %s misspelt: send %s (custom attributes go under data.attributes)", f, f)
				break
			}
			ch.Fields[k], err = field(k, path, raw)
		}
		if err != nil {
			return nil, err
		}
	}
	if raw, ok := data["changes"]; ok && !normalize.IsNull(raw) {
		if err := parseChanges(ch, raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := data["acceptsMarketing"]; ok && ch.EmailConsent == nil {
		if ch.EmailConsent, err = acceptsMarketing("data.acceptsMarketing", raw); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

// parseAttributes reads data.attributes, an object of custom attributes
// kept as they are.
func parseAttributes(ch *synclayer.CustomerChange, raw json.RawMessage) error {
	if normalize.IsNull(raw) {
		return nil
	}
	attrs, err := normalize.Object("data.attributes", raw)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		path := "data.attributes." + k
		if k == "" {
			return synclayer.FieldErrorf(path, "a custom attribute needs a name")
		}
		if synclayer.KindOf(k) != synclayer.KindAny {
			return synclayer.FieldErrorf(path, "%q is a canonical field, not a custom attribute; set data.%s instead", k, k)
		}
		if k == synclayer.FieldWorkflowTags { // add_tag's own field: a source must not replace it
			return synclayer.FieldErrorf(path, "is the tags workflows add, which no source may set; send the source's tags in data.tags")
		}
		if _, dup := ch.Fields[k]; dup {
			return synclayer.FieldErrorf(path, "is also set as data.%s; set it once", k)
		}
		if ch.Fields[k], err = normalize.Raw(path, attrs[k]); err != nil {
			return err
		}
	}
	return nil
}

// parseChanges reads data.changes: {"field": {"old": ..., "new": ...}}. The
// new value is converted like the same key in data; the old one too, so it
// compares with the value held.
func parseChanges(ch *synclayer.CustomerChange, raw json.RawMessage) error {
	changes, err := normalize.Object("data.changes", raw)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		path := "data.changes." + k
		switch k {
		case "":
			return synclayer.FieldErrorf(path, "a changed field needs a name")
		case "id":
			return synclayer.FieldErrorf(path, "the customer id cannot change; name the customer in data.id")
		case "attributes", "changes":
			return synclayer.FieldErrorf(path, "list each changed custom attribute by its own name in data.changes")
		}
		c, err := normalize.Object(path, changes[k])
		if err != nil {
			return synclayer.FieldErrorf(path, "must be an object {\"old\": ..., \"new\": ...}")
		}
		newRaw, ok := c["new"]
		if !ok {
			return synclayer.FieldErrorf(path+".new", "missing; a change gives the field's new value (null clears it)")
		}
		switch k {
		case "emailConsent", "smsConsent", "acceptsMarketing":
			if err := changeConsent(ch, k, path+".new", newRaw); err != nil {
				return err
			}
			continue
		}
		if _, dup := ch.Fields[k]; dup {
			return synclayer.FieldErrorf(path, "is also set in data; set it once")
		}
		if ch.Fields[k], err = field(k, path+".new", newRaw); err != nil {
			return err
		}
		if oldRaw, ok := c["old"]; ok {
			if ch.Old == nil {
				ch.Old = map[string]json.RawMessage{}
			}
			if ch.Old[k], err = field(k, path+".old", oldRaw); err != nil {
				return err
			}
		}
	}
	return nil
}

func changeConsent(ch *synclayer.CustomerChange, k, path string, raw json.RawMessage) error {
	var (
		c   *synclayer.ConsentChange
		err error
	)
	if k == "acceptsMarketing" {
		c, err = acceptsMarketing(path, raw)
	} else {
		c, err = consent(path, raw)
	}
	if err != nil || c == nil {
		return err
	}
	target := &ch.EmailConsent
	if k == "smsConsent" {
		target = &ch.SMSConsent
	}
	if *target != nil {
		return synclayer.FieldErrorf(path, "the consent is also set in data; set it once")
	}
	*target = c
	return nil
}

// field converts the value of one field by its canonical kind; any other
// name is a custom attribute, kept as it is.
func field(name, path string, raw json.RawMessage) (json.RawMessage, error) {
	switch name {
	case synclayer.FieldTotalOrders:
		return normalize.Count(path, raw)
	case synclayer.FieldTotalSpent:
		return normalize.Decimal(path, raw)
	case synclayer.FieldLastOrderDate:
		v, _, err := normalize.Date(path, raw)
		return v, err
	case synclayer.FieldTags:
		return normalize.Tags(path, raw)
	}
	if synclayer.KindOf(name) == synclayer.KindAny {
		return normalize.Raw(path, raw)
	}
	return normalize.Text(path, raw)
}

var consentStates = map[string]synclayer.ConsentState{
	"subscribed":     synclayer.ConsentSubscribed,
	"unsubscribed":   synclayer.ConsentUnsubscribed,
	"not_subscribed": synclayer.ConsentNone,
}

// consent reads emailConsent or smsConsent: a state, or {state, updatedAt}.
// null is nil, which leaves the consent as it is.
func consent(path string, raw json.RawMessage) (*synclayer.ConsentChange, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	c := &synclayer.ConsentChange{}
	statePath, stateRaw := path, raw
	if obj, err := normalize.Object(path, raw); err == nil {
		statePath, stateRaw = path+".state", obj["state"]
		if _, c.At, err = normalize.Date(path+".updatedAt", obj["updatedAt"]); err != nil {
			return nil, err
		}
	}
	s, err := normalize.String(statePath, stateRaw)
	state, ok := consentStates[s]
	if err != nil || !ok {
		return nil, synclayer.FieldErrorf(statePath, "must be \"subscribed\", \"unsubscribed\" or \"not_subscribed\" "+
			"(or an object {\"state\": ..., \"updatedAt\": ...})")
	}
	c.State = state
	return c, nil
}

// acceptsMarketing reads the customer-sync skill's flag: true is an email
// opt-in, false only "not subscribed", which never lifts an opt-out.
func acceptsMarketing(path string, raw json.RawMessage) (*synclayer.ConsentChange, error) {
	b, ok, err := normalize.Bool(path, raw)
	if err != nil || !ok {
		return nil, err
	}
	if b {
		return &synclayer.ConsentChange{State: synclayer.ConsentSubscribed}, nil
	}
	return &synclayer.ConsentChange{State: synclayer.ConsentNone}, nil
}
