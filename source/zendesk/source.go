package zendesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

const (
	headerSignature = "X-Zendesk-Webhook-Signature"
	headerTimestamp = "X-Zendesk-Webhook-Signature-Timestamp"
)

// DefaultTolerance is how far the signed timestamp may be from now.
// Zendesk's documentation gives no window; five minutes is what the other
// signed sources use, and a delivery outside it is refused with a message
// naming the header (tolerance: raises it).
const DefaultTolerance = 5 * time.Minute

// Type is Zendesk in the program's registry of sources.
var Type = synclayer.SourceType{Type: "zendesk", Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	if err := synclayer.DecodeSettings(st.Section, &struct{}{}, "Zendesk source setting; it takes type, secret, secret_file, previous_secrets, tolerance and rate_limit"); err != nil {
		return nil, err
	}
	return New(Config{Secrets: secrets, Tolerance: st.Tolerance}), nil
}}

// Config configures the Zendesk source.
type Config struct {
	// Secrets are the webhook's signing secrets (Admin Center → Webhooks →
	// the webhook → Reveal secret), current first: a delivery signed with
	// any of them is accepted, so a secret can be reset without losing
	// deliveries.
	Secrets   []string
	Tolerance time.Duration // default DefaultTolerance
}

// Source parses Zendesk webhooks. It is safe for concurrent use.
type Source struct {
	keys      [][]byte
	tolerance time.Duration
}

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg. Blank secrets are ignored; with none left,
// Parse refuses every delivery.
func New(cfg Config) *Source {
	s := &Source{tolerance: cfg.Tolerance}
	if s.tolerance <= 0 {
		s.tolerance = DefaultTolerance
	}
	for _, secret := range cfg.Secrets {
		if secret = strings.TrimSpace(secret); secret != "" {
			s.keys = append(s.keys, []byte(secret))
		}
	}
	return s
}

// Name returns "zendesk".
func (s *Source) Name() string { return "zendesk" }

// Parse verifies a delivery and returns the ticket it reports: a
// trigger's or automation's body ({"ticket": {...}}, README), or one of
// Zendesk's ticket event webhooks (zen:event-type:ticket.*). Other event
// types (users, organizations, articles) and ticket deletions are
// acknowledged and give nothing. Errors are EUNAUTHORIZED for a missing,
// wrong or stale signature, and EINVALID naming the field.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h, body, now); err != nil {
		return nil, err
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	var ev *synclayer.Event
	switch {
	case obj["type"] != nil:
		ev, err = parseEvent(obj)
	case obj["ticket"] != nil:
		ev, err = parseTrigger(obj, body)
	default:
		return nil, synclayer.FieldErrorf("body", "is neither a Zendesk event (it has no type) nor a trigger's ticket (it has no ticket): "+
			"paste the webhook body the README gives, or subscribe the webhook to ticket events")
	}
	if err != nil || ev == nil {
		return nil, err
	}
	ev.Source, ev.Type, ev.ReceivedAt, ev.Payload = "zendesk", synclayer.EventTicketUpdated, now.UTC(), body
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = ev.Ticket.Updated
	}
	return []*synclayer.Event{ev}, nil
}

// verify checks X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret,
// timestamp + body)), with the timestamp from
// X-Zendesk-Webhook-Signature-Timestamp (docs/platforms/zendesk.md).
func (s *Source) verify(h http.Header, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return unauthorized("secret", "no signing secret is configured for this source, so no delivery can be verified: set sources.<name>.secret to the webhook's signing secret")
	}
	sig, ts := header(h, headerSignature), header(h, headerTimestamp)
	if sig == "" {
		return unauthorized(headerSignature, "missing; Zendesk signs every webhook request: check that this URL is a Zendesk webhook's endpoint")
	}
	if ts == "" {
		return unauthorized(headerTimestamp, "missing; Zendesk sends it with the signature")
	}
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return unauthorized(headerTimestamp, "is not an RFC 3339 timestamp")
	}
	if d := now.Sub(at); d > s.tolerance || d < -s.tolerance {
		return unauthorized(headerTimestamp, "is "+d.Round(time.Second).String()+" from now, outside the "+s.tolerance.String()+
			" tolerance: a replayed delivery, or a clock that is off (tolerance: raises the window)")
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return unauthorized(headerSignature, "is not base64")
	}
	for _, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(ts))
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return nil
		}
	}
	return unauthorized(headerSignature, "does not match the timestamp and body signed with any configured secret; check the webhook's signing secret")
}

