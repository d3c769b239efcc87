package hubspot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
	"synclayer/normalize"
)

var _ synclayer.InboundDestination = (*Destination)(nil)

// Inbound is the source that reads HubSpot's webhooks for this account,
// named like the destination, or nil when the section has no webhook
// block. See Parse for what each delivery becomes.
func (d *Destination) Inbound() synclayer.Source {
	if d.webhook == nil || d.webhook.ClientSecret == "" {
		return nil
	}
	return &inbound{d: d}
}

type inbound struct{ d *Destination }

var _ synclayer.Source = (*inbound)(nil)

func (s *inbound) Name() string { return s.d.name }

// lookupTimeout bounds the reads of a delivery's contacts: HubSpot waits
// only seconds for an answer, and sends the delivery again after a
// failure.
const lookupTimeout = 4 * time.Second

// Parse checks the signature (v3), then reads the delivery's array of
// events:
//
//   - contact.propertyChange of lifecyclestage, hubspot_owner_id or
//     another property a contact sync maps (but not a total synclayer
//     computes): a customer_updated with the canonical field, dated at
//     occurredAt, with the HubSpot record ID as the source ID;
//   - contact.deletion: a contact_removed activity, which changes nothing;
//   - every other subscription type: nothing, acknowledged.
//
// HubSpot names a contact by its record ID only, so the addresses are
// read from the API (GET /crm/v3/objects/contacts/{id}?properties=email),
// once per contact in the delivery; a failed read fails the delivery,
// which HubSpot sends again. A contact HubSpot no longer holds is skipped.
// A bad or old signature is EUNAUTHORIZED; an unreadable event is
// EINVALID naming the field ("[2].objectId").
func (s *inbound) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h, body, now); err != nil {
		return nil, err
	}
	items, err := splitBody(body)
	if err != nil {
		return nil, err
	}
	v := s.d.inboundView()
	var notes []notice
	for i, raw := range items {
		n, err := readNotice("["+strconv.Itoa(i)+"]", raw, v)
		if err != nil {
			return nil, err
		}
		if n != nil {
			notes = append(notes, *n)
		}
	}
	if len(notes) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	emails := map[string]string{}
	for _, n := range notes {
		key := n.objectID + "/" + strconv.FormatBool(n.deleted)
		if _, done := emails[key]; done {
			continue
		}
		o, err := s.d.client.GetContactByID(ctx, n.objectID, []string{"email"}, n.deleted)
		switch {
		case IsNotFound(err):
			emails[key] = ""
		case err != nil:
			return nil, fmt.Errorf("hubspot: read contact %s of a webhook: %w", n.objectID, err)
		default:
			emails[key], _ = normalize.Email(o.Properties["email"])
		}
	}
	var out []*synclayer.Event
	for _, n := range notes {
		email := emails[n.objectID+"/"+strconv.FormatBool(n.deleted)]
		if email == "" {
			continue // gone from HubSpot, or without an address: nothing to match
		}
		out = append(out, n.event(s.d.name, email, now))
	}
	return out, nil
}

// verify checks X-HubSpot-Signature-v3 over POST, the public URL of the
// webhook (with the query the request carried), the body and the
// timestamp, in constant time.
func (s *inbound) verify(h http.Header, body []byte, now time.Time) error {
	sig, ts := header(h, "X-HubSpot-Signature-v3"), header(h, "X-HubSpot-Request-Timestamp")
	where := "destinations." + s.d.name + ".webhook.client_secret"
	switch {
	case sig == "":
		return unauthorized("X-HubSpot-Signature-v3", "is missing: HubSpot signs every webhook of an app with its client secret (signature v3)")
	case ts == "":
		return unauthorized("X-HubSpot-Request-Timestamp", "is missing: HubSpot sends it with every signed request")
	}
	if err := checkTimestamp(ts, now); err != nil {
		return err
	}
	target := s.d.WebhookURL()
	if target == "" {
		return unauthorized("X-HubSpot-Signature-v3", "cannot be checked: the URL HubSpot calls is not known; set server.public_url (or destinations."+s.d.name+".webhook.public_url)")
	}
	if q := h.Get(synclayer.QueryHeader); q != "" {
		target += "?" + q
	}
	want := SignatureV3(s.d.webhook.ClientSecret, http.MethodPost, target, body, ts)
	a, b := sha256.Sum256([]byte(strings.TrimSpace(sig))), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return unauthorized("X-HubSpot-Signature-v3", "does not match: check that "+where+" is the app's client secret and that the app's target URL is "+target)
	}
	return nil
}

