package custom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"synclayer"
)

// Settings are a custom source block's own keys (sources.custom).
type Settings struct {
	// WriteBack, when set, makes the source a synclayer.ConsentWriter: an
	// opt-out made elsewhere (a Brevo unsubscribe) is posted to the
	// custom system as a signed contact.consent_changed notification.
	WriteBack *WriteBack `json:"write_back,omitempty"`
}

// WriteBack is where the custom system takes consent changes.
type WriteBack struct {
	URL string `json:"url"`
	// Secret signs the notifications (whsec_ and base64); default the
	// source's own signing secret, which the custom system holds already.
	Secret string `json:"secret,omitempty"`
}

// settingNames is what a key a custom block does not have is told.
const settingNames = "custom source setting; besides type, secret, secret_file, previous_secrets, tolerance and rate_limit it takes write_back"

// ConsentChangedType is the type of the notification the write-back posts.
const ConsentChangedType = "contact.consent_changed"

// open is Type.Open: the source, and with write_back set one that also
// writes consent back.
func open(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	var s Settings
	if err := synclayer.DecodeSettings(st.Section, &s, settingNames); err != nil {
		return nil, err
	}
	src := New(Config{Secrets: secrets, Tolerance: st.Tolerance})
	wb := s.WriteBack
	if wb == nil {
		return src, nil
	}
	if u, err := url.Parse(wb.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, synclayer.FieldErrorf("write_back.url", "must be the http:// or https:// URL where the custom system takes %s notifications", ConsentChangedType)
	}
	secret := wb.Secret
	if secret == "" && len(secrets) > 0 {
		secret = secrets[0]
	}
	if st.Channels.Webhook == nil {
		return nil, synclayer.FieldErrorf("write_back", "this program has no webhook channel to post with")
	}
	send, err := st.Channels.Webhook(wb.URL, normalizeSecret(secret))
	if err != nil {
		// Without secrets (config validation) the default cannot be checked.
		if wb.Secret != "" || len(secrets) > 0 {
			return nil, synclayer.FieldErrorf("write_back.secret", "must be whsec_ followed by base64 (it defaults to the source's secret): %v", err)
		}
		send = nil
	}
	return &WriteBackSource{Source: src, url: wb.URL, send: send}, nil
}

// normalizeSecret adds the whsec_ prefix the signing library expects to
// a secret given without it, as Parse accepts both.
func normalizeSecret(s string) string {
	if s == "" || strings.HasPrefix(s, secretPrefix) {
		return s
	}
	return secretPrefix + s
}

// WriteBackSource is the custom source with a write-back URL: it also
// tells the custom system of opt-outs made elsewhere.
type WriteBackSource struct {
	*Source
	url  string
	send synclayer.NotificationSender
}

var _ synclayer.ConsentWriter = (*WriteBackSource)(nil)

// consentNotice is a contact.consent_changed notification, shaped as the
// custom source's own events are ({type, timestamp, data}).
type consentNotice struct {
	Type      string        `json:"type"`
	Timestamp time.Time     `json:"timestamp"`
	Data      consentChange `json:"data"`
}

type consentChange struct {
	CustomerID   string         `json:"customer_id"` // the custom system's own ID
	Email        string         `json:"email,omitempty"`
	EmailConsent *consentStated `json:"email_consent,omitempty"`
	SMSConsent   *consentStated `json:"sms_consent,omitempty"`
}

type consentStated struct {
	State  synclayer.ConsentState `json:"state"`  // unsubscribed
	At     time.Time              `json:"at"`     // when the person opted out
	Source string                 `json:"source"` // the system they opted out in: brevo
}

var _ synclayer.ConsentWritePlanner = (*WriteBackSource)(nil)

// PlanConsent is the notice WriteConsent would post for w, for dry runs.
func (s *WriteBackSource) PlanConsent(w synclayer.ConsentWrite) []synclayer.PlannedCall {
	ch, what := consentChangeOf(w)
	if len(what) == 0 {
		return nil
	}
	path := s.url
	if u, err := url.Parse(s.url); err == nil {
		path = u.Path
	}
	return []synclayer.PlannedCall{{Method: "POST", Path: path, Body: consentNotice{Type: ConsentChangedType, Data: ch}}}
}

// consentChangeOf is the data of w's notice, and what it says, for the
// summary; nothing when w has no opt-out.
func consentChangeOf(w synclayer.ConsentWrite) (consentChange, []string) {
	ch := consentChange{CustomerID: w.SourceID, Email: w.Email}
	var what []string
	stated := func(k synclayer.Consent, channel string) *consentStated {
		if k.State != synclayer.ConsentUnsubscribed {
			return nil
		}
		what = append(what, channel+" unsubscribed by "+k.Source)
		return &consentStated{State: k.State, At: k.At.UTC(), Source: k.Source}
	}
	ch.EmailConsent, ch.SMSConsent = stated(w.EmailConsent, "email"), stated(w.SMSConsent, "sms")
	return ch, what
}

// WriteConsent posts the opt-outs in w to the custom system, signed the
// Standard Webhooks way. The webhook-id is derived from the customer and
// the statements, so every retry of one write carries the same ID and the
// receiver can deduplicate it.
func (s *WriteBackSource) WriteConsent(ctx context.Context, w synclayer.ConsentWrite) (string, error) {
	if s.send == nil {
		return "", synclayer.Permanent(fmt.Errorf("sources.custom.write_back has no usable signing secret"))
	}
	ch, what := consentChangeOf(w)
	if len(what) == 0 {
		return "custom: no call (no opt-out to write)", nil
	}
	body, err := json.Marshal(consentNotice{Type: ConsentChangedType, Timestamp: time.Now().UTC(), Data: ch})
	if err != nil {
		return "", synclayer.Permanent(err)
	}
	key, _ := json.Marshal(ch)
	sum := sha256.Sum256(key)
	id := "cc_" + hex.EncodeToString(sum[:12])
	if err := s.send.Send(ctx, &synclayer.Notification{ID: id, Channel: synclayer.ChannelWebhook, Body: body}); err != nil {
		return "", err
	}
	return fmt.Sprintf("custom: POST %s → 2xx (customer %s: %s; webhook-id %s)", ConsentChangedType, w.SourceID, strings.Join(what, ", "), id), nil
}
