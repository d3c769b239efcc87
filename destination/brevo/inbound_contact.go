package brevo

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// contactUpdated reads contact_updated. Brevo's documentation shows a
// top-level email and content as the changed attributes, but real
// deliveries (docs/brevo-webhooks.md) carry no top-level email and content
// as an array of {email, attributes, list, emailBlacklist}, one per
// contact. Both are read: each object in content, or content itself, is
// one contact; its attributes are its "attributes" object, or, when it has
// none, its own keys. Each contact with a mapped attribute or a blocklisting
// becomes one customer_updated event.
func (s *inbound) contactUpdated(path string, m map[string]json.RawMessage, raw json.RawMessage, name string,
	when time.Time, ts string, now time.Time, v inboundView) ([]*synclayer.Event, error) {
	var top string
	if !normalize.IsNull(m["email"]) {
		var err error
		if top, err = requiredEmail(at(path, "email"), m["email"]); err != nil {
			return nil, err
		}
	}
	entries, err := contentEntries(at(path, "content"), m["content"])
	if err != nil {
		return nil, err
	}
	var out []*synclayer.Event
	for _, e := range entries {
		email := top
		if !normalize.IsNull(e.email) {
			if email, err = requiredEmail(at(e.path, "email"), e.email); err != nil {
				return nil, err
			}
		}
		if email == "" {
			return nil, synclayer.FieldErrorf(at(e.path, "email"), "is missing; Brevo names each updated contact by email")
		}
		fields := map[string]json.RawMessage{}
		for _, attr := range slices.Sorted(maps.Keys(e.attrs)) {
			for _, field := range v.fields[strings.ToUpper(attr)] {
				if val, ok := canonicalValue(field, e.attrs[attr]); ok {
					fields[field] = val
				}
			}
		}
		var consent *synclayer.ConsentChange
		if e.blocklisted {
			// Blocklisted inside Brevo (by hand, by an import, by Brevo
			// itself): an opt-out no other event reports.
			consent = &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: when}
		}
		if len(fields) == 0 && consent == nil {
			continue // nothing synclayer maps changed
		}
		fields[synclayer.FieldEmail] = jsonText(email)
		out = append(out, &synclayer.Event{
			Source: s.d.name, Topic: name, Type: synclayer.EventCustomerUpdated, OccurredAt: when, ReceivedAt: now.UTC(),
			DedupeKey: dedupeKey(name, email, ts, "", "", e.canonical), Payload: raw,
			Customer: &synclayer.CustomerChange{Fields: fields, EmailConsent: consent},
		})
	}
	return out, nil
}

// contentEntry is one contact of a contact_updated delivery.
type contentEntry struct {
	path        string // for errors: "content[0]"
	email       json.RawMessage
	attrs       map[string]json.RawMessage
	blocklisted bool
	canonical   string // the entry as compact JSON with sorted keys, for the dedupe key
}

// structural are the keys of a content entry that are not attributes.
var structural = []string{"email", "attributes", "list", "emailBlacklist", "emailBlacklisted", "smsBlacklist", "smsBlacklisted"}

func contentEntries(field string, raw json.RawMessage) ([]contentEntry, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	paths := []string{field}
	switch b := strings.TrimSpace(string(raw)); b[0] {
	case '{':
		items = []json.RawMessage{raw}
	case '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, synclayer.FieldErrorf(field, "must be an array of updated contacts or an object of attributes")
		}
		paths = make([]string, len(items))
		for i := range items {
			paths[i] = field + "[" + strconv.Itoa(i) + "]"
		}
	default:
		return nil, synclayer.FieldErrorf(field, "must be an array of updated contacts or an object of attributes")
	}
	out := make([]contentEntry, 0, len(items))
	for i, item := range items {
		m, err := normalize.Object(paths[i], item)
		if err != nil {
			return nil, err
		}
		e := contentEntry{path: paths[i], email: m["email"], canonical: string(mustJSON(m))}
		if a, ok := m["attributes"]; ok {
			if !normalize.IsNull(a) {
				if e.attrs, err = normalize.Object(at(paths[i], "attributes"), a); err != nil {
					return nil, err
				}
			}
		} else {
			e.attrs = maps.Clone(m)
			for _, k := range structural {
				delete(e.attrs, k)
			}
		}
		for _, k := range []string{"emailBlacklist", "emailBlacklisted"} {
			b, ok, err := normalize.Bool(at(paths[i], k), m[k])
			if err != nil {
				return nil, err
			}
			e.blocklisted = e.blocklisted || ok && b
		}
		out = append(out, e)
	}
	return out, nil
}

// canonicalValue turns a Brevo attribute value back into field's
// canonical form, the reverse of ConvertValue; false drops it. Brevo
// empties an attribute with "" or null; that is not taken as a clear, so
// an edit in Brevo can change a value but never erase one. Dates are
// dropped: Brevo keeps only the day, and the day coming back would
// overwrite the time synclayer holds with midnight.
func canonicalValue(field string, raw json.RawMessage) (json.RawMessage, bool) {
	if normalize.IsNull(raw) {
		return nil, false
	}
	var v json.RawMessage
	var err error
	switch synclayer.KindOf(field) {
	case synclayer.KindText:
		v, err = normalize.Text(field, raw)
	case synclayer.KindNumber:
		v, err = normalize.Decimal(field, raw)
	case synclayer.KindList:
		v, err = normalize.Tags(field, raw)
		if string(v) == "[]" {
			return nil, false
		}
	case synclayer.KindPhone:
		return phoneValue(raw)
	case synclayer.KindDate:
		return nil, false
	default:
		v, err = normalize.Raw(field, raw)
	}
	if err != nil || normalize.IsNull(v) {
		return nil, false
	}
	return v, true
}

// phoneValue reads SMS, which Brevo keeps as digits with the country code
// first and no "+" (33612345678), as E.164.
func phoneValue(raw json.RawMessage) (json.RawMessage, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return nil, false
		}
		s = n.String()
	}
	if s = strings.TrimSpace(s); s == "" {
		return nil, false
	}
	if !strings.HasPrefix(s, "+") {
		s = "+" + strings.TrimPrefix(s, "00")
	}
	p, err := normalize.Phone(s, "")
	if err != nil {
		return nil, false
	}
	return jsonText(p), true
}
