// Package intercom reads Intercom webhook notifications (conversation and
// ticket topics) into canonical tickets. docs/platforms/intercom.md says
// what Intercom documents and where.
package intercom

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

const headerSignature = "X-Hub-Signature"

// Type is Intercom in the program's registry of sources.
var Type = synclayer.SourceType{Type: "intercom", Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	if err := synclayer.DecodeSettings(st.Section, &struct{}{}, "Intercom source setting; it takes type, secret, secret_file, previous_secrets and rate_limit"); err != nil {
		return nil, err
	}
	return New(Config{Secrets: secrets}), nil
}}

// Config configures the Intercom source.
type Config struct {
	// Secrets are the app's client secret (Developer Hub → the app →
	// Basic information), current first: a notification signed with any
	// of them is accepted, so the secret can be regenerated without losing
	// notifications.
	Secrets []string
}

// Source parses Intercom webhook notifications. It is safe for
// concurrent use.
type Source struct{ keys [][]byte }

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg. Blank secrets are ignored; with none left,
// Parse refuses every delivery.
func New(cfg Config) *Source {
	s := &Source{}
	for _, secret := range cfg.Secrets {
		if secret = strings.TrimSpace(secret); secret != "" {
			s.keys = append(s.keys, []byte(secret))
		}
	}
	return s
}

// Name returns "intercom".
func (s *Source) Name() string { return "intercom" }

// Parse verifies a notification and returns the ticket it reports: a
// conversation (conversation.* topics) or an Intercom ticket (ticket.*),
// each read whole as of its updated_at. ping, deletions and every other
// topic (contacts, companies, admins) are acknowledged and give nothing,
// as is an empty, unsigned request: the URL check.
// Errors are EUNAUTHORIZED for a missing or wrong signature, and
// EINVALID naming the field.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if len(body) == 0 && header(h, headerSignature) == "" {
		// The HEAD request Intercom sends to validate the endpoint URL
		// when it is saved carries nothing to verify, and stores nothing.
		return nil, nil
	}
	if err := s.verify(h, body); err != nil {
		return nil, err
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	typ, err := normalize.String("type", obj["type"])
	if err != nil {
		return nil, err
	}
	if typ != "notification_event" {
		return nil, synclayer.FieldErrorf("type", "%q is not an Intercom notification (notification_event): subscribe this URL in the app's Webhooks page", normalize.Clip(typ))
	}
	topic, err := normalize.String("topic", obj["topic"])
	if err != nil {
		return nil, err
	}
	if topic == "" {
		return nil, synclayer.FieldErrorf("topic", "missing; every Intercom notification names its topic")
	}
	kind, ok := topicKind(topic)
	if !ok {
		return nil, nil
	}
	id, err := normalize.ID("id", obj["id"])
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, synclayer.FieldErrorf("id", "missing; Intercom gives every notification an id, which keeps a retried delivery from counting twice")
	}
	at, err := unixField("created_at", obj["created_at"])
	if err != nil {
		return nil, err
	}
	data, err := normalize.Object("data", obj["data"])
	if err != nil {
		return nil, err
	}
	item, err := normalize.Object("data.item", data["item"])
	if err != nil {
		return nil, err
	}
	var ch *synclayer.TicketChange
	if kind == "ticket" {
		ch, err = parseTicket("data.item", item)
	} else {
		ch, err = parseConversation("data.item", item)
	}
	if err != nil {
		return nil, err
	}
	ch.Fields["event"], _ = json.Marshal(topic)
	ev := &synclayer.Event{Source: "intercom", DedupeKey: id, Topic: topic, Type: synclayer.EventTicketUpdated,
		OccurredAt: at, ReceivedAt: now.UTC(), Ticket: ch, Payload: body}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = ch.Updated
	}
	return []*synclayer.Event{ev}, nil
}

// topicKind says what a topic's item is: "conversation", "ticket", or
// nothing read (ok false). A deleted conversation keeps its last state.
func topicKind(topic string) (kind string, ok bool) {
	switch {
	case topic == "conversation.deleted":
		return "", false
	case strings.HasPrefix(topic, "conversation.") || strings.HasPrefix(topic, "conversation_part."):
		return "conversation", true
	case strings.HasPrefix(topic, "ticket."):
		return "ticket", true
	}
	return "", false // ping, contact.*, user.*, company.*, admin.*, ...
}

// verify checks X-Hub-Signature: "sha1=" and the hex HMAC-SHA1 of the raw
// body keyed with the client secret (docs/platforms/intercom.md).
func (s *Source) verify(h http.Header, body []byte) error {
	if len(s.keys) == 0 {
		return unauthorized("secret", "no client secret is configured for this source, so no notification can be verified: set sources.<name>.secret to the app's client secret")
	}
	sig := header(h, headerSignature)
	if sig == "" {
		return unauthorized(headerSignature, "missing; Intercom signs every notification: check that this URL is an Intercom app's webhook endpoint")
	}
	hexSig, ok := strings.CutPrefix(sig, "sha1=")
	if !ok {
		return unauthorized(headerSignature, "does not start with sha1=")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha1.Size {
		return unauthorized(headerSignature, "is not sha1= and 40 hex digits")
	}
	for _, k := range s.keys {
		mac := hmac.New(sha1.New, k)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return nil
		}
	}
	return unauthorized(headerSignature, "does not match the body signed with any configured secret; check the app's client secret")
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

// unixField reads Intercom's times: whole seconds since the epoch, as a
// number (or a string of digits). null is the zero time.
func unixField(field string, raw json.RawMessage) (time.Time, error) {
	n, ok, err := normalize.Int64(field, raw)
	if err != nil || !ok {
		return time.Time{}, err
	}
	if n < 0 || n > 253402300799 { // 9999-12-31T23:59:59Z
		return time.Time{}, synclayer.FieldErrorf(field, "%d is not a Unix time in seconds", n)
	}
	return time.Unix(n, 0).UTC(), nil
}

func optString(field string, raw json.RawMessage) (string, error) {
	if normalize.IsNull(raw) {
		return "", nil
	}
	return normalize.String(field, raw)
}
