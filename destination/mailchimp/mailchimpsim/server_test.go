package mailchimpsim_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/destination/mailchimp/mailchimpspec"
)

const (
	key  = "simkey-us21"
	list = "a1b2c3d4e5"
)

type answer struct {
	Status  int
	Problem mailchimpsim.Problem
	Body    map[string]any
}

type harness struct {
	t   *testing.T
	sim *mailchimpsim.Server
	url string
}

func newHarness(t *testing.T) *harness {
	v := mailchimpspec.Load(t)
	sim := mailchimpsim.New(mailchimpsim.Options{APIKey: key, Validate: v.Validate})
	sim.AddAudience(list)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if vs := sim.Violations(); len(vs) > 0 {
			t.Errorf("spec violations:\n%s", strings.Join(vs, "\n"))
		}
	})
	return &harness{t: t, sim: sim, url: srv.URL + "/3.0"}
}

func hashOf(email string) string {
	s := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(s[:])
}

func (h *harness) do(method, path, pass string, body any) answer {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.url+path, r)
	req.SetBasicAuth("anystring", pass)
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode}
	json.Unmarshal(data, &a.Problem)
	json.Unmarshal(data, &a.Body)
	return a
}

func (h *harness) put(email string, body map[string]any) answer {
	body["email_address"] = email
	if _, ok := body["status_if_new"]; !ok {
		body["status_if_new"] = "transactional"
	}
	return h.do("PUT", "/lists/"+list+"/members/"+hashOf(email), key, body)
}

func TestServer_Auth(t *testing.T) {
	h := newHarness(t)
	a := h.do("GET", "/lists/"+list+"/merge-fields", "wrong", nil)
	if a.Status != 401 || a.Problem.Title != "API Key Invalid" || a.Problem.Type == "" || a.Problem.Instance == "" {
		t.Fatalf("answer = %+v", a)
	}
}

func TestServer_Status(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(h *harness, email string)
		body   map[string]any
		want   int
		title  string
		status string
	}{
		{"NewTakesStatusIfNew", nil, map[string]any{"status_if_new": "transactional"}, 200, "", "transactional"},
		{"NewTakesStatusOverStatusIfNew", nil, map[string]any{"status_if_new": "transactional", "status": "subscribed"}, 200, "", "subscribed"},
		{"ExistingIgnoresStatusIfNew", func(h *harness, e string) { h.sim.SignUp(list, e, "unsubscribed") },
			map[string]any{"status_if_new": "subscribed"}, 200, "", "unsubscribed"},
		{"APIUnsubscribeCanBeResubscribed", func(h *harness, e string) { h.put(e, map[string]any{"status": "unsubscribed"}) },
			map[string]any{"status": "subscribed"}, 200, "", "subscribed"},
		{"PersonUnsubscribedIsCompliance", func(h *harness, e string) { h.sim.SignUp(list, e, "subscribed"); h.sim.UnsubscribeInMailchimp(list, e) },
			map[string]any{"status": "subscribed"}, 400, "Member In Compliance State", "unsubscribed"},
		{"PersonUnsubscribedMayBePending", func(h *harness, e string) { h.sim.SignUp(list, e, "subscribed"); h.sim.UnsubscribeInMailchimp(list, e) },
			map[string]any{"status": "pending"}, 200, "", "pending"},
		{"CleanedIsCompliance", func(h *harness, e string) { h.sim.SignUp(list, e, "cleaned") },
			map[string]any{"status": "subscribed"}, 400, "Member In Compliance State", "cleaned"},
		{"ArchivedIsReAdded", func(h *harness, e string) {
			h.put(e, map[string]any{})
			h.do("DELETE", "/lists/"+list+"/members/"+hashOf(e), key, nil)
		},
			map[string]any{"status_if_new": "subscribed"}, 200, "", "subscribed"},
		{"UnknownMergeFieldRefused", nil, map[string]any{"merge_fields": map[string]any{"NOPE": "x"}}, 400, "Invalid Resource", ""},
		{"InvalidEmailRefused", nil, map[string]any{"email_address": "not-an-email"}, 400, "Invalid Resource", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			email := "ann@example.com"
			if tc.setup != nil {
				tc.setup(h, email)
			}
			var a answer
			if e, ok := tc.body["email_address"].(string); ok {
				delete(tc.body, "email_address")
				tc.body["status_if_new"] = "transactional"
				tc.body["email_address"] = e
				a = h.do("PUT", "/lists/"+list+"/members/"+hashOf(e), key, tc.body)
			} else {
				a = h.put(email, tc.body)
			}
			if a.Status != tc.want || (tc.title != "" && a.Problem.Title != tc.title) {
				t.Fatalf("answer = %+v", a)
			}
			m, ok := h.sim.MemberOf(list, email)
			if tc.status == "" {
				if ok {
					t.Fatalf("member created: %+v", m)
				}
				return
			}
			if m.Status != tc.status {
				t.Fatalf("status = %s, want %s", m.Status, tc.status)
			}
		})
	}
}

