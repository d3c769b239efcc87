package mailchimp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
	"synclayer/normalize"
)

// QueryHeader is the request header Parse reads the webhook URL's query
// from (synclayer.QueryHeader, which the server sets from the request
// URL): Mailchimp cannot sign its deliveries nor set a header, and
// authenticates only by the secret in the URL it calls
// (PublicURL/webhooks/<name>?secret=…).
const QueryHeader = synclayer.QueryHeader

// Inbound is the source that reads Mailchimp's audience webhooks for this
// account, named like the destination, or nil when the section has no
// webhook block. See Parse for what each delivery becomes.
func (d *Destination) Inbound() synclayer.Source {
	if d.webhook.Secret == "" {
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

// Parse checks the secret, which arrives in the query of the URL
// Mailchimp calls and reaches Parse in the QueryHeader header, then reads
// one delivery: an application/x-www-form-urlencoded body with type,
// fired_at and data[...] fields. Each delivery becomes at most one event:
//
//   - unsubscribe (data[action] unsub, or delete): an email_unsubscribed
//     activity whose customer is opted out of email, with the campaign,
//     the action and Mailchimp's reason in the trace;
//   - cleaned: data[reason] abuse is an email_complained activity, any
//     other reason (hard) an email_bounced one, each an opt-out;
//   - subscribe to an audience a customer-sync on this destination
//     delivers to: a customer_updated opt-in with the mapped merge
//     fields; to any other audience, nothing;
//   - profile: a customer_updated with the merge fields the audience's
//     contact syncs map, under canonical names, or nothing when none is;
//   - upemail and campaign: nothing, acknowledged (see inbound_contact.go
//     for why an address change is not applied).
//
// An empty body with the right secret is Mailchimp's URL check and gives
// nothing, so a server may answer Mailchimp's GET by calling Parse with an
// empty body. A missing or wrong secret is EUNAUTHORIZED; a body that is
// not a form, an unknown type, a missing or invalid data[email], or an
// unreadable fired_at is EINVALID naming the field.
func (s *inbound) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	form, err := readForm(body)
	if err != nil {
		return nil, err
	}
	typ := strings.ToLower(strings.TrimSpace(form.Get("type")))
	switch typ {
	case "":
		return nil, synclayer.FieldErrorf("type", "is missing; every Mailchimp webhook delivery names its type")
	case "campaign":
		return nil, nil // a campaign was sent or cancelled: nothing about a person
	case "subscribe", "unsubscribe", "profile", "cleaned", "upemail":
	default:
		return nil, synclayer.FieldErrorf("type", "%q is not a Mailchimp webhook type; the types are subscribe, unsubscribe, profile, cleaned, upemail and campaign", normalize.Clip(typ))
	}
	when, ts, err := firedAt(form.Get("fired_at"), now)
	if err != nil {
		return nil, err
	}
	d := delivery{typ: typ, form: form, when: when, ts: ts, now: now}
	if d.list, err = formID(form, "data[list_id]"); err != nil {
		return nil, err
	}
	if d.id, err = formID(form, "data[id]"); err != nil {
		return nil, err
	}
	if typ == "upemail" {
		return nil, s.upemail(d)
	}
	email, err := requiredEmail("data[email]", form.Get("data[email]"), typ)
	if err != nil {
		return nil, err
	}
	d.email = email
	switch typ {
	case "unsubscribe", "cleaned":
		ev, err := s.optOut(d)
		if err != nil {
			return nil, err
		}
		return []*synclayer.Event{ev}, nil
	}
	return s.memberUpdate(d, s.d.inboundView())
}

// delivery is one form read so far.
type delivery struct {
	typ   string
	form  url.Values
	when  time.Time // when it happened, never after now
	ts    string    // fired_at as the dedupe key holds it; "" when absent
	now   time.Time
	list  string // data[list_id]
	id    string // data[id]: the member's ID in the audience
	email string
}

// event is the event of d, without its kind and contents.
func (s *inbound) event(d delivery, key ...string) *synclayer.Event {
	parts := append([]string{d.typ, d.list, d.ts, d.id, d.email}, key...)
	return &synclayer.Event{Source: s.d.name, Topic: d.typ, OccurredAt: d.when, ReceivedAt: d.now.UTC(),
		Payload: formJSON(d.form), DedupeKey: dedupeKey(parts...)}
}

// optOut reads unsubscribe and cleaned. Mailchimp sends no more mail to an
// unsubscribed or cleaned member, so each is an opt-out from email at the
// time it happened, whatever the action or reason.
func (s *inbound) optOut(d delivery) (*synclayer.Event, error) {
	campaign, err := formID(d.form, "data[campaign_id]")
	if err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(d.form.Get("data[reason]"))
	fields := map[string]json.RawMessage{}
	kind, why := synclayer.EventEmailUnsubscribed, "unsubscribed"
	var details []string
	if d.typ == "unsubscribe" {
		action := strings.TrimSpace(d.form.Get("data[action]"))
		if action == "delete" {
			why = "deleted from the audience"
		}
		if action != "" {
			fields["action"] = mustJSON(action)
			details = append(details, "action "+normalize.Clip(action))
		}
	} else {
		switch reason {
		case "abuse":
			kind, why = synclayer.EventEmailComplained, "cleaned after an abuse complaint"
		case "hard":
			kind, why = synclayer.EventEmailBounced, "cleaned after a hard bounce"
		default:
			kind, why = synclayer.EventEmailBounced, "cleaned"
		}
	}
	if reason != "" {
		details = append(details, "reason "+normalize.Clip(reason))
	}
	if len(details) > 0 {
		why += " (" + strings.Join(details, ", ") + ")"
	}
	fields["reason"] = mustJSON(why)
	if campaign != "" {
		fields["campaignId"] = mustJSON(campaign)
	}
	if d.list != "" {
		fields["listId"] = mustJSON(d.list)
	}
	ev := s.event(d, campaign, d.form.Get("data[action]"), reason)
	ev.Type = kind
	ev.Activity = &synclayer.Activity{Kind: kind, Fields: fields, Customer: &synclayer.CustomerChange{
		Fields:       map[string]json.RawMessage{synclayer.FieldEmail: mustJSON(d.email)},
		EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: d.when},
	}}
	return ev, nil
}

