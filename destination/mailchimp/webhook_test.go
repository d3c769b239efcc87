package mailchimp_test

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

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/destination/mailchimp/mailchimpspec"
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
	open := func(webhook string) (*mailchimp.Destination, error) {
		d, err := mailchimp.Open("mailchimp", json.RawMessage(`{"api_key":"`+testKey+`","webhook":`+webhook+`}`), synclayer.DestinationEnv{})
		if err != nil {
			return nil, err
		}
		return d.(*mailchimp.Destination), nil
	}
	for _, tc := range []struct {
		name, webhook string
		fields        []string
		message       string // part of the first error's message
	}{
		{"NoSecret", `{"public_url":"https://sync.example.com"}`, []string{"webhook.secret"}, "openssl rand -hex 32"},
		{"EmptySecret", `{"secret":""}`, []string{"webhook.secret"}, "is not set"},
		{"ShortSecret", `{"secret":"abc123"}`, []string{"webhook.secret"}, "at least 16"},
		{"SecretNeedsEscaping", `{"secret":"0123456789abcdef&x=1"}`, []string{"webhook.secret"}, "letters, digits"},
		{"SecretUnexpanded", `{"secret":"${MAILCHIMP_WEBHOOK_SECRET}"}`, []string{"webhook.secret"}, "letters, digits"},
		{"SecretNotString", `{"secret":5}`, []string{"webhook.secret"}, "string"},
		{"UnknownKey", `{"secret":"` + webhookSecret + `","token":"x"}`, []string{"webhook.token"}, "not a Mailchimp webhook setting"},
		{"PlainHTTP", `{"secret":"` + webhookSecret + `","public_url":"http://sync.example.com"}`, []string{"webhook.public_url"}, "must be https"},
		{"NotURL", `{"secret":"` + webhookSecret + `","public_url":"sync.example.com"}`, []string{"webhook.public_url"}, "https URL"},
		{"Credentials", `{"secret":"` + webhookSecret + `","public_url":"https://u:p@sync.example.com"}`, []string{"webhook.public_url"}, "user name"},
		{"Query", `{"secret":"` + webhookSecret + `","public_url":"https://sync.example.com/?secret=x"}`, []string{"webhook.public_url"}, "query"},
		{"Both", `{"secret":"short","public_url":"http://sync.example.com"}`, []string{"webhook.secret", "webhook.public_url"}, ""},
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
		{"https://sync.example.com", "https://sync.example.com/webhooks/mailchimp"},
		{"https://sync.example.com/", "https://sync.example.com/webhooks/mailchimp"},
		{"https://example.com/synclayer/", "https://example.com/synclayer/webhooks/mailchimp"},
		{"http://localhost:8080", "http://localhost:8080/webhooks/mailchimp"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/webhooks/mailchimp"},
	} {
		d, err := open(`{"secret":"` + webhookSecret + `","public_url":"` + tc.publicURL + `"}`)
		if err != nil {
			t.Errorf("public_url %q: %v", tc.publicURL, err)
			continue
		}
		if got := d.WebhookURL(); got != tc.want {
			t.Errorf("public_url %q: WebhookURL() = %q, want %q (never the secret: the program logs it)", tc.publicURL, got, tc.want)
		}
		if d.Inbound() == nil || d.Inbound().Name() != "mailchimp" {
			t.Errorf("public_url %q: Inbound() = %v, want the source mailchimp", tc.publicURL, d.Inbound())
		}
	}
	if !slices.Contains(mailchimp.Type.SecretKeys, "webhook.secret") || mailchimp.Type.SecretKeys[0] != "api_key" {
		t.Errorf("SecretKeys = %q, want api_key first and webhook.secret", mailchimp.Type.SecretKeys)
	}
}

// receiver is synclayer's side of the webhook as the program must serve
// it (inbound.go, QueryHeader): the URL's query passed to Parse in a
// header, and Mailchimp's GET answered by Parse with no body.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	src    synclayer.Source
	events []*synclayer.Event
	gets   []*http.Request
	getErr int // when set, the status every GET gets, as a server that does not serve them
}

