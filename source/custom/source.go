package custom

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
)

const sourceName = "custom"

// DefaultTolerance is how far a delivery's webhook-timestamp may be from
// now, either way, as in every Standard Webhooks reference library.
const DefaultTolerance = 5 * time.Minute

const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
	secretPrefix    = "whsec_"
)

// Config configures the custom source.
type Config struct {
	// Secrets are signing secrets, "whsec_" followed by base64 (the prefix
	// is optional; unpadded base64 is accepted too). A delivery signed with
	// any of them is accepted, so a secret can be rotated without downtime.
	Secrets []string
	// Tolerance is how far webhook-timestamp may be from now; zero means
	// DefaultTolerance.
	Tolerance time.Duration
}

// Validate reports the first secret that cannot be used, as an EINVALID
// error naming it ("secrets[1]"), or that there is none.
func (c Config) Validate() error {
	if len(c.Secrets) == 0 {
		return synclayer.FieldErrorf("secrets", "no signing secret; set one (whsec_ followed by base64)")
	}
	for i, s := range c.Secrets {
		if _, err := decodeSecret(s); err != nil {
			return synclayer.FieldErrorf(fmt.Sprintf("secrets[%d]", i), "%v", err)
		}
	}
	return nil
}

// Source parses Standard Webhooks deliveries of customer events. It is safe
// for concurrent use.
type Source struct {
	hooks     []*standardwebhooks.Webhook
	bad       error // why a configured secret was unusable, for Parse's message
	tolerance time.Duration
}

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg. Secrets that cannot be decoded are left
// out; Config.Validate reports them at startup, and Parse names the
// problem when no usable secret remains.
func New(cfg Config) *Source {
	s := &Source{tolerance: cfg.Tolerance}
	if s.tolerance <= 0 {
		s.tolerance = DefaultTolerance
	}
	for i, secret := range cfg.Secrets {
		key, err := decodeSecret(secret)
		if err != nil {
			if s.bad == nil {
				s.bad = fmt.Errorf("secrets[%d] %v", i, err)
			}
			continue
		}
		wh, _ := standardwebhooks.NewWebhookRaw(key) // never fails
		s.hooks = append(s.hooks, wh)
	}
	return s
}

// Name returns "custom".
func (s *Source) Name() string { return sourceName }

// Parse verifies a delivery and returns the event it carries, deduplicated
// on webhook-id. A missing or unparsable signature header, a timestamp
// outside the tolerance or a signature that matches no secret is
// EUNAUTHORIZED naming the header; a body ParseEvent cannot read is
// EINVALID naming the field.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	id, err := s.verify(h, body, now)
	if err != nil {
		return nil, err
	}
	ev, err := ParseEvent(body, now)
	if err != nil {
		return nil, err
	}
	ev.DedupeKey = id
	return []*synclayer.Event{ev}, nil
}

// verify checks the signature before anything reads the body, and returns
// the webhook-id.
func (s *Source) verify(h http.Header, body []byte, now time.Time) (string, error) {
	if len(s.hooks) == 0 {
		if s.bad != nil {
			return "", synclayer.Errorf(synclayer.EUNAUTHORIZED,
				"no usable secret configured for source custom: %v; set the custom source's secrets to whsec_ followed by base64", s.bad)
		}
		return "", synclayer.Errorf(synclayer.EUNAUTHORIZED,
			"no secret configured for source custom; set the custom source's secrets to the sender's signing secret (whsec_...)")
	}
	id := header(h, headerID)
	ts := header(h, headerTimestamp)
	sig := strings.Join(headerValues(h, headerSignature), " ")
	for _, hd := range []struct{ name, value string }{{headerID, id}, {headerTimestamp, ts}, {headerSignature, sig}} {
		if strings.TrimSpace(hd.value) == "" {
			return "", unauthorized(hd.name, "missing "+hd.name+" header; Standard Webhooks senders send webhook-id, webhook-timestamp and webhook-signature")
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", unauthorized(headerTimestamp, fmt.Sprintf("%s must be Unix seconds, not %q", headerTimestamp, clip(ts)))
	}
	at := time.Unix(unix, 0)
	if d := now.Sub(at); d > s.tolerance || d < -s.tolerance {
		return "", unauthorized(headerTimestamp, fmt.Sprintf("%s %d (%s) is outside the tolerance of %v around now (%s); "+
			"check the sender's clock, and sign each retry with the time it is sent",
			headerTimestamp, unix, at.UTC().Format(time.RFC3339), s.tolerance, now.UTC().Format(time.RFC3339)))
	}
	hdr := http.Header{}
	hdr.Set(standardwebhooks.HeaderWebhookID, id)
	hdr.Set(standardwebhooks.HeaderWebhookTimestamp, ts)
	hdr.Set(standardwebhooks.HeaderWebhookSignature, sig)
	for _, wh := range s.hooks {
		if wh.VerifyIgnoringTimestamp(body, hdr) == nil {
			return id, nil
		}
	}
	return "", unauthorized(headerSignature, "no v1 signature in "+headerSignature+
		" matches the body signed with any configured secret; check the secret and sign the raw body bytes as sent")
}

// Sign returns the webhook-signature value ("v1,<base64>") for a delivery
// of body with the given id and timestamp, as a Standard Webhooks sender
// computes it. It fails when secret is empty or not base64.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", synclayer.FieldErrorf("secret", "%v", err)
	}
	wh, _ := standardwebhooks.NewWebhookRaw(key)
	return wh.Sign(id, ts, body)
}

// decodeSecret returns the HMAC key of a "whsec_<base64>" secret. The
// reference libraries accept an empty secret (so anyone could sign), which
// is refused here; unpadded base64 is accepted, as the Python library does.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if strings.HasPrefix(s, "whsk_") || strings.HasPrefix(s, "whpk_") {
		return nil, fmt.Errorf("is an asymmetric (ed25519) key, which is not supported; use a whsec_ secret")
	}
	s = strings.TrimPrefix(s, secretPrefix)
	if s == "" {
		return nil, fmt.Errorf("is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("is not base64 after the whsec_ prefix")
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("is empty")
	}
	return key, nil
}

func unauthorized(field, msg string) error {
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: field, Message: msg}
}

// header returns the first value of the named header, in any case:
// Standard Webhooks names are lowercase, which net/http canonicalizes but a
// hand-built header map may not.
func header(h http.Header, name string) string {
	if vs := headerValues(h, name); len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// headerValues returns every value of the named header, in any case.
func headerValues(h http.Header, name string) []string {
	canonical := http.CanonicalHeaderKey(name)
	out := h[canonical]
	for k, vs := range h {
		if k != canonical && strings.EqualFold(k, name) {
			out = append(out, vs...)
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Type is the custom source in the program's registry of sources: Standard
// Webhooks, whose secrets start with whsec_.
var Type = synclayer.SourceType{Type: sourceName, SecretPrefix: "whsec_", Exports: []synclayer.ExportFormat{Export},
	SecretKeys: []string{"write_back.secret"}, Open: open}
