package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
	"synclayer/destination/webhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestClient_Send(t *testing.T) {
	wh, _ := standardwebhooks.NewWebhook(secret)
	n := &synclayer.Notification{ID: "msg_sync_failed_j1_d2", Body: []byte(`{"type":"sync_failed"}`)}
	for _, tc := range []struct {
		name      string
		status    int
		header    string
		permanent bool
		after     time.Duration
		ok        bool
	}{
		{"OK", 204, "", false, 0, true},
		{"ServerError", 503, "", false, 0, false},
		{"RateLimited", 429, "7", false, 7 * time.Second, false},
		{"Refused", 400, "", true, 0, false},
		{"Gone", 410, "", true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := wh.Verify(body, r.Header); err != nil || r.Header.Get("webhook-id") != n.ID {
					t.Errorf("signature: %v, id %q", err, r.Header.Get("webhook-id"))
				}
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			c, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Send(context.Background(), n)
			var perm *synclayer.PermanentError
			var ra *synclayer.RetryAfterError
			switch {
			case tc.ok != (err == nil):
				t.Errorf("error %v, want ok=%v", err, tc.ok)
			case errors.As(err, &perm) != tc.permanent:
				t.Errorf("error %v, want permanent=%v", err, tc.permanent)
			case tc.after > 0 && (!errors.As(err, &ra) || ra.After != tc.after):
				t.Errorf("error %v, want a retry after %s", err, tc.after)
			}
		})
	}
}

func TestClient_ErrorNamesNoURL(t *testing.T) {
	c, _ := webhook.New(webhook.Config{URL: "http://127.0.0.1:1/hook?token=s3cret", Secret: secret})
	err := c.Send(context.Background(), &synclayer.Notification{ID: "x", Body: []byte(`{}`)})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v must exist and not name the URL", err)
	}
}

func TestNew_BadSecret(t *testing.T) {
	if _, err := webhook.New(webhook.Config{URL: "http://x", Secret: "whsec_!!"}); err == nil {
		t.Error("a secret that is not base64 was accepted")
	}
}