func mustReceiver(tb testing.TB) *receiver {
	tb.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/webhooks/mailchimp" {
			http.NotFound(w, r)
			return
		}
		rc.mu.Lock()
		src, getErr := rc.src, rc.getErr
		if r.Method == http.MethodGet {
			rc.gets = append(rc.gets, r)
		}
		rc.mu.Unlock()
		if r.Method == http.MethodGet && getErr != 0 {
			w.WriteHeader(getErr)
			return
		}
		h := r.Header.Clone()
		h.Set(mailchimp.QueryHeader, r.URL.RawQuery)
		events, err := src.Parse(h, body, webhookNow)
		if err != nil {
			status := http.StatusBadRequest
			if synclayer.ErrorCode(err) == synclayer.EUNAUTHORIZED {
				status = http.StatusUnauthorized
			}
			http.Error(w, err.Error(), status)
			return
		}
		rc.mu.Lock()
		rc.events = append(rc.events, events...)
		rc.mu.Unlock()
	}))
	tb.Cleanup(rc.Close)
	return rc
}

// answerGETs makes every later GET get status, as a server that does not
// serve them (or, with 200, one that answers them blindly).
func (rc *receiver) answerGETs(status int) {
	rc.mu.Lock()
	rc.getErr = status
	rc.mu.Unlock()
}

func (rc *receiver) serve(src synclayer.Source) {
	rc.mu.Lock()
	rc.src = src
	rc.mu.Unlock()
}

func (rc *receiver) received() []*synclayer.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events)
}

// mustRegistrar is a destination on the spec-checking simulator of e,
// whose webhook reaches rc, with a customer-sync to the simulator's
// audience kept alive until cleanup.
func mustRegistrar(tb testing.TB, e *env, rc *receiver, secret string) *mailchimp.Destination {
	tb.Helper()
	d := mustOpenMC(tb, `{"api_key":"`+e.key+`","base_url":"`+e.base+`","webhook":{"secret":"`+secret+`","public_url":"`+rc.URL+`"}}`)
	cs, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"audience_id":"` + audience + `"}`)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { runtime.KeepAlive(cs) })
	rc.serve(d.Inbound())
	return d
}

func TestRegisterWebhook_CreateThenUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	rc := mustReceiver(t)
	d := mustRegistrar(t, e, rc, webhookSecret)
	target := rc.URL + "/webhooks/mailchimp"

	summary, err := d.RegisterWebhook(ctx)
	if err != nil || !strings.HasPrefix(summary, "created Mailchimp webhook sim1 on audience "+audience+" for "+target) {
		t.Fatalf("RegisterWebhook = %q, %v", summary, err)
	}
	hooks := e.sim.Webhooks(audience)
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks", len(hooks))
	}
	h := hooks[0]
	wantEvents := map[string]bool{"subscribe": true, "unsubscribe": true, "profile": true, "cleaned": true, "upemail": true, "campaign": false}
	wantSources := map[string]bool{"user": true, "admin": true, "api": false}
	if h.URL != target+"?secret="+webhookSecret || !mapsEqual(h.Events, wantEvents) || !mapsEqual(h.Sources, wantSources) {
		t.Fatalf("webhook %+v: want the secret in its URL, every event but campaign, and not the API as a source (no echo of synclayer's own writes)", h)
	}
	rc.mu.Lock()
	gets := slices.Clone(rc.gets)
	rc.mu.Unlock()
	if len(gets) != 1 || gets[0].Header.Get("User-Agent") != mailchimpsim.ValidatorAgent || gets[0].URL.Query().Get("secret") != webhookSecret {
		t.Fatalf("URL checks %v, want one GET with the secret, answered 200 by Parse", gets)
	}

	// A restart with a rotated secret updates the same webhook.
	rotated := strings.Repeat("ab", 20)
	d = mustRegistrar(t, e, rc, rotated)
	summary, err = d.RegisterWebhook(ctx)
	if err != nil || !strings.HasPrefix(summary, "updated Mailchimp webhook sim1") {
		t.Fatalf("second RegisterWebhook = %q, %v", summary, err)
	}
	if hooks := e.sim.Webhooks(audience); len(hooks) != 1 || hooks[0].URL != target+"?secret="+rotated {
		t.Fatalf("webhooks %+v, want the one with the new secret", hooks)
	}
	// And a restart with nothing changed adds nothing either.
	if _, err := d.RegisterWebhook(ctx); err != nil || len(e.sim.Webhooks(audience)) != 1 {
		t.Fatalf("third RegisterWebhook: %v, %d webhooks", err, len(e.sim.Webhooks(audience)))
	}
	var got []string
	for _, c := range e.sim.CallsTo("", "/lists/"+audience+"/webhooks") {
		got = append(got, c.Method+" "+c.Path)
	}
	list, one := "GET /lists/"+audience+"/webhooks", "PATCH /lists/"+audience+"/webhooks/sim1"
	if want := []string{list, "POST /lists/" + audience + "/webhooks", list, one, list, one}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	for _, s := range []string{summary, d.WebhookURL()} {
		if strings.Contains(s, rotated) || strings.Contains(s, webhookSecret) {
			t.Errorf("the secret leaks into %q", s)
		}
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRegisterWebhook_OtherURLsLeftAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	rc, other := mustReceiver(t), mustReceiver(t)
	other.answerGETs(http.StatusOK)
	theirs := other.URL + "/webhooks/mailchimp?key=theirs"
	if _, err := e.client.CreateWebhook(ctx, audience, mailchimp.WebhookConfig{URL: theirs}); err != nil {
		t.Fatal(err)
	}
	if _, err := mustRegistrar(t, e, rc, webhookSecret).RegisterWebhook(ctx); err != nil {
		t.Fatal(err)
	}
	hooks := e.sim.Webhooks(audience)
	if len(hooks) != 2 || hooks[0].URL != theirs || !hooks[0].Sources["api"] {
		t.Fatalf("webhooks %+v, want another host's webhook left as it was, beside synclayer's", hooks)
	}
}

// TestRegisterWebhook_URLCheckFails: Mailchimp keeps no webhook whose URL
// does not answer its GET with 200, as a server that serves only POST on
// /webhooks/<name> would not.
func TestRegisterWebhook_URLCheckFails(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	rc := mustReceiver(t)
	rc.answerGETs(http.StatusMethodNotAllowed)
	_, err := mustRegistrar(t, e, rc, webhookSecret).RegisterWebhook(context.Background())
	var apiErr *mailchimp.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !isPermanent(err) || len(e.sim.Webhooks(audience)) != 0 {
		t.Fatalf("err = %v, webhooks %d: want a permanent 400 and no webhook", err, len(e.sim.Webhooks(audience)))
	}
	if strings.Contains(err.Error(), webhookSecret) {
		t.Errorf("the secret leaks into %v", err)
	}
}

func TestRegisterWebhook_NeedsPublicURLAndAudience(t *testing.T) {
	t.Parallel()
	d := mustOpenMC(t, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	if _, err := d.RegisterWebhook(context.Background()); !slices.Equal(errorFields(err), []string{"webhook.public_url"}) {
		t.Fatalf("err = %v, want one naming webhook.public_url", err)
	}
	d = mustOpenMC(t, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`","public_url":"https://sync.example.com"}}`)
	_, err := d.RegisterWebhook(context.Background())
	if synclayer.ErrorCode(err) != synclayer.ENOTFOUND || !strings.Contains(err.Error(), "options.audience_id") {
		t.Fatalf("err = %v, want ENOTFOUND saying no customer-sync names an audience yet", err)
	}
}

