package magento_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/magento"
	"synclayer/source/magento/magentosim"
)

// fields returns the fields of the *synclayer.Error values err joins.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var e *synclayer.Error
		if errors.As(err, &e) {
			out = append(out, e.Field)
		}
	}
	walk(err)
	return out
}

// TestType_Open: each wrong setting is refused by its key, with what to
// set, and never with a secret's value.
func TestType_Open(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, []byte(magentosim.TestPublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, section string
		secrets       []string
		want          string // the field refused; "" for none
	}{
		{"webhooks only", `{"webhook_public_key_file": "` + keyFile + `"}`, []string{"x"}, ""},
		{"key as secret", `{}`, []string{magentosim.TestPublicKey}, ""},
		{"key as secret, checked without secrets", `{}`, nil, ""},
		{"nothing", `{}`, []string{"not a key"}, "webhook_public_key"},
		{"unknown key", `{"api_key": "x"}`, nil, "api_key"},
		{"api_url alone", `{"api_url": "https://shop.example.com"}`, nil, "oauth"},
		{"token alone", `{"access_token": "secret-token-value"}`, nil, "api_url"},
		{"oauth incomplete", `{"api_url": "https://shop.example.com", "oauth": {"consumer_key": "k", "access_token": "t", "access_token_secret": "s"}}`, nil, "oauth.consumer_secret"},
		{"both", `{"api_url": "https://shop.example.com", "access_token": "secret-token-value", "oauth": {"consumer_key": "k", "consumer_secret": "c", "access_token": "t", "access_token_secret": "s"}}`, nil, "access_token"},
		{"bad url", `{"api_url": "shop.example.com", "access_token": "t"}`, nil, "api_url"},
		{"bad key", `{"webhook_public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}`, nil, "webhook_public_key"},
		{"often", `{"api_url": "https://shop.example.com", "access_token": "t", "poll_interval": "2s"}`, nil, "poll_interval"},
		{"not a duration", `{"api_url": "https://shop.example.com", "access_token": "t", "poll_interval": "soon"}`, nil, "poll_interval"},
		{"page size", `{"api_url": "https://shop.example.com", "access_token": "t", "page_size": 500}`, nil, "page_size"},
		{"store code", `{"api_url": "https://shop.example.com", "access_token": "t", "store_code": "a/b"}`, nil, "store_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := magento.Type.Open(tt.secrets, synclayer.SourceSettings{Name: "magento", Section: json.RawMessage(tt.section)})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := fields(err); len(got) == 0 || got[0] != tt.want {
				t.Errorf("error %v (fields %v), want one on %s", err, got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret-token-value") {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}

// TestSource_Poller: API credentials poll every minute by default, 0
// turns it off, and without credentials nothing is listed.
func TestSource_Poller(t *testing.T) {
	open := func(section string) *magento.Source {
		src, err := magento.Type.Open([]string{magentosim.TestPublicKey}, synclayer.SourceSettings{Name: "m", Section: json.RawMessage(section)})
		if err != nil {
			t.Fatal(err)
		}
		return src.(*magento.Source)
	}
	if s := open(`{"api_url": "https://shop.example.com", "access_token": "t"}`); s.PollInterval() != time.Minute || len(s.ListKinds()) != 4 {
		t.Errorf("default: %v %v", s.PollInterval(), s.ListKinds())
	}
	if s := open(`{"api_url": "https://shop.example.com", "access_token": "t", "poll_interval": "0"}`); s.PollInterval() != 0 {
		t.Errorf("0: %v", s.PollInterval())
	}
	if s := open(`{}`); s.PollInterval() != 0 || len(s.ListKinds()) != 0 {
		t.Errorf("webhooks only: %v %v", s.PollInterval(), s.ListKinds())
	}
}
