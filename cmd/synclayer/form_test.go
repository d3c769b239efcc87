package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// withForm adds a website form "newsletter" with double opt-in to
// customer-sync, and a rule that hands the confirmation link to Brevo as
// an event (which a Brevo automation would email).
func withForm(t *testing.T) envOption {
	return func(c *Config) {
		c.Sources["newsletter"] = &SourceConfig{Type: "form", Secret: "form_e2e_secret", Settings: map[string]any{
			"origins": []any{"https://shop.example.com"}, "honeypot": "website", "per_client": 5,
			"redirect": "https://shop.example.com/thanks", "confirmed": "https://shop.example.com/welcome",
			"double_opt_in": true, "public_url": "https://sync.example.com"}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "newsletter")
		cfg, err := ParseConfig([]byte(`workflows:
  - name: confirm-signup
    trigger: form_submitted
    filter: 'form.doubleOptIn'
    actions:
      - event: { name: confirm_subscription, properties: { confirm_url: "{{ .form.confirmUrl }}" } }
`), "")
		if err != nil {
			t.Fatal(err)
		}
		c.Workflows = cfg.Workflows
	}
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) formPost(path, origin, body string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := noRedirects().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestForm_DoubleOptIn: a plain HTML form posted from the shop's page
// sends the browser to the thank-you page and makes the lead a contact,
// but not a subscriber: the signup reaches list 5 only once the person
// presses the button on the page the confirmation link opens (opening it
// alone confirms nothing). A page on another origin, a filled honeypot
// and a sixth post a minute from one address get nothing stored.
func TestForm_DoubleOptIn(t *testing.T) {
	e := startEnv(t, brevosim.Options{}, withForm(t))

	resp := e.formPost("/forms/newsletter", "https://shop.example.com", "email=Gus%40Example.com&first_name=Gus&consent=on")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example.com/thanks" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Fatalf("form post: %d to %q, ACAO %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Access-Control-Allow-Origin"))
	}
	e.waitIdle(15 * time.Second)
	if c := e.contact("gus@example.com"); hasList(c, 5) {
		t.Fatalf("in list 5 before confirming: %v", c.ListIDs)
	}
	evs := e.sim.EventsNamed("confirm_subscription")
	if len(evs) != 1 {
		t.Fatalf("confirm_subscription events %+v, want 1", evs)
	}
	link, _ := evs[0].Properties["confirm_url"].(string)
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://sync.example.com/forms/newsletter/confirm?t=") {
		t.Fatalf("confirm_url %q", link)
	}

	// Opening the link (as a mail scanner does) shows the button only.
	page, err := http.Get(e.base + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(html), `<form method="post">`) {
		t.Fatalf("confirmation page: %d %s", page.StatusCode, html)
	}
	e.waitIdle(5 * time.Second)
	if hasList(e.contact("gus@example.com"), 5) {
		t.Fatal("opening the link subscribed the contact")
	}
	resp = e.formPost(u.Path, "", "t="+url.QueryEscape(u.Query().Get("t")))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example.com/welcome" {
		t.Fatalf("confirmation: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.waitIdle(15 * time.Second)
	if c := e.contact("gus@example.com"); !hasList(c, 5) {
		t.Errorf("after confirming: lists %v, want 5", c.ListIDs)
	}
	if resp := e.formPost(u.Path, "", "t=forged."+strings.Repeat("A", 43)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged confirmation: %d, want 400", resp.StatusCode)
	}

	if resp := e.formPost("/forms/newsletter", "https://evil.example.com", "email=eve%40example.com&consent=on"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another origin: %d, want 403", resp.StatusCode)
	}
	if resp := e.formPost("/forms/newsletter", "https://shop.example.com", "email=bot%40example.com&website=http%3A%2F%2Fspam"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a filled honeypot: %d, want the same 303 as a person", resp.StatusCode)
	}
	if code, _ := e.post("/webhooks/newsletter", []byte("email=x%40example.com"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); code != http.StatusNotFound {
		t.Errorf("the form at /webhooks/: %d, want 404", code)
	}
	e.waitIdle(10 * time.Second)
	for _, email := range []string{"eve@example.com", "bot@example.com"} {
		if _, ok := e.sim.ContactByEmail(email); ok {
			t.Errorf("%s reached Brevo", email)
		}
	}
	codes := []int{}
	for range 4 {
		codes = append(codes, e.formPost("/forms/newsletter", "https://shop.example.com", "email=hal%40example.com").StatusCode)
	}
	if codes[3] != http.StatusTooManyRequests {
		t.Errorf("posts 3 to 6 from one address: %v, want the sixth refused with 429", codes)
	}

	req, _ := http.NewRequest("OPTIONS", e.base+"/forms/newsletter", nil)
	req.Header.Set("Origin", "https://shop.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
}
