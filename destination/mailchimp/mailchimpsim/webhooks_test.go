package mailchimpsim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"synclayer/destination/mailchimp/mailchimpsim"
)

// hookReceiver answers every request 200 and keeps the deliveries' forms.
type hookReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			f, _ := url.ParseQuery(string(body))
			rc.mu.Lock()
			rc.forms = append(rc.forms, f)
			rc.mu.Unlock()
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func TestServer_Webhooks(t *testing.T) {
	h := newHarness(t)
	rc := newHookReceiver(t)
	hookURL := rc.URL + "/webhooks/mailchimp?secret=s3cret"
	a := h.do("POST", "/lists/"+list+"/webhooks", key, map[string]any{"url": hookURL,
		"events":  map[string]bool{"unsubscribe": true, "upemail": true, "profile": true},
		"sources": map[string]bool{"user": true}})
	if a.Status != 200 || a.Body["id"] != "sim1" || a.Body["url"] != hookURL {
		t.Fatalf("create = %+v", a)
	}
	if a := h.do("POST", "/lists/nope/webhooks", key, map[string]any{"url": hookURL}); a.Status != 404 {
		t.Fatalf("create on a missing audience = %+v", a)
	}
	h.sim.SignUp(list, "ann@example.com", "subscribed")

	t.Run("SourceDecides", func(t *testing.T) {
		// An admin's profile edit reaches no webhook that takes only the
		// member's own changes; the member's unsubscribe does.
		if err := h.sim.EditProfile(list, "ann@example.com", map[string]string{"FNAME": "Ann"}); err == nil {
			t.Fatal("EditProfile (admin) was delivered to a webhook of source user only")
		}
		if err := h.sim.Unsubscribe(list, "ann@example.com", "c1"); err != nil {
			t.Fatalf("Unsubscribe: %v", err)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.forms) != 1 {
			t.Fatalf("%d deliveries", len(rc.forms))
		}
		f := rc.forms[0]
		if f.Get("type") != "unsubscribe" || f.Get("data[email]") != "ann@example.com" || f.Get("data[action]") != "unsub" ||
			f.Get("data[campaign_id]") != "c1" || f.Get("data[list_id]") != list || f.Get("data[merges][FNAME]") != "Ann" || len(f.Get("fired_at")) != 19 {
			t.Errorf("form %v", f)
		}
	})

	t.Run("PatchChangesWhatItSends", func(t *testing.T) {
		a := h.do("PATCH", "/lists/"+list+"/webhooks/sim1", key, map[string]any{"sources": map[string]bool{"user": false, "admin": true}})
		hooks := h.sim.Webhooks(list)
		if a.Status != 200 || len(hooks) != 1 || hooks[0].URL != hookURL || hooks[0].Sources["user"] || !hooks[0].Sources["admin"] || !hooks[0].Events["upemail"] {
			t.Fatalf("patch = %+v, webhooks %+v", a, hooks)
		}
		if err := h.sim.ChangeEmail(list, "ann@example.com", "ann@example.org"); err != nil {
			t.Fatalf("ChangeEmail: %v", err)
		}
		if _, ok := h.sim.MemberOf(list, "ann@example.org"); !ok {
			t.Error("the member did not move to the new address")
		}
		if _, ok := h.sim.MemberOf(list, "ann@example.com"); ok {
			t.Error("the old address is still a member")
		}
		d := h.sim.Deliveries()
		if last := d[len(d)-1]; last.Status != 200 || last.Form.Get("data[old_email]") != "ann@example.com" || last.Form.Get("data[new_email]") != "ann@example.org" {
			t.Errorf("delivery %+v", last)
		}
	})

	t.Run("URLMustAnswerGET", func(t *testing.T) {
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.Header.Get("User-Agent") == mailchimpsim.ValidatorAgent {
				w.WriteHeader(http.StatusMethodNotAllowed)
			}
		}))
		defer down.Close()
		a := h.do("POST", "/lists/"+list+"/webhooks", key, map[string]any{"url": down.URL + "/webhooks/x"})
		if a.Status != 400 || a.Problem.Title != "Invalid Resource" || len(a.Problem.Errors) != 1 || a.Problem.Errors[0].Field != "url" {
			t.Fatalf("create = %+v", a)
		}
		a = h.do("PATCH", "/lists/"+list+"/webhooks/sim1", key, map[string]any{"url": down.URL + "/webhooks/x"})
		if a.Status != 400 || len(h.sim.Webhooks(list)) != 1 || h.sim.Webhooks(list)[0].URL != hookURL {
			t.Fatalf("patch = %+v: the webhook must keep its URL", a)
		}
		if a := h.do("GET", "/lists/"+list+"/webhooks", key, nil); a.Status != 200 || a.Body["total_items"] != float64(1) {
			t.Fatalf("list = %+v, want the one webhook kept", a)
		}
	})
}
