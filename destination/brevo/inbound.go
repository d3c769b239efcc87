package brevo

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
	"synclayer/normalize"
)

// Inbound is the source that reads Brevo's marketing webhooks for this
// account, named like the destination, or nil when the section has no
// webhook block. See Parse for what each delivery becomes. A block that
// only reconciles (no token) has a source too, since Reconcile's events
// are its events, but it refuses every delivery as EUNAUTHORIZED.
func (d *Destination) Inbound() synclayer.Source {
	if d.webhook.Token == "" && d.reconcile == 0 {
		return nil
	}
	return &inbound{d: d}
}

// inbound is a Destination's webhook source. It reads the destination's
// contact syncs at each delivery, since skills are built, and rebuilt on a
// live config change, after the server starts.
type inbound struct{ d *Destination }

var _ synclayer.Source = (*inbound)(nil)

func (s *inbound) Name() string { return s.d.name }

// Parse checks the bearer token, then reads one marketing event, or a
// batched webhook's array of them, each into at most one event:
//
//   - unsubscribed, spam, hard_bounced: email_unsubscribed, email_complained,
//     email_bounced activities whose customer is opted out of email;
//   - list_addition to a list a customer-sync adds contacts to: a
//     customer_updated opt-in; to any other list, nothing;
//   - contact_updated: a customer_updated with the changed attributes the
//     contact syncs map, under canonical names (one per contact in it);
//   - contact_deleted: a contact_removed activity, which changes nothing;
//   - opens, clicks, deliveries, soft bounces: nothing, acknowledged.
//
// A missing or wrong token is EUNAUTHORIZED; an item without an email, of
// an unknown event or unreadable is EINVALID naming the field ("[2].email"),
// and fails the whole delivery so Brevo sends it again.
func (s *inbound) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h); err != nil {
		return nil, err
	}
	items, batched, err := splitBody(body)
	if err != nil {
		return nil, err
	}
	v := s.d.inboundView()
	var out []*synclayer.Event
	for i, raw := range items {
		path := ""
		if batched {
			path = "[" + strconv.Itoa(i) + "]"
		}
		evs, err := s.parseItem(path, raw, now, v)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// verify compares the bearer token in constant time. Both sides are
// hashed first, so not even the token's length shows in the timing.
func (s *inbound) verify(h http.Header) error {
	auth := h.Get("Authorization")
	if auth == "" {
		for k, vs := range h { // a hand-built map may hold the lowercase HTTP/2 name
			if strings.EqualFold(k, "Authorization") && len(vs) > 0 {
				auth = vs[0]
			}
		}
	}
	where := "destinations." + s.d.name + ".webhook.token"
	if s.d.webhook.Token == "" {
		// Reconciliation only: no token, so nothing can authenticate a
		// delivery (an empty bearer token must not match an empty one).
		return unauthorized("this destination takes no Brevo webhooks: " + where + " is not set (it only reconciles); set it and register the webhook to take them")
	}
	if strings.TrimSpace(auth) == "" {
		return unauthorized("missing Authorization header: Brevo sends \"Bearer <token>\" when its webhook has auth {type: bearer, token}; " +
			"register the webhook with synclayer, or set its token in Brevo to " + where)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return unauthorized("the Authorization header is not a Bearer token: give Brevo's webhook auth {type: bearer, token} with the token of " + where)
	}
	got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(s.d.webhook.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return unauthorized("the bearer token does not match " + where + ": register the webhook again (synclayer updates its token) or correct the token")
	}
	return nil
}

func unauthorized(msg string) error {
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "Authorization", Message: msg}
}

// splitBody returns a delivery's items: the object itself, or the elements
// of a batched webhook's array.
func splitBody(body []byte) (items []json.RawMessage, batched bool, err error) {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return nil, false, synclayer.FieldErrorf("body", "is empty; Brevo sends a JSON object, or an array of them for a batched webhook")
	case !utf8.Valid(b):
		return nil, false, synclayer.FieldErrorf("body", "is not valid UTF-8")
	case b[0] == '{':
		return []json.RawMessage{b}, false, nil
	case b[0] == '[':
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, false, synclayer.FieldErrorf("body", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return items, true, nil
	}
	return nil, false, synclayer.FieldErrorf("body", "must be a JSON object or a batched webhook's array of them")
}

// Event kinds, by the names deliveries carry.
type eventKind int

const (
	kindIgnored eventKind = iota
	kindUnsubscribed
	kindComplained
	kindBounced
	kindListAddition
	kindContactUpdated
	kindContactDeleted
)

