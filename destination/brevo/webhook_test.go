package brevo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevospec"
)

// errorFields returns the Field of every *synclayer.Error in err, joined
// ones included.
func errorFields(err error) []string {
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

func TestOpen_WebhookSettings(t *testing.T) {
	t.Parallel()
	open := func(webhook string) (*brevo.Destination, error) {
		d, err := brevo.Open("brevo", json.RawMessage(`{"api_key":"xkeysib-test","webhook":`+webhook+`}`), synclayer.DestinationEnv{})
		if err != nil {
			return nil, err
		}
		return d.(*brevo.Destination), nil
	}
	for _, tc := range []struct {
		name, webhook string
		fields        []string
		message       string // part of the first error's message
	}{
		{"NoToken", `{"public_url":"https://sync.example.com"}`, []string{"webhook.token"}, "openssl rand -hex 32"},
		{"EmptyToken", `{"token":""}`, []string{"webhook.token"}, "is not set"},
		{"ShortToken", `{"token":"abc123"}`, []string{"webhook.token"}, "openssl rand -hex 32"},
		{"TokenWithSpace", `{"token":"0123456789 abcdef0123"}`, []string{"webhook.token"}, "letters, digits"},
		{"TokenUnexpanded", `{"token":"${BREVO_WEBHOOK_TOKEN}"}`, []string{"webhook.token"}, "letters, digits"},
		{"TokenNotString", `{"token":5}`, []string{"webhook.token"}, "string"},
		{"UnknownKey", `{"token":"` + webhookToken + `","tokn":"x"}`, []string{"webhook.tokn"}, "not a Brevo webhook setting"},
		{"PlainHTTP", `{"token":"` + webhookToken + `","public_url":"http://sync.example.com"}`, []string{"webhook.public_url"}, "must be https"},
		{"NotURL", `{"token":"` + webhookToken + `","public_url":"sync.example.com"}`, []string{"webhook.public_url"}, "https URL"},
		{"FTP", `{"token":"` + webhookToken + `","public_url":"ftp://sync.example.com"}`, []string{"webhook.public_url"}, "https URL"},
		{"Credentials", `{"token":"` + webhookToken + `","public_url":"https://u:p@sync.example.com"}`, []string{"webhook.public_url"}, "user name"},
		{"Query", `{"token":"` + webhookToken + `","public_url":"https://sync.example.com/?x=1"}`, []string{"webhook.public_url"}, "query"},
		{"Both", `{"token":"short","public_url":"http://sync.example.com"}`, []string{"webhook.token", "webhook.public_url"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(tc.webhook)
			if got := errorFields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("err = %v, fields %q, want %q", err, got, tc.fields)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err = %v, want it to say %q", err, tc.message)
			}
		})
	}
	for _, tc := range []struct{ publicURL, want string }{
		{"", ""},
		{"https://sync.example.com", "https://sync.example.com/webhooks/brevo"},
		{"https://sync.example.com/", "https://sync.example.com/webhooks/brevo"},
		{"https://example.com/synclayer/", "https://example.com/synclayer/webhooks/brevo"},
		{"http://localhost:8080", "http://localhost:8080/webhooks/brevo"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/webhooks/brevo"},
	} {
		d, err := open(`{"token":"` + webhookToken + `","public_url":"` + tc.publicURL + `"}`)
		if err != nil {
			t.Errorf("public_url %q: %v", tc.publicURL, err)
			continue
		}
		if got := d.WebhookURL(); got != tc.want {
			t.Errorf("public_url %q: WebhookURL() = %q, want %q", tc.publicURL, got, tc.want)
		}
		if d.Inbound() == nil || d.Inbound().Name() != "brevo" {
			t.Errorf("public_url %q: Inbound() = %v, want the source brevo", tc.publicURL, d.Inbound())
		}
	}
	if !slices.Contains(brevo.Type.SecretKeys, "webhook.token") || brevo.Type.SecretKeys[0] != "api_key" {
		t.Errorf("SecretKeys = %q, want api_key first and webhook.token", brevo.Type.SecretKeys)
	}
}

// mustRegistrar is a destination on a spec-checking simulator, with a
// webhook at publicURL.
func mustRegistrar(tb testing.TB, e *env, token, publicURL string) *brevo.Destination {
	tb.Helper()
	return mustOpen(tb, `{"api_key":"`+testKey+`","base_url":"`+e.url+`/v3","webhook":{"token":"`+token+`","public_url":"`+publicURL+`"}}`)
}

func TestRegisterWebhook_CreateThenUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	d := mustRegistrar(t, e, webhookToken, "https://sync.example.com")

	summary, err := d.RegisterWebhook(ctx)
	if err != nil || !strings.HasPrefix(summary, "created Brevo marketing webhook 1 for https://sync.example.com/webhooks/brevo") {
		t.Fatalf("RegisterWebhook = %q, %v", summary, err)
	}
	hooks := e.sim.Webhooks()
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks", len(hooks))
	}
	h := hooks[0]
	if h.URL != "https://sync.example.com/webhooks/brevo" || h.Type != "marketing" || h.Description != "synclayer" ||
		h.AuthType != "bearer" || h.AuthToken != webhookToken || !slices.Equal(h.Events, brevo.MarketingEvents) {
		t.Fatalf("webhook %+v", h)
	}

	// A restart with a rotated token updates the same webhook.
	rotated := strings.Repeat("ab", 20)
	d = mustRegistrar(t, e, rotated, "https://sync.example.com/")
	summary, err = d.RegisterWebhook(ctx)
	if err != nil || !strings.HasPrefix(summary, "updated Brevo marketing webhook 1") {
		t.Fatalf("second RegisterWebhook = %q, %v", summary, err)
	}
	if hooks := e.sim.Webhooks(); len(hooks) != 1 || hooks[0].AuthToken != rotated {
		t.Fatalf("webhooks %+v, want the one with the new token", hooks)
	}
	var got []string
	for _, c := range e.sim.Calls() {
		got = append(got, c.Method+" "+c.Path)
	}
	want := []string{"GET /webhooks?type=marketing", "POST /webhooks", "GET /webhooks?type=marketing", "PUT /webhooks/1"}
	if !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	for _, s := range []string{summary, e.logs.String()} {
		if strings.Contains(s, rotated) || strings.Contains(s, webhookToken) {
			t.Errorf("the token leaks into %q", s)
		}
	}
}