func TestServer_PermanentDelete(t *testing.T) {
	h := newHarness(t)
	email := "bo@example.com"
	h.put(email, map[string]any{})
	if a := h.do("POST", "/lists/"+list+"/members/"+hashOf(email)+"/actions/delete-permanent", key, nil); a.Status != 204 {
		t.Fatalf("delete = %+v", a)
	}
	if a := h.do("GET", "/lists/"+list+"/members/"+hashOf(email), key, nil); a.Status != 404 {
		t.Fatalf("get after delete = %+v", a)
	}
	a := h.put(email, map[string]any{"status": "subscribed"})
	if a.Status != 400 || a.Problem.Title != "Forgotten Email Not Subscribed" {
		t.Fatalf("re-add = %+v", a)
	}
}

func TestServer_ConnectionLimit(t *testing.T) {
	h := newHarness(t)
	h.sim.SetConnectionLimit(1)
	h.sim.SetLatency(200 * time.Millisecond)
	done := make(chan struct{})
	go func() { defer close(done); h.do("GET", "/lists/"+list+"/merge-fields", key, nil) }()
	time.Sleep(50 * time.Millisecond) // the first request now holds the only connection
	a := h.do("GET", "/lists/"+list+"/merge-fields", key, nil)
	if a.Status != 429 || a.Problem.Title != "Too Many Requests" {
		t.Fatalf("answer = %+v", a)
	}
	<-done
}

// TestServer_CartDelete: a cart is deleted once (204); after that, and
// for a cart the store never held, Mailchimp's 404 problem document.
func TestServer_CartDelete(t *testing.T) {
	h := newHarness(t)
	if a := h.do("POST", "/ecommerce/stores", key, map[string]any{"id": "st", "list_id": list, "name": "S", "currency_code": "EUR"}); a.Status != 200 {
		t.Fatalf("store = %+v", a)
	}
	no := false
	cart := map[string]any{"id": "k1", "currency_code": "EUR", "order_total": 0, "lines": []any{},
		"customer": map[string]any{"id": "c1", "email_address": "bo@example.com", "opt_in_status": no}}
	if a := h.do("POST", "/ecommerce/stores/st/carts", key, cart); a.Status != 200 {
		t.Fatalf("cart = %+v", a)
	}
	if a := h.do("DELETE", "/ecommerce/stores/st/carts/k1", key, nil); a.Status != 204 {
		t.Fatalf("delete = %+v", a)
	}
	for _, path := range []string{"/ecommerce/stores/st/carts/k1", "/ecommerce/stores/st/carts/never"} {
		a := h.do("DELETE", path, key, nil)
		if a.Status != 404 || a.Problem.Status != 404 || a.Problem.Title != "Resource Not Found" || a.Problem.Type == "" || a.Problem.Instance == "" {
			t.Errorf("DELETE %s = %+v", path, a)
		}
	}
	if a := h.do("GET", "/ecommerce/stores/st/carts/k1", key, nil); a.Status != 404 {
		t.Errorf("GET after delete = %+v", a)
	}
	if got := h.sim.Customers("st"); len(got) != 1 {
		t.Errorf("customers after the cart's delete: %+v, want the customer kept", got)
	}
}
