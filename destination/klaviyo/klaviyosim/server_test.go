package klaviyosim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/klaviyo/klaviyospec"
)

const key = "pk_test_SECRET"

// env is a simulator behind httptest whose requests and answers are both
// checked against the vendored spec.
type env struct {
	sim *klaviyosim.Server
	url string
}

func mustEnv(t *testing.T, o klaviyosim.Options) *env {
	t.Helper()
	v := klaviyospec.Load(t)
	o.APIKey, o.Validate = key, v.Validate
	sim := klaviyosim.New(o)
	var mu sync.Mutex
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r.Clone(r.Context()))
		if rec.Code/100 == 2 {
			if err := v.ValidateResponse(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
				mu.Lock()
				bad = append(bad, err.Error())
				mu.Unlock()
			}
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if len(bad) > 0 {
			t.Errorf("answers the spec rejects:\n%s", strings.Join(bad, "\n"))
		}
	})
	return &env{sim: sim, url: srv.URL}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a request with good headers; hdr overrides them ("" deletes).
func (e *env) do(t *testing.T, method, path, body string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Klaviyo-API-Key "+key)
	req.Header.Set("revision", "2026-07-15")
	req.Header.Set("Accept", "application/vnd.api+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/vnd.api+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		_ = json.Unmarshal(data, &a.body)
	}
	return a
}

func errCode(a answer) string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	m, _ := errs[0].(map[string]any)
	s, _ := m["code"].(string)
	return s
}

func upsert(attrs string) string {
	return `{"data":{"type":"profile","attributes":` + attrs + `}}`
}

func subscribeBody(email, list string, extra string) string {
	rel := ""
	if list != "" {
		rel = `,"relationships":{"list":{"data":{"type":"list","id":"` + list + `"}}}`
	}
	return `{"data":{"type":"profile-subscription-bulk-create-job","attributes":{` + extra + `"profiles":{"data":[{"type":"profile","attributes":{"email":"` + email +
		`","subscriptions":{"email":{"marketing":{"consent":"SUBSCRIBED"}}}}}]}}` + rel + `}}`
}

func unsubscribeBody(email, list string) string {
	rel := ""
	if list != "" {
		rel = `,"relationships":{"list":{"data":{"type":"list","id":"` + list + `"}}}`
	}
	return `{"data":{"type":"profile-subscription-bulk-delete-job","attributes":{"profiles":{"data":[{"type":"profile","attributes":{"email":"` + email +
		`","subscriptions":{"email":{"marketing":{"consent":"UNSUBSCRIBED"}}}}}]}}` + rel + `}}`
}