// kindOf folds a delivery's event name: deliveries name events in
// snake_case (hard_bounced, list_addition) where creation takes camelCase
// (hardBounce, listAddition), and transactional webhooks differ again
// (hard_bounce, complaint), so case, "_" and "-" are ignored and each
// spelling seen in Brevo's documentation is accepted.
func kindOf(name string) (eventKind, bool) {
	switch strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(name)) {
	case "unsubscribed", "unsubscribe":
		return kindUnsubscribed, true
	case "spam", "complaint":
		return kindComplained, true
	case "hardbounced", "hardbounce":
		return kindBounced, true
	case "listaddition":
		return kindListAddition, true
	case "contactupdated":
		return kindContactUpdated, true
	case "contactdeleted":
		return kindContactDeleted, true
	case "softbounced", "softbounce", "opened", "open", "uniqueopened", "click", "clicked", "delivered",
		"proxyopen", "uniqueproxyopen", "sent", "request", "deferred":
		return kindIgnored, true
	}
	return kindIgnored, false
}

var activityKind = map[eventKind]synclayer.EventType{
	kindUnsubscribed: synclayer.EventEmailUnsubscribed,
	kindComplained:   synclayer.EventEmailComplained,
	kindBounced:      synclayer.EventEmailBounced,
}

func (s *inbound) parseItem(path string, raw json.RawMessage, now time.Time, v inboundView) ([]*synclayer.Event, error) {
	m, err := normalize.Object(orBody(path), raw)
	if err != nil {
		return nil, err
	}
	name, err := normalize.String(at(path, "event"), m["event"])
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, synclayer.FieldErrorf(at(path, "event"), "is missing; every Brevo webhook delivery names its event")
	}
	kind, known := kindOf(name)
	if !known {
		return nil, synclayer.FieldErrorf(at(path, "event"), "%q is not a Brevo marketing event synclayer reads: it subscribes to %s", normalize.Clip(name), strings.Join(MarketingEvents, ", "))
	}
	if kind == kindIgnored {
		return nil, nil
	}
	when, ts, err := eventTime(path, m, now)
	if err != nil {
		return nil, err
	}
	if kind == kindContactUpdated {
		return s.contactUpdated(path, m, raw, name, when, ts, now, v)
	}
	email, err := requiredEmail(at(path, "email"), m["email"])
	if err != nil {
		return nil, err
	}
	lists, err := listIDs(at(path, "list_id"), m["list_id"])
	if err != nil {
		return nil, err
	}
	campID, err := normalize.ID(at(path, "camp_id"), m["camp_id"])
	if err != nil {
		return nil, err
	}
	ev := &synclayer.Event{
		Source: s.d.name, Topic: name, OccurredAt: when, ReceivedAt: now.UTC(), Payload: raw,
		DedupeKey: dedupeKey(name, email, ts, campID, listKey(lists), ""),
	}
	customer := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: jsonText(email)}}
	switch kind {
	case kindUnsubscribed, kindComplained, kindBounced:
		// Brevo blocklists the address on each of these, so each is an
		// opt-out from email at the time it happened.
		customer.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: when}
		ev.Type = activityKind[kind]
		ev.Activity = &synclayer.Activity{Kind: ev.Type, Fields: activityFields(m, campID, lists), Customer: customer}
	case kindListAddition:
		if !v.synced(lists) {
			return nil, nil // a list synclayer does not market to says nothing of consent
		}
		customer.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: when}
		ev.Type, ev.Customer = synclayer.EventCustomerUpdated, customer
	case kindContactDeleted:
		ev.Type = synclayer.EventContactRemoved
		ev.Activity = &synclayer.Activity{Kind: ev.Type, Customer: customer,
			Fields: map[string]json.RawMessage{"listIds": mustJSON(orEmpty(lists))}}
	}
	return []*synclayer.Event{ev}, nil
}

// orBody names a single delivery's object "body" in errors about it.
func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// at names key inside the item at path: "email", or "[2].email".
func at(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// requiredEmail reads the contact's email, lowercased and checked.
func requiredEmail(field string, raw json.RawMessage) (string, error) {
	s, err := normalize.String(field, raw)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", synclayer.FieldErrorf(field, "is missing; Brevo names the contact of every marketing event by email")
	}
	email, err := normalize.Email(s)
	var e *synclayer.Error
	if errors.As(err, &e) {
		return "", synclayer.FieldErrorf(field, "%s", e.Message)
	}
	return email, nil
}

