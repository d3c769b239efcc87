// Package helpscout reads Help Scout webhooks (convo.* events, whose body
// is the conversation) into canonical tickets. docs/platforms/helpscout.md
// says what Help Scout documents and where.
package helpscout

import (
	"crypto/hmac"
	"crypto/sha1"
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
	headerSignature = "X-HelpScout-Signature"
	headerEvent     = "X-HelpScout-Event"
)

// Type is Help Scout in the program's registry of sources.
var Type = synclayer.SourceType{Type: "helpscout", Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	if err := synclayer.DecodeSettings(st.Section, &struct{}{}, "Help Scout source setting; it takes type, secret, secret_file, previous_secrets and rate_limit"); err != nil {
		return nil, err
	}
	return New(Config{Secrets: secrets}), nil
}}

// Config configures the Help Scout source.
type Config struct {
	// Secrets are the webhook's secret key (Manage → Apps → Webhooks, or
	// the secret given to POST /v2/webhooks), current first: a delivery
	// signed with any of them is accepted, so the key can be changed
	// without losing deliveries.
	Secrets []string
}

// Source parses Help Scout webhooks. It is safe for concurrent use.
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

// Name returns "helpscout".
func (s *Source) Name() string { return "helpscout" }

// Parse verifies a delivery and returns the ticket its conversation
// reports, read whole. convo.deleted and every event that is not about a
// conversation (customers, ratings, tags, Beacon chats, surveys, or an
// event name this source does not know, such as a test delivery's) are
// acknowledged and give nothing. Errors are EUNAUTHORIZED for a missing
// or wrong signature, and EINVALID naming the field or header.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h, body); err != nil {
		return nil, err
	}
	event := header(h, headerEvent)
	if event == "" {
		return nil, synclayer.FieldErrorf(headerEvent, "missing; Help Scout names the event of every webhook request in it")
	}
	// The body is read before the event is judged, so a body that is not
	// JSON is refused whatever the header says.
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	if !conversationEvents[event] {
		return nil, nil
	}
	ch, err := parseConversation(event, obj)
	if err != nil {
		return nil, err
	}
	// Help Scout gives no delivery id: the event, the conversation and the
	// body key it, so a retry of one request counts once and two events
	// about one conversation state do not.
	sum := sha256.Sum256(body)
	ev := &synclayer.Event{Source: "helpscout", DedupeKey: event + "|" + ch.SourceID + "|" + hex.EncodeToString(sum[:16]),
		Topic: event, Type: synclayer.EventTicketUpdated, OccurredAt: ch.Updated, ReceivedAt: now.UTC(), Ticket: ch, Payload: body}
	return []*synclayer.Event{ev}, nil
}

// conversationEvents are the events whose body is the conversation
// (Help Scout's webhook page); convo.deleted sends only {id} and is not
// among them.
var conversationEvents = map[string]bool{
	"convo.assigned": true, "convo.created": true, "convo.merged": true, "convo.moved": true, "convo.status": true,
	"convo.tags": true, "convo.custom-fields": true, "convo.customer.reply.created": true,
	"convo.agent.reply.created": true, "convo.note.created": true,
}

// verify checks X-HelpScout-Signature: base64(HMAC-SHA1(secret, body))
// over the raw body (docs/platforms/helpscout.md).
func (s *Source) verify(h http.Header, body []byte) error {
	if len(s.keys) == 0 {
		return unauthorized("secret", "no secret key is configured for this source, so no delivery can be verified: set sources.<name>.secret to the webhook's secret key")
	}
	sig := header(h, headerSignature)
	if sig == "" {
		return unauthorized(headerSignature, "missing; Help Scout signs every webhook request: check that this URL is a Help Scout webhook's callback URL")
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha1.Size {
		return unauthorized(headerSignature, "is not a base64 HMAC-SHA1")
	}
	for _, k := range s.keys {
		mac := hmac.New(sha1.New, k)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return nil
		}
	}
	return unauthorized(headerSignature, "does not match the body signed with any configured secret; check the webhook's secret key")
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

func optString(field string, raw json.RawMessage) (string, error) {
	if normalize.IsNull(raw) {
		return "", nil
	}
	return normalize.String(field, raw)
}

func timeField(field string, raw json.RawMessage) (time.Time, error) {
	_, t, err := normalize.Date(field, raw)
	return t, err
}
