package slack_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer"
	"synclayer/destination/slack"
)

func TestClient_Send(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
		ok        bool
	}{{200, false, true}, {500, false, false}, {429, false, false}, {403, true, false}, {404, true, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", r.Header.Get("Content-Type"))
			}
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte("invalid_token"))
		}))
		err := (&slack.Client{URL: srv.URL + "/services/T/B/secret"}).Send(context.Background(), &synclayer.Notification{Body: []byte(`{"text":"hi"}`)})
		srv.Close()
		var perm *synclayer.PermanentError
		if (err == nil) != tc.ok || errors.As(err, &perm) != tc.permanent {
			t.Errorf("%d: error %v, want ok=%v permanent=%v", tc.status, err, tc.ok, tc.permanent)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%d: error %q names the webhook URL", tc.status, err)
		}
	}
}