func TestServer_Requests(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		wantStatus               int
		wantCode                 string
	}{
		{"NoKey", "GET", "/api/profiles", "", []string{"Authorization", ""}, 401, "not_authenticated"},
		{"WrongKey", "GET", "/api/profiles", "", []string{"Authorization", "Klaviyo-API-Key other"}, 401, "authentication_failed"},
		{"BearerScheme", "GET", "/api/profiles", "", []string{"Authorization", "Bearer " + key}, 401, "not_authenticated"},
		{"NoRevision", "GET", "/api/profiles", "", []string{"revision", ""}, 400, "invalid"},
		{"JSONContentType", "POST", "/api/profile-import", upsert(`{"email":"a@example.com"}`), []string{"Content-Type", "application/json"}, 415, "unsupported_media_type"},
		{"Create", "POST", "/api/profile-import", upsert(`{"email":"a@example.com","properties":{"Anything At All":[1,"x"]}}`), nil, 201, ""},
		{"InvalidEmail", "POST", "/api/profile-import", upsert(`{"email":"not-an-email"}`), nil, 400, "invalid"},
		{"InvalidPhone", "POST", "/api/profile-import", upsert(`{"phone_number":"0612345678"}`), nil, 400, "invalid"},
		{"NoIdentifier", "POST", "/api/profile-import", upsert(`{"first_name":"Ann"}`), nil, 400, "invalid"},
		{"UnknownListGet", "GET", "/api/lists/Nope12", "", nil, 404, "not_found"},
		{"UnknownFilter", "GET", `/api/profiles?filter=greater-than(created,2024-01-01T00:00:00Z)`, "", nil, 400, "invalid"},
		{"ConsentedAtWithoutHistorical", "POST", "/api/profile-subscription-bulk-create-jobs",
			strings.Replace(subscribeBody("a@example.com", "", ""), `"SUBSCRIBED"`, `"SUBSCRIBED","consented_at":"2024-01-01T00:00:00Z"`, 1), nil, 400, "invalid"},
		{"HistoricalWithoutConsentedAt", "POST", "/api/profile-subscription-bulk-create-jobs", subscribeBody("a@example.com", "", `"historical_import":true,`), nil, 400, "invalid"},
		{"DeletionTwoIdentifiers", "POST", "/api/data-privacy-deletion-jobs",
			`{"data":{"type":"data-privacy-deletion-job","attributes":{"profile":{"data":{"type":"profile","id":"X","attributes":{"email":"a@example.com"}}}}}}`, nil, 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEnv(t, klaviyosim.Options{})
			a := e.do(t, tt.method, tt.path, tt.body, tt.hdr...)
			if a.status != tt.wantStatus || errCode(a) != tt.wantCode {
				t.Fatalf("answer %d %q (%v), want %d %q", a.status, errCode(a), a.body, tt.wantStatus, tt.wantCode)
			}
			if a.status >= 400 && a.header.Get("Content-Type") != "application/vnd.api+json" {
				t.Errorf("error Content-Type %q, want application/vnd.api+json", a.header.Get("Content-Type"))
			}
		})
	}
}