func TestRegisterWebhook_OtherURLsLeftAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	if _, err := mustRegistrar(t, e, webhookToken, "https://old.example.com").RegisterWebhook(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := mustRegistrar(t, e, webhookToken, "https://sync.example.com").RegisterWebhook(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Webhooks()); n != 2 {
		t.Fatalf("%d webhooks, want one per URL", n)
	}
}

func TestRegisterWebhook_NeedsPublicURL(t *testing.T) {
	t.Parallel()
	d := mustOpen(t, `{"api_key":"xkeysib-test","webhook":{"token":"`+webhookToken+`"}}`)
	_, err := d.RegisterWebhook(context.Background())
	if f := errorFields(err); !slices.Equal(f, []string{"webhook.public_url"}) {
		t.Fatalf("err = %v, want one naming webhook.public_url", err)
	}
}

// TestWebhookRequest: the request an operator pastes is the one the spec
// accepts and RegisterWebhook would send.
func TestWebhookRequest(t *testing.T) {
	t.Parallel()
	d := mustOpen(t, `{"api_key":"xkeysib-test","webhook":{"token":"`+webhookToken+`"}}`)
	method, path, body := d.WebhookRequest("https://sync.example.com/webhooks/brevo")
	if method != "POST" || path != "/webhooks" {
		t.Fatalf("%s %s", method, path)
	}
	var got brevo.CreateWebhookRequest
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.URL != "https://sync.example.com/webhooks/brevo" || got.Type != "marketing" || got.Auth == nil ||
		got.Auth.Type != "bearer" || got.Auth.Token != webhookToken || !slices.Equal(got.Events, brevo.MarketingEvents) {
		t.Fatalf("body %s", body)
	}
	r := httptest.NewRequest(method, "https://api.brevo.com/v3"+path, bytes.NewReader(body))
	r.Header.Set("api-key", "xkeysib-test")
	r.Header.Set("content-type", "application/json")
	if err := brevospec.Load(t).Validate(r, body); err != nil {
		t.Fatalf("the spec rejects the request: %v", err)
	}
}