// verify compares the secret in constant time. Both sides are hashed
// first, so not even the secret's length shows in the timing.
func (s *inbound) verify(h http.Header) error {
	raw, present := header(h, QueryHeader)
	where := "destinations." + s.d.name + ".webhook.secret"
	if !present {
		return unauthorized("the request reached synclayer without its URL's query, so its secret cannot be checked: " +
			"the server must pass the query of the webhook URL in the " + QueryHeader + " header")
	}
	q, err := url.ParseQuery(strings.TrimPrefix(raw, "?"))
	got := q.Get(secretParam)
	if err != nil || got == "" {
		return unauthorized("the webhook URL has no secret parameter: Mailchimp must call " + s.d.webhookURLOrPath() +
			"?secret=<" + where + ">; register the webhook with synclayer, or correct its URL in Mailchimp (Audience → Settings → Webhooks)")
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.d.webhook.Secret))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return unauthorized("the webhook URL's secret does not match " + where + ": register the webhook again (synclayer updates its URL) or correct the URL in Mailchimp")
	}
	return nil
}

// webhookURLOrPath is WebhookURL, or /webhooks/<name> when no public_url
// is set, for messages.
func (d *Destination) webhookURLOrPath() string {
	if u := d.WebhookURL(); u != "" {
		return u
	}
	return "/webhooks/" + url.PathEscape(d.name)
}

// header returns h's value for name, and whether h has it at all; a
// hand-built map may hold the name in another case.
func header(h http.Header, name string) (string, bool) {
	if vs, ok := h[http.CanonicalHeaderKey(name)]; ok && len(vs) > 0 {
		return vs[0], true
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

func unauthorized(msg string) error {
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: secretParam, Message: msg}
}

// readForm decodes a form body whose keys and values are valid UTF-8.
func readForm(body []byte) (url.Values, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, synclayer.FieldErrorf("body", "is not form-encoded as Mailchimp posts it (application/x-www-form-urlencoded): %s", normalize.Clip(err.Error()))
	}
	for k, vs := range form {
		if !utf8.ValidString(k) {
			return nil, synclayer.FieldErrorf("body", "has a field name that is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				field := k
				if field == "" { // "=%ff": a value without a name
					field = "body"
				}
				return nil, synclayer.FieldErrorf(field, "is not valid UTF-8")
			}
		}
	}
	return form, nil
}

// firedAtLayout is how Mailchimp writes fired_at: "2009-03-26 21:35:57".
const firedAtLayout = "2006-01-02 15:04:05"

// firedAt reads fired_at as UTC (Mailchimp does not say which zone it
// writes; docs/platforms/mailchimp.md). RFC 3339 is read too. A time after
// now is taken as now: a consent time in the future would outrank every
// real change until then. Absent is now, and ts "" for the dedupe key.
func firedAt(s string, now time.Time) (when time.Time, ts string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.UTC(), "", nil
	}
	t, err := time.ParseInLocation(firedAtLayout, s, time.UTC)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, "", synclayer.FieldErrorf("fired_at", "%q is not a time like 2009-03-26 21:35:57, as Mailchimp writes it", normalize.Clip(s))
		}
	}
	t = t.UTC()
	ts = t.Format(time.RFC3339)
	if t.After(now) {
		t = now.UTC()
	}
	return t, ts, nil
}

// requiredEmail reads the member's address, lowercased and checked.
func requiredEmail(field, s, typ string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", synclayer.FieldErrorf(field, "is missing; Mailchimp names the member of every %s delivery by email", typ)
	}
	email, err := normalize.Email(s)
	var e *synclayer.Error
	if errors.As(err, &e) {
		return "", synclayer.FieldErrorf(field, "%s", e.Message)
	}
	return email, err
}

// formJSON is the form as a JSON object, each field's value a string, or
// an array when it was sent more than once: the payload kept for
// inspection.
func formJSON(form url.Values) json.RawMessage {
	m := make(map[string]any, len(form))
	for k, vs := range form {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	return mustJSON(m)
}

// dedupeKey derives a delivery's key: Mailchimp sends no delivery or
// event ID, and a retried delivery carries the same fields again. The
// parts are length-prefixed, so no two sets of parts hash alike.
func dedupeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
