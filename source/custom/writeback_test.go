package custom_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
	"synclayer/destination/webhook"
	"synclayer/source/custom"
)

var channels = synclayer.Channels{Webhook: func(url, secret string) (synclayer.NotificationSender, error) {
	return webhook.New(webhook.Config{URL: url, Secret: secret})
}}

// receiver is the custom system: it verifies each notification with the
// Standard Webhooks reference library and keeps what it got.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []http.Header
	bodies [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, _ := standardwebhooks.NewWebhook(testSecret)
	if err := wh.Verify(body, r.Header); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got, rc.bodies = append(rc.got, r.Header.Clone()), append(rc.bodies, body)
	if rc.status != 0 {
		w.WriteHeader(rc.status)
	}
}

// TestWriteBack_ConsentChanged: with write_back set, the custom source is
// a ConsentWriter that posts a signed contact.consent_changed with the
// opt-out's channel, time and system; a retry of the same write carries
// the same webhook-id; what retrying cannot fix is permanent.
func TestWriteBack_ConsentChanged(t *testing.T) {
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	src, err := custom.Type.Open([]string{testSecret}, synclayer.SourceSettings{Channels: channels,
		Section: json.RawMessage(`{"write_back": {"url": "` + hs.URL + `/consent"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	w, ok := src.(synclayer.ConsentWriter)
	if !ok {
		t.Fatal("with write_back the custom source is no ConsentWriter")
	}
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	write := synclayer.ConsentWrite{SourceID: "cus_42", Email: "out@example.com",
		EmailConsent: synclayer.Consent{State: synclayer.ConsentUnsubscribed, Source: "brevo", At: at},
		SMSConsent:   synclayer.Consent{State: synclayer.ConsentSubscribed, Source: "custom", At: at}}
	summary, err := w.WriteConsent(context.Background(), write)
	if err != nil || !strings.Contains(summary, "email unsubscribed by brevo") {
		t.Fatalf("WriteConsent: %q, %v", summary, err)
	}
	if _, err := w.WriteConsent(context.Background(), write); err != nil { // a retry after a lost answer
		t.Fatal(err)
	}
	if len(rc.bodies) != 2 || rc.got[0].Get("webhook-id") == "" || rc.got[0].Get("webhook-id") != rc.got[1].Get("webhook-id") {
		t.Fatalf("deliveries %d; webhook-ids %q, want the same for a retried write", len(rc.bodies), []string{rc.got[0].Get("webhook-id")})
	}
	var n struct {
		Type string `json:"type"`
		Data struct {
			CustomerID   string `json:"customer_id"`
			Email        string `json:"email"`
			EmailConsent *struct {
				State  string    `json:"state"`
				At     time.Time `json:"at"`
				Source string    `json:"source"`
			} `json:"email_consent"`
			SMSConsent json.RawMessage `json:"sms_consent"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rc.bodies[0], &n); err != nil {
		t.Fatal(err)
	}
	if n.Type != custom.ConsentChangedType || n.Data.CustomerID != "cus_42" || n.Data.EmailConsent == nil ||
		n.Data.EmailConsent.State != "unsubscribed" || !n.Data.EmailConsent.At.Equal(at) || n.Data.EmailConsent.Source != "brevo" {
		t.Errorf("notification %s", rc.bodies[0])
	}
	if n.Data.SMSConsent != nil {
		t.Errorf("an opt-in was written back: sms_consent %s; only opt-outs are", n.Data.SMSConsent)
	}

	rc.status = http.StatusServiceUnavailable
	if _, err := w.WriteConsent(context.Background(), write); err == nil || isPermanent(err) {
		t.Errorf("a 503: %v, want an error the queue retries", err)
	}
	rc.status = http.StatusGone
	if _, err := w.WriteConsent(context.Background(), write); !isPermanent(err) {
		t.Errorf("a 410: %v, want a permanent error", err)
	}
	calls := len(rc.bodies)
	if s, err := w.WriteConsent(context.Background(), synclayer.ConsentWrite{SourceID: "cus_43"}); err != nil || len(rc.bodies) != calls || !strings.Contains(s, "no call") {
		t.Errorf("nothing to write: %q, %v, %d calls", s, err, len(rc.bodies)-calls)
	}
}

func isPermanent(err error) bool {
	var p *synclayer.PermanentError
	return errors.As(err, &p)
}

// TestWriteBack_Settings: without write_back the source writes nothing
// back; a bad URL or secret is refused at its key.
func TestWriteBack_Settings(t *testing.T) {
	src, err := custom.Type.Open([]string{testSecret}, synclayer.SourceSettings{Channels: channels})
	if _, ok := src.(synclayer.ConsentWriter); err != nil || ok {
		t.Errorf("without write_back: %T, %v; want a plain source", src, err)
	}
	for section, field := range map[string]string{
		`{"write_back": {"url": "ftp://x"}}`:                                "write_back.url",
		`{"write_back": {"url": "https://crm.example", "secret": "nope!"}}`: "write_back.secret",
		`{"write_bak": {}}`: "write_bak",
	} {
		_, err := custom.Type.Open([]string{testSecret}, synclayer.SourceSettings{Channels: channels, Section: json.RawMessage(section)})
		var se *synclayer.Error
		if !errors.As(err, &se) || se.Field != field {
			t.Errorf("%s: %v, want an error at %s", section, err, field)
		}
	}
}