func unauthorized(field, msg string) error {
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: field, Message: msg}
}

func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return strings.TrimSpace(v)
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
	}
	return ""
}

// ticketEvents are the ticket event types that carry nothing a ticket
// record keeps; every other zen:event-type:ticket.* is read as a report
// of the ticket's state (its detail is the whole ticket).
var ticketGone = map[string]bool{
	"ticket.soft_deleted": true, "ticket.permanently_deleted": true, "ticket.marked_as_spam": true, "ticket.merged": true,
}

// parseEvent reads a Zendesk event webhook: {type, id, time, subject,
// detail, event}. The detail of a ticket event is the ticket as it stands.
func parseEvent(obj map[string]json.RawMessage) (*synclayer.Event, error) {
	typ, err := normalize.String("type", obj["type"])
	if err != nil {
		return nil, err
	}
	name, ok := strings.CutPrefix(typ, "zen:event-type:")
	if !ok {
		return nil, synclayer.FieldErrorf("type", "%q is not a Zendesk event type (zen:event-type:...)", normalize.Clip(typ))
	}
	if !strings.HasPrefix(name, "ticket.") || ticketGone[name] {
		return nil, nil
	}
	id, err := normalize.ID("id", obj["id"])
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, synclayer.FieldErrorf("id", "missing; Zendesk gives every event an id, which keeps a retried delivery from counting twice")
	}
	at, err := timeField("time", obj["time"])
	if err != nil {
		return nil, err
	}
	detail, err := normalize.Object("detail", obj["detail"])
	if err != nil {
		return nil, err
	}
	ch, err := parseTicket("detail", detail)
	if err != nil {
		return nil, err
	}
	if rid, err := normalize.ID("detail.requester_id", detail["requester_id"]); err != nil {
		return nil, err
	} else if rid != "" && rid != "0" {
		ch.Requester = &synclayer.CustomerChange{SourceID: rid}
	}
	var event map[string]json.RawMessage
	if !normalize.IsNull(obj["event"]) {
		if event, err = normalize.Object("event", obj["event"]); err != nil {
			return nil, err
		}
	}
	switch name {
	case "ticket.created":
		if ch.Text, err = optString("detail.description", detail["description"]); err != nil {
			return nil, err
		}
	case "ticket.comment_added":
		if c := event["comment"]; !normalize.IsNull(c) {
			comment, err := normalize.Object("event.comment", c)
			if err != nil {
				return nil, err
			}
			if ch.Text, err = optString("event.comment.body", comment["body"]); err != nil {
				return nil, err
			}
			if pub, ok, err := normalize.Bool("event.comment.is_public", comment["is_public"]); err != nil {
				return nil, err
			} else if ok {
				ch.Fields["commentPublic"], _ = json.Marshal(pub)
			}
		}
	}
	ch.Fields["event"], _ = json.Marshal(name)
	return &synclayer.Event{DedupeKey: id, Topic: typ, OccurredAt: at, Ticket: ch}, nil
}

// parseTrigger reads the body a trigger or automation sends, as the
// README gives it: {"ticket": {"id", "subject", "text", "status",
// "priority", "channel", "tags", "created_at", "updated_at",
// "requester": {"id", "email"}}} with Zendesk's placeholders for values.
func parseTrigger(obj map[string]json.RawMessage, body []byte) (*synclayer.Event, error) {
	t, err := normalize.Object("ticket", obj["ticket"])
	if err != nil {
		return nil, err
	}
	ch, err := parseTicket("ticket", t)
	if err != nil {
		return nil, err
	}
	if ch.Text, err = optString("ticket.text", t["text"]); err != nil {
		return nil, err
	}
	if r := t["requester"]; !normalize.IsNull(r) {
		req, err := normalize.Object("ticket.requester", r)
		if err != nil {
			return nil, err
		}
		rc := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
		if rc.SourceID, err = normalize.ID("ticket.requester.id", req["id"]); err != nil {
			return nil, err
		}
		email, err := normalize.Text("ticket.requester.email", req["email"])
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
		return nil, synclayer.FieldErrorf("ticket.requester", "missing; send {\"id\": \"{{ticket.requester.id}}\", \"email\": \"{{ticket.requester.email}}\"} so the ticket finds its contact")
	}
	// A trigger's body has no event id: the body itself keys it, so
	// Zendesk's retry of one request counts once.
	sum := sha256.Sum256(body)
	ch.Fields["event"], _ = json.Marshal("trigger")
	return &synclayer.Event{DedupeKey: "trigger|" + ch.SourceID + "|" + hex.EncodeToString(sum[:16]), Topic: "trigger", Ticket: ch}, nil
}