// eventTime is when the event happened: ts_event, which Brevo documents
// as UTC, else ts (whose documentation example is an hour after ts_event,
// so it is only a fallback), else now. ts is the time as the dedupe key
// holds it, "" for now.
func eventTime(path string, m map[string]json.RawMessage, now time.Time) (time.Time, string, error) {
	for _, key := range []string{"ts_event", "ts"} {
		t, ok, err := epoch(at(path, key), m[key])
		if err != nil {
			return time.Time{}, "", err
		}
		if ok {
			return t, strconv.FormatInt(t.UnixMilli(), 10), nil
		}
	}
	return now.UTC(), "", nil
}

// epoch reads Unix seconds, as a number or a numeric string; a value too
// large for seconds is read as milliseconds (transactional webhooks' ts_epoch
// is). Absent, null, "" and 0 are no time.
func epoch(field string, raw json.RawMessage) (time.Time, bool, error) {
	if normalize.IsNull(raw) {
		return time.Time{}, false, nil
	}
	text := string(bytes.TrimSpace(raw))
	if text[0] == '"' {
		s, err := normalize.String(field, raw)
		if err != nil {
			return time.Time{}, false, err
		}
		text = s
	}
	if text == "" {
		return time.Time{}, false, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return time.Time{}, false, synclayer.FieldErrorf(field, "must be Unix seconds, not %s", normalize.Clip(text))
	}
	if f == 0 {
		return time.Time{}, false, nil
	}
	if f > 1e11 { // after the year 5138 in seconds: milliseconds
		f /= 1000
	}
	if f > 253402300799 { // 9999-12-31T23:59:59Z
		return time.Time{}, false, synclayer.FieldErrorf(field, "%s is out of range for Unix seconds", normalize.Clip(text))
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), true, nil
}

// listIDs reads list_id: an array of list IDs (numbers or digit strings),
// or a single one.
func listIDs(field string, raw json.RawMessage) ([]int64, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	items := []json.RawMessage{raw}
	single := bytes.TrimSpace(raw)[0] != '['
	if !single {
		items = nil
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, synclayer.FieldErrorf(field, "must be an array of list IDs")
		}
	}
	var out []int64
	for i, item := range items {
		f := field
		if !single {
			f = field + "[" + strconv.Itoa(i) + "]"
		}
		v, err := normalize.Integer(f, item)
		if err != nil {
			return nil, err
		}
		if normalize.IsNull(v) {
			continue
		}
		n, _ := strconv.ParseInt(string(v), 10, 64)
		if n <= 0 {
			return nil, synclayer.FieldErrorf(f, "%d is not a Brevo list ID", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// activityFields are what an unsubscribe, complaint or bounce says besides
// the email, for workflows and the contact's trace: reason, campaignId,
// campaign, tag, listIds and sendingIp, each only when Brevo sent it.
func activityFields(m map[string]json.RawMessage, campID string, lists []int64) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for key, field := range map[string]string{"reason": "reason", "campaign name": "campaign", "tag": "tag", "sending_ip": "sendingIp"} {
		if v := textOrRaw(m[key]); v != nil {
			out[field] = v
		}
	}
	if campID != "" {
		if _, err := strconv.ParseInt(campID, 10, 64); err == nil {
			out["campaignId"] = json.RawMessage(campID)
		} else {
			out["campaignId"] = jsonText(campID)
		}
	}
	if len(lists) > 0 {
		out["listIds"] = mustJSON(lists)
	}
	return out
}

// textOrRaw is a string trimmed, or any other JSON value compacted; nil for
// null and "".
func textOrRaw(raw json.RawMessage) json.RawMessage {
	if normalize.IsNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return jsonText(s)
	}
	v, err := normalize.Raw("", raw)
	if err != nil {
		return nil
	}
	return v
}

// dedupeKey derives a delivery's key: Brevo sends no event ID, and a
// retried or twice-registered webhook sends the same fields again. The
// parts are length-prefixed, so no two sets of parts hash alike.
func dedupeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listKey is the list IDs sorted, so their order does not change the key.
func listKey(lists []int64) string {
	sorted := slices.Sorted(slices.Values(lists))
	parts := make([]string, len(sorted))
	for i, n := range sorted {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(parts, ",")
}

func jsonText(s string) json.RawMessage { return mustJSON(s) }

func orEmpty(lists []int64) []int64 {
	if lists == nil {
		return []int64{}
	}
	return lists
}
