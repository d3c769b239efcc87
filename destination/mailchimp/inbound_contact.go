package mailchimp

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode"

	"synclayer"
	"synclayer/normalize"
)

// memberUpdate reads subscribe and profile. Both carry the member's merge
// fields as data[merges][TAG]; those the audience's contact syncs map are
// turned back into canonical fields. A subscribe to an audience synclayer
// delivers to is also an opt-in at fired_at: a Mailchimp signup form, a
// confirmed double opt-in, or an admin adding the member. A subscribe to
// any other audience says nothing of consent here and gives nothing, and a
// profile edit with nothing mapped gives nothing either.
func (s *inbound) memberUpdate(d delivery, v inboundView) ([]*synclayer.Event, error) {
	if d.list == "" {
		return nil, synclayer.FieldErrorf("data[list_id]", "is missing; Mailchimp names the audience of every %s delivery", d.typ)
	}
	if !v.synced(d.list) {
		return nil, nil
	}
	merges := mergeValues(d.form)
	fields := map[string]json.RawMessage{}
	for _, tag := range slices.Sorted(maps.Keys(merges)) {
		for _, field := range v.fields(d.list, tag) {
			if val, ok := canonicalValue(field, merges[tag]); ok {
				fields[field] = val
			}
		}
	}
	var consent *synclayer.ConsentChange
	if d.typ == "subscribe" {
		consent = &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: d.when}
	} else if len(fields) == 0 {
		return nil, nil // nothing synclayer maps
	}
	fields[synclayer.FieldEmail] = mustJSON(d.email)
	ev := s.event(d, string(mustJSON(merges)))
	ev.Type = synclayer.EventCustomerUpdated
	ev.Customer = &synclayer.CustomerChange{Fields: fields, EmailConsent: consent}
	return []*synclayer.Event{ev}, nil
}

// upemail checks an address change and applies nothing. Synclayer knows a
// person by email, and the delivery carries no ID that stays with the
// member (data[new_id] is a new one), so nothing ties the new address to
// the contact of the old one: an event with the new address would make a
// second contact, not move the first. The old address keeps its consent;
// the change is logged, without the addresses, for the operator.
func (s *inbound) upemail(d delivery) error {
	oldEmail, err := requiredEmail("data[old_email]", d.form.Get("data[old_email]"), d.typ)
	if err != nil {
		return err
	}
	newEmail, err := requiredEmail("data[new_email]", d.form.Get("data[new_email]"), d.typ)
	if err != nil {
		return err
	}
	if oldEmail != newEmail {
		s.d.log.Info("Mailchimp reports a member's address change; synclayer does not apply it (contacts are known by email): "+
			"change the address at the source of the customer, and customer-sync moves the member", "audience", d.list, "fired_at", d.ts)
	}
	return nil
}

// mergeValues are the data[merges][TAG] fields of a form, by upper-case
// tag. Nested ones (data[merges][ADDRESS][city], the interest groups) are
// left out: no canonical field maps to their parts.
func mergeValues(form map[string][]string) map[string]string {
	out := map[string]string{}
	for k, vs := range form {
		tag, ok := strings.CutPrefix(k, "data[merges][")
		if !ok || len(vs) == 0 {
			continue
		}
		tag, ok = strings.CutSuffix(tag, "]")
		if !ok || tag == "" || strings.ContainsAny(tag, "[]") {
			continue
		}
		out[strings.ToUpper(tag)] = vs[0]
	}
	return out
}

// canonicalValue turns a merge value, which a delivery always carries as
// text, back into field's canonical form; false drops it. An empty value
// is not taken as a clear, so an edit in Mailchimp can change a value but
// never erase one. Dropped too: dates (a date merge field keeps only the
// day, in the audience's own format, so the day coming back would replace
// the time synclayer holds with midnight), phones that are not
// international, and fields of no known kind, whose text cannot tell the
// number 5 from the string "5".
func canonicalValue(field, s string) (json.RawMessage, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	var v json.RawMessage
	var err error
	switch synclayer.KindOf(field) {
	case synclayer.KindText:
		v, err = normalize.Text(field, mustJSON(s))
	case synclayer.KindNumber:
		v, err = normalize.Decimal(field, mustJSON(s))
	case synclayer.KindList:
		v, err = normalize.Tags(field, mustJSON(s))
		if string(v) == "[]" {
			return nil, false
		}
	case synclayer.KindPhone:
		p, perr := normalize.Phone(s, "")
		if perr != nil {
			return nil, false
		}
		return mustJSON(p), true
	default:
		return nil, false
	}
	if err != nil || normalize.IsNull(v) {
		return nil, false
	}
	return v, true
}

// maxID is the longest ID (audience, campaign, member) read from a
// delivery; Mailchimp's are ten characters.
const maxID = 100

// formID reads an optional ID field: printable, without spaces, at most
// maxID characters.
func formID(form map[string][]string, field string) (string, error) {
	var s string
	if vs := form[field]; len(vs) > 0 {
		s = strings.TrimSpace(vs[0])
	}
	if len(s) > maxID || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return "", synclayer.FieldErrorf(field, "%q is not a Mailchimp ID", normalize.Clip(s))
	}
	return s, nil
}