// TestRegisterWebhook_AudienceIDSetting: the audience of workflow actions
// gets the webhook too, with no customer-sync.
func TestRegisterWebhook_AudienceIDSetting(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	rc := mustReceiver(t)
	d := mustOpenMC(t, `{"api_key":"`+e.key+`","base_url":"`+e.base+`","audience_id":"`+audience+`","webhook":{"secret":"`+webhookSecret+`","public_url":"`+rc.URL+`"}}`)
	rc.serve(d.Inbound())
	if _, err := d.RegisterWebhook(context.Background()); err != nil || len(e.sim.Webhooks(audience)) != 1 {
		t.Fatalf("RegisterWebhook: %v, %d webhooks", err, len(e.sim.Webhooks(audience)))
	}
}

// TestWebhookRequest: the request an operator pastes is the one the spec
// accepts and RegisterWebhook would send, secret included.
func TestWebhookRequest(t *testing.T) {
	t.Parallel()
	d := mustOpenMC(t, `{"api_key":"`+testKey+`","audience_id":"`+audience+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	method, path, body := d.WebhookRequest("https://sync.example.com/webhooks/mailchimp")
	if method != "POST" || path != "/lists/"+audience+"/webhooks" {
		t.Fatalf("%s %s", method, path)
	}
	var got mailchimp.WebhookConfig
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.URL != "https://sync.example.com/webhooks/mailchimp?secret="+webhookSecret || got.Events == nil || *got.Events != mailchimp.RegisteredEvents ||
		got.Sources == nil || *got.Sources != mailchimp.RegisteredSources {
		t.Fatalf("body %s", body)
	}
	r := httptest.NewRequest(method, "https://us21.api.mailchimp.com/3.0"+path, bytes.NewReader(body))
	r.SetBasicAuth("synclayer", testKey)
	r.Header.Set("content-type", "application/json")
	if err := mailchimpspec.Load(t).Validate(r, body); err != nil {
		t.Fatalf("the spec rejects the request: %v", err)
	}

	// Without a known audience the path keeps its placeholder.
	d = mustOpenMC(t, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	if _, path, _ := d.WebhookRequest("https://sync.example.com/webhooks/mailchimp"); path != "/lists/{list_id}/webhooks" {
		t.Errorf("path %s", path)
	}
}

// TestWebhook_EndToEnd: once the webhook is registered, what happens
// inside Mailchimp reaches synclayer: the simulator posts each change to
// the URL with the secret, and Parse reads it.
func TestWebhook_EndToEnd(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	rc := mustReceiver(t)
	d := mustRegistrar(t, e, rc, webhookSecret)
	if _, err := d.RegisterWebhook(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sim.SignUp(audience, "ann@example.com", "subscribed")
	e.sim.SignUp(audience, "bob@example.com", "subscribed")

	if err := e.sim.Unsubscribe(audience, "ann@example.com", "camp1"); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if m, _ := e.sim.MemberOf(audience, "ann@example.com"); m.Status != "unsubscribed" {
		t.Errorf("member %+v, want unsubscribed in Mailchimp", m)
	}
	if err := e.sim.Clean(audience, "bob@example.com", "hard"); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if err := e.sim.Clean(audience, "ann@example.com", "abuse"); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if err := e.sim.SignUpForm(audience, "Cy@Example.com", map[string]string{"FNAME": "Cy"}); err != nil {
		t.Fatalf("SignUpForm: %v", err)
	}
	if err := e.sim.EditProfile(audience, "cy@example.com", map[string]string{"LNAME": "Young", "ORDERS": "3"}); err != nil {
		t.Fatalf("EditProfile: %v", err)
	}
	if err := e.sim.ChangeEmail(audience, "cy@example.com", "cy@example.org"); err != nil {
		t.Fatalf("ChangeEmail: %v", err)
	}

	got := rc.received()
	type want struct {
		kind  synclayer.EventType
		email string
	}
	wants := []want{
		{synclayer.EventEmailUnsubscribed, "ann@example.com"},
		{synclayer.EventEmailBounced, "bob@example.com"},
		{synclayer.EventEmailComplained, "ann@example.com"},
		{synclayer.EventCustomerUpdated, "cy@example.com"},
		{synclayer.EventCustomerUpdated, "cy@example.com"},
	} // and nothing for the address change
	if len(got) != len(wants) {
		t.Fatalf("received %d events, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		c := got[i].Customer
		if got[i].Activity != nil {
			c = got[i].Activity.Customer
		}
		if got[i].Type != w.kind || c.Email() != w.email {
			t.Errorf("event %d: %s of %s, want %s of %s", i, got[i].Type, c.Email(), w.kind, w.email)
		}
	}
	if f := got[0].Activity.Fields; string(f["campaignId"]) != `"camp1"` || string(f["reason"]) != `"unsubscribed (action unsub, reason manual)"` {
		t.Errorf("unsubscribe fields %s", mustMarshal(t, f))
	}
	if c := got[3].Customer; c.EmailConsent == nil || c.EmailConsent.State != synclayer.ConsentSubscribed || mustMarshal(t, c.Fields) != `{"email":"cy@example.com","firstName":"Cy"}` {
		t.Errorf("signup %+v, want an opt-in with the first name", c)
	}
	if c := got[4].Customer; c.EmailConsent != nil || mustMarshal(t, c.Fields) != `{"email":"cy@example.com","firstName":"Cy","lastName":"Young","totalOrders":3}` {
		t.Errorf("profile %+v, want the mapped merge fields and no consent", c)
	}
	for _, dl := range e.sim.Deliveries() {
		if dl.Status != http.StatusOK || dl.Form.Get("fired_at") == "" {
			t.Errorf("delivery %+v, want 200", dl)
		}
	}
}

// TestWebhook_WrongSecretRefused: a delivery to a URL with an old secret
// is refused, and the simulator says so.
func TestWebhook_WrongSecretRefused(t *testing.T) {
	t.Parallel()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	rc := mustReceiver(t)
	if _, err := mustRegistrar(t, e, rc, webhookSecret).RegisterWebhook(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustRegistrar(t, e, rc, strings.Repeat("cd", 20)) // rotated in synclayer, not yet registered
	e.sim.SignUp(audience, "ann@example.com", "subscribed")
	if err := e.sim.Unsubscribe(audience, "ann@example.com", ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Unsubscribe: %v, want the delivery refused with 401", err)
	}
	if len(rc.received()) != 0 {
		t.Fatal("an event came through with the old secret")
	}
}
