// Package freshdesk reads the webhooks a Freshdesk automation rule sends
// (the body the README gives, with Freshdesk's placeholders) into
// canonical tickets. Freshdesk signs nothing: a delivery is authenticated
// by a shared secret in a header, or by basic auth, that the admin adds
// to the rule. docs/platforms/freshdesk.md says what Freshdesk documents
// and where.
package freshdesk

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// DefaultHeader is the header that carries the shared secret when no
// username is configured.
const DefaultHeader = "X-Synclayer-Token"

// settings are the keys of a Freshdesk source block beyond those every
// source has.
type settings struct {
	// Username turns on basic auth: the rule's "Requires authentication"
	// username, with the block's secret as its password.
	Username string `json:"username"`
	// Header names the header that carries the secret; DefaultHeader
	// when empty.
	Header string `json:"header"`
	// Statuses maps a custom Freshdesk status, by its name, to a
	// canonical status (Settings → Ticket fields → Status).
	Statuses map[string]string `json:"statuses"`
}

// Type is Freshdesk in the program's registry of sources.
var Type = synclayer.SourceType{Type: "freshdesk", Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	var s settings
	if err := synclayer.DecodeSettings(st.Section, &s, "Freshdesk source setting; it takes type, secret, secret_file, previous_secrets, rate_limit, username, header and statuses"); err != nil {
		return nil, err
	}
	if h := strings.ToLower(s.Header); h != "" && !strings.Contains(h, "token") && !strings.Contains(h, "secret") && !strings.Contains(h, "key") {
		// The webhook handler keeps refused requests' headers for
		// inspection, leaving out those named for credentials.
		return nil, synclayer.FieldErrorf("header", "%q must name a credential (hold token, secret or key), so a refused request's copy never keeps the secret", s.Header)
	}
	for name, status := range s.Statuses {
		if !slices.Contains(synclayer.TicketStatuses, status) {
			return nil, synclayer.FieldErrorf("statuses."+name, "%q is not a ticket status: use one of %s", status, strings.Join(synclayer.TicketStatuses, ", "))
		}
	}
	return New(Config{Secrets: secrets, Username: s.Username, Header: s.Header, Statuses: s.Statuses}), nil
}}

// Config configures the Freshdesk source.
type Config struct {
	// Secrets are the shared secret the rule sends, current first; a
	// delivery with any of them is accepted, so it can be changed without
	// losing deliveries. With Username set they are basic auth passwords.
	Secrets  []string
	Username string
	Header   string            // default DefaultHeader
	Statuses map[string]string // custom status name → canonical status
}

// Source parses Freshdesk automation webhooks. It is safe for concurrent
// use.
type Source struct {
	keys     [][32]byte // sha256 of each secret, compared in constant time
	username [32]byte
	basic    bool
	header   string
	statuses map[string]string // lower-cased names
}

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg. Blank secrets are ignored; with none left,
// Parse refuses every delivery.
func New(cfg Config) *Source {
	s := &Source{header: cfg.Header, statuses: map[string]string{}}
	if s.header == "" {
		s.header = DefaultHeader
	}
	if u := strings.TrimSpace(cfg.Username); u != "" {
		s.basic, s.username = true, sha256.Sum256([]byte(u))
	}
	for _, secret := range cfg.Secrets {
		if secret = strings.TrimSpace(secret); secret != "" {
			s.keys = append(s.keys, sha256.Sum256([]byte(secret)))
		}
	}
	for name, status := range cfg.Statuses {
		s.statuses[strings.ToLower(strings.TrimSpace(name))] = status
	}
	return s
}

// Name returns "freshdesk".
func (s *Source) Name() string { return "freshdesk" }

// Parse authenticates a delivery and returns the ticket it reports. The
// body is the README's ({"ticket": {...}}), or the one Freshdesk builds
// in the rule's simple mode ({"freshdesk_webhook": {"ticket_id", ...}}).
// Errors are EUNAUTHORIZED for a missing or wrong secret, and EINVALID
// naming the field.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.authenticate(h); err != nil {
		return nil, err
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	path, t := "ticket", obj["ticket"]
	if normalize.IsNull(t) && !normalize.IsNull(obj["freshdesk_webhook"]) {
		path, t = "freshdesk_webhook", obj["freshdesk_webhook"]
	}
	if normalize.IsNull(t) {
		return nil, synclayer.FieldErrorf("ticket", "missing; paste the webhook body the README gives into the automation rule")
	}
	fields, err := normalize.Object(path, t)
	if err != nil {
		return nil, err
	}
	if path == "freshdesk_webhook" {
		fields = fromSimple(fields)
	}
	ch, err := s.parseTicket(path, fields, now)
	if err != nil {
		return nil, err
	}
	// A rule's body has no delivery id: the ticket and the body key it, so
	// Freshdesk's retry of one request counts once.
	sum := sha256.Sum256(body)
	ev := &synclayer.Event{Source: "freshdesk", DedupeKey: "rule|" + ch.SourceID + "|" + hex.EncodeToString(sum[:16]), Topic: "automation",
		Type: synclayer.EventTicketUpdated, OccurredAt: ch.Updated, ReceivedAt: now.UTC(), Ticket: ch, Payload: body}
	return []*synclayer.Event{ev}, nil
}

// authenticate checks the shared secret header, or basic auth when a
// username is configured, comparing digests in constant time.
func (s *Source) authenticate(h http.Header) error {
	if len(s.keys) == 0 {
		return unauthorized("secret", "no secret is configured for this source, so no delivery can be authenticated: set sources.<name>.secret, and send it from the automation rule (README)")
	}
	if s.basic {
		auth := header(h, "Authorization")
		if auth == "" {
			return unauthorized("Authorization", "missing; turn on \"Requires authentication\" in the rule's webhook with the configured username and the secret as password")
		}
		enc, ok := strings.CutPrefix(auth, "Basic ")
		if !ok {
			return unauthorized("Authorization", "is not basic auth")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return unauthorized("Authorization", "is not base64")
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		u := sha256.Sum256([]byte(user))
		if subtle.ConstantTimeCompare(u[:], s.username[:]) == 1 && s.match(pass) {
			return nil
		}
		return unauthorized("Authorization", "the username or password does not match the source's username and secret")
	}
	v := header(h, s.header)
	if v == "" {
		return unauthorized(s.header, "missing; add it to the rule's webhook as a custom header whose value is the source's secret (README)")
	}
	if s.match(v) {
		return nil
	}
	return unauthorized(s.header, "does not match any configured secret; check the custom header in the automation rule")
}

func (s *Source) match(v string) bool {
	got := sha256.Sum256([]byte(strings.TrimSpace(v)))
	ok := 0
	for _, k := range s.keys {
		ok |= subtle.ConstantTimeCompare(got[:], k[:])
	}
	return ok == 1
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