// parseTicket reads what both shapes share: id, subject, status,
// priority, tags, channel and times. path is the object's place in the
// body, for errors.
func parseTicket(path string, t map[string]json.RawMessage) (*synclayer.TicketChange, error) {
	ch := &synclayer.TicketChange{Fields: map[string]json.RawMessage{}}
	var err error
	if ch.SourceID, err = normalize.ID(path+".id", t["id"]); err != nil {
		return nil, err
	}
	if ch.SourceID == "" {
		return nil, synclayer.FieldErrorf(path+".id", "missing; the ticket's id keys it")
	}
	if ch.Subject, err = optString(path+".subject", t["subject"]); err != nil {
		return nil, err
	}
	status, err := optString(path+".status", t["status"])
	if err != nil {
		return nil, err
	}
	if ch.Status, err = Status(status); err != nil {
		return nil, synclayer.FieldErrorf(path+".status", "%s", synclayer.ErrorMessage(err))
	}
	priority, err := optString(path+".priority", t["priority"])
	if err != nil {
		return nil, err
	}
	ch.Priority = strings.ToLower(strings.TrimSpace(priority))
	if ch.Priority == "-" {
		ch.Priority = ""
	}
	if v := t["via"]; !normalize.IsNull(v) {
		via, err := normalize.Object(path+".via", v)
		if err != nil {
			return nil, err
		}
		if ch.Channel, err = optString(path+".via.channel", via["channel"]); err != nil {
			return nil, err
		}
	} else if ch.Channel, err = optString(path+".channel", t["channel"]); err != nil {
		return nil, err
	}
	ch.Channel = strings.ToLower(strings.TrimSpace(ch.Channel))
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
		return nil, synclayer.FieldErrorf(path+".updated_at", "missing; the ticket's update time decides which of two reports is newer")
	}
	for _, k := range []string{"type", "group_id", "assignee_id", "organization_id", "brand_id", "form_id", "external_id"} {
		if v, ok := t[k]; ok && !normalize.IsNull(v) {
			raw, err := normalize.Raw(path+"."+k, v)
			if err != nil {
				return nil, err
			}
			ch.Fields[camel(k)] = raw
		}
	}
	return ch, nil
}

// Status maps a Zendesk status, as the API ("open"), the event webhooks
// ("OPEN") or a trigger's {{ticket.status}} ("Open", "On-hold") write it,
// to the canonical one.
func Status(s string) (string, error) {
	switch strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.TrimSpace(s))) {
	case "new":
		return synclayer.TicketNew, nil
	case "open":
		return synclayer.TicketOpen, nil
	case "pending":
		return synclayer.TicketPending, nil
	case "hold", "onhold":
		return synclayer.TicketOnHold, nil
	case "solved":
		return synclayer.TicketSolved, nil
	case "closed":
		return synclayer.TicketClosed, nil
	case "":
		return "", synclayer.Errorf(synclayer.EINVALID, "missing; send the ticket's status ({{ticket.status}})")
	}
	return "", synclayer.Errorf(synclayer.EINVALID, "%q is not a Zendesk status: new, open, pending, hold, solved or closed", normalize.Clip(s))
}

func optString(field string, raw json.RawMessage) (string, error) {
	if normalize.IsNull(raw) {
		return "", nil
	}
	return normalize.String(field, raw)
}

// timeField reads a time as RFC 3339, or as a trigger's
// {{ticket.updated_at_with_timestamp}} renders it: ISO 8601 to the minute,
// "2013-12-12T05:35Z" (Zendesk's placeholder reference).
func timeField(field string, raw json.RawMessage) (time.Time, error) {
	_, t, err := normalize.Date(field, raw)
	if err != nil {
		if s, serr := normalize.String(field, raw); serr == nil {
			if m, perr := time.Parse(minuteLayout, strings.TrimSpace(s)); perr == nil {
				return m.UTC(), nil
			}
		}
	}
	return t, err
}

const minuteLayout = "2006-01-02T15:04Z07:00"

// tags reads an array of tags, or a trigger's {{ticket.tags}}: one string,
// the tags separated by spaces (Zendesk tags hold no spaces).
func tags(field string, raw json.RawMessage) ([]string, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	var out []string
	if s, err := normalize.String(field, raw); err == nil {
		out = strings.Fields(strings.ReplaceAll(s, ",", " "))
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

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