func TestServer_ProfileImport(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{})
	a := e.do(t, "POST", "/api/profile-import", upsert(`{"email":"ann@example.com","external_id":"c1","first_name":"Ann","location":{"city":"Lyon"},"properties":{"Tier":"gold","Old":1}}`))
	if a.status != 201 {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	id := a.body["data"].(map[string]any)["id"].(string)

	t.Run("UpdateByExternalID", func(t *testing.T) {
		a := e.do(t, "POST", "/api/profile-import", `{"data":{"type":"profile","attributes":{"external_id":"c1","first_name":null,"properties":{"Tier":"silver"}},"meta":{"patch_properties":{"unset":["Old"]}}}}`)
		if a.status != 200 {
			t.Fatalf("update: %d %v", a.status, a.body)
		}
		p, _ := e.sim.Profile("c1")
		if p.ID != id || p.Attributes["first_name"] != "" || p.Properties["Tier"] != "silver" || p.Properties["Old"] != nil || p.Location["city"] != "Lyon" {
			t.Fatalf("profile after update = %+v", p)
		}
	})
	t.Run("FilterByEmailCaseInsensitive", func(t *testing.T) {
		a := e.do(t, "GET", `/api/profiles?filter=equals(email,"ANN@example.com")&additional-fields[profile]=subscriptions`, "")
		data, _ := a.body["data"].([]any)
		if a.status != 200 || len(data) != 1 {
			t.Fatalf("filter: %d %v", a.status, a.body)
		}
		subs := data[0].(map[string]any)["attributes"].(map[string]any)["subscriptions"].(map[string]any)
		if got := subs["email"].(map[string]any)["marketing"].(map[string]any)["consent"]; got != "NEVER_SUBSCRIBED" {
			t.Fatalf("consent %v, want NEVER_SUBSCRIBED", got)
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		other := e.sim.PutProfile(klaviyosim.Profile{Email: "bob@example.com"})
		a := e.do(t, "POST", "/api/profile-import", upsert(`{"external_id":"c1","email":"bob@example.com"}`))
		errs, _ := a.body["errors"].([]any)
		if a.status != 409 || errCode(a) != "duplicate_profile" || len(errs) != 1 {
			t.Fatalf("answer %d %v, want 409 duplicate_profile", a.status, a.body)
		}
		if got := errs[0].(map[string]any)["meta"].(map[string]any)["duplicate_profile_id"]; got != id && got != other {
			t.Fatalf("duplicate_profile_id %v names neither profile", got)
		}
	})
	t.Run("GetByID", func(t *testing.T) {
		if a := e.do(t, "GET", "/api/profiles/"+id+"?additional-fields[profile]=subscriptions", ""); a.status != 200 {
			t.Fatalf("get: %d %v", a.status, a.body)
		}
		if a := e.do(t, "GET", "/api/profiles/01NOPE", ""); a.status != 404 || errCode(a) != "not_found" {
			t.Fatalf("get missing: %d %v", a.status, a.body)
		}
	})
}

func TestServer_Consent(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{Lists: []string{"Y6nRLr"}})
	if a := e.do(t, "POST", "/api/profile-subscription-bulk-create-jobs", subscribeBody("ann@example.com", "Y6nRLr", "")); a.status != 202 {
		t.Fatalf("subscribe: %d %v", a.status, a.body)
	}
	p, ok := e.sim.Profile("ann@example.com")
	if !ok || p.EmailConsent != "SUBSCRIBED" || len(e.sim.ListMembers("Y6nRLr")) != 1 {
		t.Fatalf("after subscribe: %+v members %v", p, e.sim.ListMembers("Y6nRLr"))
	}
	// With the list, a member is unsubscribed from that list only.
	if a := e.do(t, "POST", "/api/profile-subscription-bulk-delete-jobs", unsubscribeBody("ann@example.com", "Y6nRLr")); a.status != 202 {
		t.Fatalf("list unsubscribe: %d %v", a.status, a.body)
	}
	if p, _ = e.sim.Profile("ann@example.com"); p.EmailConsent != "SUBSCRIBED" || len(e.sim.ListMembers("Y6nRLr")) != 0 || len(p.ListSuppressions) != 1 {
		t.Fatalf("after list unsubscribe: %+v", p)
	}
	// Without a list, it is global.
	e.do(t, "POST", "/api/profile-subscription-bulk-delete-jobs", unsubscribeBody("ann@example.com", ""))
	if p, _ = e.sim.Profile("ann@example.com"); p.EmailConsent != "UNSUBSCRIBED" || len(p.Suppressions) != 1 {
		t.Fatalf("after global unsubscribe: %+v", p)
	}
	// A subscribe lifts the UNSUBSCRIBE suppression, as Klaviyo documents,
	// but not a hard bounce.
	e.sim.Suppress("ann@example.com", "HARD_BOUNCE")
	e.do(t, "POST", "/api/profile-subscription-bulk-create-jobs", subscribeBody("ann@example.com", "", ""))
	if p, _ = e.sim.Profile("ann@example.com"); p.EmailConsent != "SUBSCRIBED" || len(p.Suppressions) != 1 || p.Suppressions[0].Reason != "HARD_BOUNCE" {
		t.Fatalf("after resubscribe: %+v", p)
	}
	if !e.sim.UnsubscribeInKlaviyo("ann@example.com") {
		t.Fatal("UnsubscribeInKlaviyo found no profile")
	}
	if p, _ = e.sim.Profile("ann@example.com"); p.EmailConsent != "UNSUBSCRIBED" {
		t.Fatalf("after UnsubscribeInKlaviyo: %+v", p)
	}
	if n := len(e.sim.Jobs()); n != 4 {
		t.Fatalf("%d jobs recorded, want 4", n)
	}
}