// TestWebhook_EndToEnd: the simulator, once the webhook is registered,
// reports an unsubscribe to synclayer's URL with the token, and Parse reads
// it as an opt-out.
func TestWebhook_EndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	var mu sync.Mutex
	var got []*synclayer.Event
	var src synclayer.Source
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/webhooks/brevo" {
			http.NotFound(w, r)
			return
		}
		events, err := src.Parse(r.Header, body, webhookNow)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, events...)
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)

	d := mustRegistrar(t, e, webhookToken, receiver.URL)
	cs, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"list_id":7}`)})
	if err != nil {
		t.Fatal(err)
	}
	src = d.Inbound()
	if _, err := d.RegisterWebhook(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e, brevo.CreateContactRequest{Email: "ann@example.com", ListIDs: []int64{7}})

	if err := e.sim.Unsubscribe("Ann@example.com"); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if c, _ := e.sim.ContactByEmail("ann@example.com"); !c.EmailBlacklisted {
		t.Error("the simulator did not blocklist the contact")
	}
	if err := e.sim.SendMarketing("listAddition", "ann@example.com", nil); err != nil {
		t.Fatalf("SendMarketing: %v", err)
	}
	if err := e.sim.SendMarketing("opened", "ann@example.com", nil); err == nil {
		t.Error("SendMarketing of an event no webhook subscribes to succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Type != synclayer.EventEmailUnsubscribed || got[0].Activity.Customer.Email() != "ann@example.com" ||
		string(got[0].Activity.Fields["listIds"]) != "[7]" || got[1].Type != synclayer.EventCustomerUpdated {
		t.Fatalf("received %+v", got)
	}
	runtime.KeepAlive(cs)
}

func TestOpen_ReconcileSettings(t *testing.T) {
	t.Parallel()
	open := func(webhook string) (*brevo.Destination, error) {
		section := `{"api_key":"xkeysib-test"}`
		if webhook != "" {
			section = `{"api_key":"xkeysib-test","webhook":` + webhook + `}`
		}
		d, err := brevo.Open("brevo", json.RawMessage(section), synclayer.DestinationEnv{})
		if err != nil {
			return nil, err
		}
		return d.(*brevo.Destination), nil
	}
	tok := `"token":"` + webhookToken + `"`
	for _, tc := range []struct {
		name, webhook string
		want          time.Duration
		inbound       bool
	}{
		{"NoBlock", "", 0, false},
		{"Default", `{` + tok + `}`, 15 * time.Minute, true},
		{"Set", `{` + tok + `,"reconcile_interval":"1h"}`, time.Hour, true},
		{"Minimum", `{` + tok + `,"reconcile_interval":"1m"}`, time.Minute, true},
		{"Off", `{` + tok + `,"reconcile_interval":"off"}`, 0, true},
		{"OffUpper", `{` + tok + `,"reconcile_interval":"OFF"}`, 0, true},
		{"ZeroText", `{` + tok + `,"reconcile_interval":"0"}`, 0, true},
		{"ZeroNumber", `{` + tok + `,"reconcile_interval":0}`, 0, true},
		{"False", `{` + tok + `,"reconcile_interval":false}`, 0, true},
		{"Null", `{` + tok + `,"reconcile_interval":null}`, 15 * time.Minute, true},
		{"WithoutWebhook", `{"reconcile_interval":"30m"}`, 30 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := open(tc.webhook)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.ReconcileInterval(); got != tc.want {
				t.Errorf("ReconcileInterval() = %v, want %v", got, tc.want)
			}
			if (d.Inbound() != nil) != tc.inbound {
				t.Errorf("Inbound() = %v, want a source: %v", d.Inbound(), tc.inbound)
			}
		})
	}
	for _, tc := range []struct {
		name, webhook, field, message string
	}{
		{"TooShort", `{` + tok + `,"reconcile_interval":"30s"}`, "webhook.reconcile_interval", "from 1m0s to 24h0m0s"},
		{"TooLong", `{` + tok + `,"reconcile_interval":"48h"}`, "webhook.reconcile_interval", "from 1m0s to 24h0m0s"},
		{"NoUnit", `{` + tok + `,"reconcile_interval":15}`, "webhook.reconcile_interval", "no unit"},
		{"NoUnitText", `{` + tok + `,"reconcile_interval":"15"}`, "webhook.reconcile_interval", "not a duration"},
		{"Negative", `{` + tok + `,"reconcile_interval":"-5m"}`, "webhook.reconcile_interval", "negative"},
		{"True", `{` + tok + `,"reconcile_interval":true}`, "webhook.reconcile_interval", "true"},
		{"Object", `{` + tok + `,"reconcile_interval":{}}`, "webhook.reconcile_interval", "not a duration"},
		{"OffWithoutToken", `{"reconcile_interval":"off"}`, "webhook.token", "is not set"},
		{"PublicURLWithoutToken", `{"reconcile_interval":"15m","public_url":"https://sync.example.com"}`, "webhook.token", "remove public_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(tc.webhook)
			if got := errorFields(err); len(got) != 1 || got[0] != tc.field || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err = %v (fields %q), want one naming %s that says %q", err, got, tc.field, tc.message)
			}
		})
	}
}

// TestInbound_ReconcileOnly: without a token the source takes no
// delivery, not even one whose bearer token is as empty as the setting.
func TestInbound_ReconcileOnly(t *testing.T) {
	t.Parallel()
	d := mustOpen(t, `{"api_key":"xkeysib-test","webhook":{"reconcile_interval":"15m"}}`)
	src := d.Inbound()
	if src == nil || src.Name() != "brevo" || d.WebhookURL() != "" {
		t.Fatalf("Inbound() = %v, WebhookURL() = %q; want the source brevo and no URL", src, d.WebhookURL())
	}
	body := []byte(`{"event":"unsubscribed","email":"ann@example.com","ts_event":1604933737}`)
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer " + webhookToken} {
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		events, err := src.Parse(h, body, webhookNow)
		if synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED || events != nil || !strings.Contains(err.Error(), "webhook.token is not set") {
			t.Errorf("Authorization %q: %v, %v; want EUNAUTHORIZED saying no token is set", auth, events, err)
		}
	}
	if _, err := d.RegisterWebhook(context.Background()); len(errorFields(err)) != 1 || errorFields(err)[0] != "webhook.token" {
		t.Errorf("RegisterWebhook: %v, want an error naming webhook.token", err)
	}
}