func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h { // a hand-built map may hold another case
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func splitBody(body []byte) ([]json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return nil, synclayer.FieldErrorf("body", "is empty; HubSpot sends a JSON array of events")
	case !utf8.Valid(b):
		return nil, synclayer.FieldErrorf("body", "is not valid UTF-8")
	case b[0] != '[':
		return nil, synclayer.FieldErrorf("body", "must be a JSON array of events, as HubSpot sends")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, synclayer.FieldErrorf("body", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return items, nil
}

// inboundView maps each contact property the account's contact syncs
// map (and HubSpot's lifecyclestage and hubspot_owner_id, always) to its
// canonical fields. Totals synclayer computes from orders never come
// back: HubSpot holds synclayer's own copy of them.
func (d *Destination) inboundView() map[string][]string {
	v := map[string][]string{PropertyLifecycleStage: {synclayer.FieldLifecycleStage}, PropertyOwner: {synclayer.FieldOwner}}
	for _, s := range d.syncs.Live() {
		for field, prop := range s.mapping {
			if prop == "email" || slices.Contains(synclayer.AggregateFields, field) || slices.Contains(v[prop], field) {
				continue
			}
			v[prop] = append(v[prop], field)
			slices.Sort(v[prop])
		}
	}
	return v
}

// notice is one event of a delivery that may change a contact.
type notice struct {
	objectID string
	deleted  bool
	topic    string
	at       time.Time
	fields   map[string]json.RawMessage
	key      string // dedupe key
	raw      json.RawMessage
}

func readNotice(path string, raw json.RawMessage, v map[string][]string) (*notice, error) {
	m, err := normalize.Object(path, raw)
	if err != nil {
		return nil, err
	}
	typ, err := normalize.String(path+".subscriptionType", m["subscriptionType"])
	if err != nil {
		return nil, err
	}
	if typ == "" {
		return nil, synclayer.FieldErrorf(path+".subscriptionType", "is missing; every HubSpot webhook event names its subscription type")
	}
	if typ != "contact.propertyChange" && typ != "contact.deletion" {
		return nil, nil
	}
	id, err := normalize.ID(path+".objectId", m["objectId"])
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, synclayer.FieldErrorf(path+".objectId", "is missing; HubSpot names the contact of every event by its record ID")
	}
	eventID, err := normalize.ID(path+".eventId", m["eventId"])
	if err != nil {
		return nil, err
	}
	if eventID == "" {
		return nil, synclayer.FieldErrorf(path+".eventId", "is missing; every HubSpot webhook event has one")
	}
	ms, err := normalize.Integer(path+".occurredAt", m["occurredAt"])
	if err != nil {
		return nil, err
	}
	n, _ := strconv.ParseInt(string(ms), 10, 64)
	if n <= 0 {
		return nil, synclayer.FieldErrorf(path+".occurredAt", "must be Unix milliseconds, when the change happened")
	}
	out := &notice{objectID: id, topic: typ, at: time.UnixMilli(n).UTC(), raw: raw}
	var prop string
	if typ == "contact.deletion" {
		out.deleted = true
	} else {
		if prop, err = normalize.String(path+".propertyName", m["propertyName"]); err != nil {
			return nil, err
		}
		fields := v[prop]
		if len(fields) == 0 {
			return nil, nil // a property synclayer does not map
		}
		out.fields = map[string]json.RawMessage{}
		for _, f := range fields {
			val, ok, err := canonicalValue(path+".propertyValue", f, m["propertyValue"])
			if err != nil {
				return nil, err
			}
			if ok {
				out.fields[f] = val
			}
		}
		if len(out.fields) == 0 {
			return nil, nil
		}
	}
	out.key = dedupeKey(typ, id, prop, eventID, string(ms))
	return out, nil
}

// canonicalValue turns a property value into field's canonical form;
// false drops it. A lifecycle stage that is not one of HubSpot's default
// stages is EINVALID; "" is dropped for a stage (HubSpot's own clearing
// before a backwards move, synclayer's included) and clears the owner.
func canonicalValue(path, field string, raw json.RawMessage) (json.RawMessage, bool, error) {
	var s string
	if !normalize.IsNull(raw) {
		var err error
		if s, err = normalize.String(path, raw); err != nil {
			return nil, false, err
		}
	}
	s = strings.TrimSpace(s)
	switch {
	case field == synclayer.FieldLifecycleStage:
		if s == "" {
			return nil, false, nil
		}
		st, err := synclayer.ParseLifecycleStage(path, mustJSON(s))
		if err != nil {
			return nil, false, err
		}
		return mustJSON(string(st)), true, nil
	case field == synclayer.FieldOwner:
		if s == "" {
			return json.RawMessage("null"), true, nil
		}
		return mustJSON(s), true, nil
	case s == "":
		return nil, false, nil // an edit in HubSpot may change a value, never erase one
	}
	switch synclayer.KindOf(field) {
	case synclayer.KindText, synclayer.KindAny:
		return mustJSON(s), true, nil
	case synclayer.KindNumber:
		v, err := normalize.Decimal(path, mustJSON(s))
		return v, err == nil && !normalize.IsNull(v), nil
	case synclayer.KindList:
		parts := strings.Split(s, ";")
		return mustJSON(parts), true, nil
	}
	return nil, false, nil // dates and phones are not read back
}

func (n notice) event(source, email string, now time.Time) *synclayer.Event {
	ev := &synclayer.Event{Source: source, Topic: n.topic, OccurredAt: n.at, ReceivedAt: now.UTC(), DedupeKey: n.key, Payload: n.raw}
	fields := maps.Clone(n.fields)
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	fields[synclayer.FieldEmail] = mustJSON(email)
	ch := &synclayer.CustomerChange{SourceID: n.objectID, Fields: fields}
	if n.deleted {
		ev.Type = synclayer.EventContactRemoved
		ev.Activity = &synclayer.Activity{Kind: ev.Type, Customer: ch, Fields: map[string]json.RawMessage{"hubspotId": mustJSON(n.objectID)}}
		return ev
	}
	ev.Type, ev.Customer = synclayer.EventCustomerUpdated, ch
	return ev
}

// dedupeKey derives an event's key from its parts, length-prefixed:
// HubSpot sends an event again with the same eventId after a failed
// delivery, and does not promise eventId alone is unique, so the object,
// property and time are in the key too.
func dedupeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
