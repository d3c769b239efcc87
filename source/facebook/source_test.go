package facebook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/facebook"
	"synclayer/source/facebook/graphsim"
	"synclayer/source/sourcetest"
)

const appSecret = "fb-app-secret"

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func open(t testing.TB, graphURL string) synclayer.Source {
	t.Helper()
	section, _ := json.Marshal(map[string]any{"verify_token": "meatyhamhock", "page_access_token": "page-token", "graph_url": graphURL})
	src, err := facebook.Type.Open([]string{appSecret}, synclayer.SourceSettings{Name: "facebook", Section: section})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestChallenge: Facebook's check of the URL is answered with
// hub.challenge only for the configured verify token.
func TestChallenge(t *testing.T) {
	c := open(t, "https://graph.facebook.com").(synclayer.Challenger)
	got, err := c.Challenge(url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"meatyhamhock"}, "hub.challenge": {"1158201444"}})
	if err != nil || got != "1158201444" {
		t.Fatalf("Challenge = %q, %v", got, err)
	}
	if _, err := c.Challenge(url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"wrong"}, "hub.challenge": {"1"}}); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
		t.Errorf("wrong verify token: %v", err)
	}
}

// TestParse: a signed leadgen notification gives one notification event
// per lead, keyed by the lead; other fields give nothing; a missing or
// wrong X-Hub-Signature-256 is refused.
func TestParse(t *testing.T) {
	src := open(t, "https://graph.facebook.com")
	body := graphsim.Notification("153125381133", "444444444444", "555", 1763632800)
	h := http.Header{"X-Hub-Signature-256": {graphsim.Sign(appSecret, body)}}
	evs, err := src.Parse(h, body, now)
	if err != nil || len(evs) != 1 || evs[0].Fetch == nil || evs[0].Fetch.ID != "444444444444" || evs[0].DedupeKey != "leadgen|444444444444" {
		t.Fatalf("Parse = %+v, %v", evs, err)
	}
	// The documented scheme: sha256=<hex HMAC-SHA256 of the body>, pinned
	// with a value computed independently (Python's hmac).
	if got := graphsim.Sign("my-app-secret", []byte(`{"object":"page"}`)); got != "sha256=03eaf2a62777856c3decff34accb842d667c7add2d780bba1cce8aa2ab24a5cb" {
		t.Errorf("Sign = %s", got)
	}
	for name, h := range map[string]http.Header{"missing": {}, "wrong": {"X-Hub-Signature-256": {graphsim.Sign("other", body)}}, "sha1": {"X-Hub-Signature-256": {"sha1=abc"}}} {
		if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Errorf("%s signature: %v, want EUNAUTHORIZED", name, err)
		}
	}
	feed := []byte(`{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{}}]}]}`)
	if evs, err := src.Parse(http.Header{"X-Hub-Signature-256": {graphsim.Sign(appSecret, feed)}}, feed, now); err != nil || len(evs) != 0 {
		t.Errorf("a feed change: %v, %v; want nothing", evs, err)
	}
	bad := []byte(`{"object":"page","entry":[{"changes":[{"field":"leadgen","value":{"leadgen_id":{"x":1}}}]}]}`)
	_, err = src.Parse(http.Header{"X-Hub-Signature-256": {graphsim.Sign(appSecret, bad)}}, bad, now)
	if e := sourcetest.AsError(t, err); e.Field != "entry[0].changes[0].value.leadgen_id" {
		t.Errorf("bad leadgen_id: %v", err)
	}
}

// TestFetch: the lead's answers are read with the Page token and become
// a form_submitted lead; Graph's errors classify: a rate limit waits, a
// refused token or a deleted lead is permanent, an outage is retried.
func TestFetch(t *testing.T) {
	sim := graphsim.New("page-token")
	hs := httptest.NewServer(sim)
	defer hs.Close()
	sim.AddLead(graphsim.Lead{ID: "444", CreatedTime: "2026-11-20T09:59:00+0000", FormID: "555", FieldData: []graphsim.Field{
		{Name: "email", Values: []string{"Lea@Example.com"}}, {Name: "first_name", Values: []string{"Lea"}}, {Name: "budget", Values: []string{"5k"}}}})
	f := open(t, hs.URL).(synclayer.Fetcher)
	evs, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: "lead", ID: "444"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("Fetch = %v, %v", evs, err)
	}
	a := evs[0].Activity
	if a.Kind != synclayer.EventFormSubmitted || string(a.Customer.Fields["email"]) != `"Lea@Example.com"` || string(a.Fields["budget"]) != `"5k"` ||
		!evs[0].OccurredAt.Equal(time.Date(2026, 11, 20, 9, 59, 0, 0, time.UTC)) {
		t.Errorf("lead %+v %+v at %v", a.Customer, a.Fields, evs[0].OccurredAt)
	}
	sim.RateLimitNext(1)
	var ra *synclayer.RetryAfterError
	if _, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: "lead", ID: "444"}); !errors.As(err, &ra) {
		t.Errorf("rate limited: %v, want a wait", err)
	}
	sim.FailNext(1)
	var perm *synclayer.PermanentError
	if _, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: "lead", ID: "444"}); err == nil || errors.As(err, &perm) {
		t.Errorf("an outage: %v, want a retryable error", err)
	}
	if _, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: "lead", ID: "999"}); !errors.As(err, &perm) || !strings.Contains(err.Error(), "no longer exists") {
		t.Errorf("a deleted lead: %v, want permanent", err)
	}
	section, _ := json.Marshal(map[string]any{"verify_token": "v", "page_access_token": "stale-page-token-xyz", "graph_url": hs.URL})
	other, _ := facebook.Type.Open([]string{appSecret}, synclayer.SourceSettings{Section: section})
	if _, err := other.(synclayer.Fetcher).Fetch(context.Background(), synclayer.FetchRef{Kind: "lead", ID: "444"}); !errors.As(err, &perm) || !strings.Contains(err.Error(), "page_access_token") || strings.Contains(err.Error(), "stale-page-token-xyz") {
		t.Errorf("a refused token: %v, want permanent naming the setting and not the token", err)
	}
}

// FuzzParse: a signed body gives notifications or an EINVALID error.
func FuzzParse(f *testing.F) {
	f.Add(graphsim.Notification("1", "2", "3", 4))
	f.Add([]byte(`{"object":"page","entry":[]}`))
	src := open(f, "https://graph.facebook.com")
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := src.Parse(http.Header{"X-Hub-Signature-256": {graphsim.Sign(appSecret, body)}}, body, now)
		if err != nil {
			sourcetest.CheckFuzzResult(t, nil, err)
			return
		}
		for _, e := range evs {
			if e.Fetch == nil || e.Fetch.ID == "" || e.DedupeKey == "" {
				t.Fatalf("notification %+v", e)
			}
		}
	})
}