func TestServer_ListsAndDeletion(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{Lists: []string{"Y6nRLr"}})
	id := e.sim.PutProfile(klaviyosim.Profile{Email: "ann@example.com"})
	members := `{"data":[{"type":"profile","id":"` + id + `"}]}`
	if a := e.do(t, "GET", "/api/lists/Y6nRLr", ""); a.status != 200 {
		t.Fatalf("get list: %d %v", a.status, a.body)
	}
	if a := e.do(t, "POST", "/api/lists/Y6nRLr/relationships/profiles", members); a.status != 204 || len(e.sim.ListMembers("Y6nRLr")) != 1 {
		t.Fatalf("add: %d %v", a.status, a.body)
	}
	if a := e.do(t, "DELETE", "/api/lists/Y6nRLr/relationships/profiles", members); a.status != 204 || len(e.sim.ListMembers("Y6nRLr")) != 0 {
		t.Fatalf("remove: %d %v", a.status, a.body)
	}
	del := `{"data":{"type":"data-privacy-deletion-job","attributes":{"profile":{"data":{"type":"profile","attributes":{"email":"ann@example.com"}}}}}}`
	if a := e.do(t, "POST", "/api/data-privacy-deletion-jobs", del); a.status != 202 {
		t.Fatalf("delete: %d %v", a.status, a.body)
	}
	if _, ok := e.sim.Profile(id); ok || len(e.sim.DeletionJobs()) != 1 || e.sim.DeletionJobs()[0].Deleted != 1 {
		t.Fatalf("profile still there, or jobs %+v", e.sim.DeletionJobs())
	}
}

func TestServer_RateLimit(t *testing.T) {
	now := time.Date(2026, 7, 20, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := mustEnv(t, klaviyosim.Options{Now: clock, Limits: map[string]klaviyosim.Limit{"profiles": {Burst: 2, Steady: 3}}})
	want := []struct {
		status    int
		remaining string
	}{{200, "2"}, {200, "1"}, {429, ""}}
	for i, w := range want {
		a := e.do(t, "GET", "/api/profiles", "")
		if a.status != w.status || a.header.Get("RateLimit-Remaining") != w.remaining {
			t.Fatalf("request %d: %d remaining %q, want %d %q", i, a.status, a.header.Get("RateLimit-Remaining"), w.status, w.remaining)
		}
		if a.status == 429 && (a.header.Get("Retry-After") != "1" || a.header.Get("RateLimit-Limit") != "" || errCode(a) != "throttled") {
			t.Fatalf("429 headers %v code %q: want Retry-After 1 and no RateLimit-*", a.header, errCode(a))
		}
	}
	mu.Lock()
	now = now.Add(time.Second) // a new burst window; the steady one has 1 left
	mu.Unlock()
	if a := e.do(t, "GET", "/api/profiles", ""); a.status != 200 || a.header.Get("RateLimit-Remaining") != "0" || a.header.Get("RateLimit-Reset") != "59" {
		t.Fatalf("after burst reset: %d %v", a.status, a.header)
	}
	if a := e.do(t, "GET", "/api/profiles", ""); a.status != 429 || a.header.Get("Retry-After") != "59" {
		t.Fatalf("steady exhausted: %d Retry-After %q, want 429 59", a.status, a.header.Get("Retry-After"))
	}
	if a := e.do(t, "GET", "/api/lists/Nope12", ""); a.status != 404 {
		t.Fatalf("another bucket is not limited: %d", a.status)
	}
}

func TestServer_Outage(t *testing.T) {
	for _, m := range []klaviyosim.Outage{klaviyosim.Outage500, klaviyosim.OutageDrop} {
		e := mustEnv(t, klaviyosim.Options{})
		e.sim.SetOutage(m)
		req, _ := http.NewRequest("GET", e.url+"/api/profiles", nil)
		req.Header.Set("Authorization", "Klaviyo-API-Key "+key)
		req.Header.Set("revision", "2026-07-15")
		resp, err := http.DefaultClient.Do(req)
		switch m {
		case klaviyosim.Outage500:
			if err != nil || resp.StatusCode != 500 {
				t.Fatalf("Outage500: %v %v", resp, err)
			}
			resp.Body.Close()
		case klaviyosim.OutageDrop:
			if err == nil {
				resp.Body.Close()
				t.Fatalf("OutageDrop answered %d", resp.StatusCode)
			}
		}
		if c := e.sim.Calls(); len(c) != 1 || c[0].Path != "/api/profiles" {
			t.Fatalf("calls %+v", c)
		}
	}
}
