package brevosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
)

const key = "xkeysib-test"

type sim struct {
	*brevosim.Server
	t   testing.TB
	url string
	v   *brevospec.Validator
}

// mustSim starts a simulator that validates requests against the spec and
// fails tb at cleanup if any request broke it.
func mustSim(tb testing.TB, o brevosim.Options) *sim {
	tb.Helper()
	v := brevospec.Load(tb)
	o.APIKey, o.Validate = key, v.Validate
	s := brevosim.New(o)
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if got := s.Violations(); len(got) != 0 {
			tb.Errorf("requests the spec rejects:\n%s", strings.Join(got, "\n"))
		}
	})
	return &sim{Server: s, t: tb, url: srv.URL, v: v}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a request with the api key and checks the answer against the
// spec's response schema for its status.
func (s *sim) do(method, path, body string) answer {
	s.t.Helper()
	return s.send(method, path, body, key, true)
}

func (s *sim) send(method, path, body, apiKey string, checkAnswer bool) answer {
	s.t.Helper()
	r, err := http.NewRequest(method, s.url+"/v3"+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("content-type", "application/json")
	}
	if apiKey != "" {
		r.Header.Set("api-key", apiKey)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.raw, _ = io.ReadAll(resp.Body)
	if len(a.raw) > 0 {
		if err := json.Unmarshal(a.raw, &a.body); err != nil {
			s.t.Fatalf("%s %s: answer %s is not a JSON object", method, path, a.raw)
		}
	}
	if checkAnswer {
		if err := s.v.ValidateResponse(r, resp.StatusCode, resp.Header, a.raw); err != nil {
			s.t.Errorf("answer breaks the spec: %v", err)
		}
	}
	return a
}

func (a answer) code() string { c, _ := a.body["code"].(string); return c }

func TestServer_ValidatorCatchesBadRequest(t *testing.T) {
	t.Parallel()
	v := brevospec.Load(t)
	s := brevosim.New(brevosim.Options{Validate: v.Validate})
	srv := httptest.NewServer(s)
	defer srv.Close()
	x := &sim{Server: s, t: t, url: srv.URL, v: v}

	a := x.send("POST", "/contacts", `{"email":"a@example.com","listIds":["7"]}`, key, false)
	if a.status != 400 || a.code() != "invalid_request" {
		t.Fatalf("answer = %d %s, want 400 invalid_request", a.status, a.raw)
	}
	if got := s.Violations(); len(got) != 1 || !strings.Contains(got[0], "listIds") {
		t.Errorf("violations = %q, want one about listIds", got)
	}
	if n := len(s.Contacts()); n != 0 {
		t.Errorf("%d contacts created from an invalid request", n)
	}
}

func TestServer_Attributes(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{Attributes: []string{"FIRSTNAME", "SMS", "DOB:date", "SCORE:float", "VIP:boolean", "TAGS:multiple-choice"}})
	for _, tc := range []struct {
		name  string
		attrs string
		want  map[string]any // attributes stored
	}{
		{"Unknown", `{"NICKNAME":"Bo","FIRSTNAME":"Bob"}`, map[string]any{"FIRSTNAME": "Bob"}},
		{"Lowercase", `{"firstname":"Bob"}`, map[string]any{}},
		{"Date", `{"DOB":"2021-05-29"}`, map[string]any{"DOB": "2021-05-29"}},
		{"DateWrongForm", `{"DOB":"29/05/2021"}`, map[string]any{}},
		{"DateTimestamp", `{"DOB":"2021-05-29T10:00:00Z"}`, map[string]any{}},
		{"Float", `{"SCORE":12.5}`, map[string]any{"SCORE": 12.5}},
		{"FloatAsString", `{"SCORE":"12.5"}`, map[string]any{}},
		{"Boolean", `{"VIP":true}`, map[string]any{"VIP": true}},
		{"BooleanAsString", `{"VIP":"true"}`, map[string]any{}},
		{"TextAsNumber", `{"FIRSTNAME":5}`, map[string]any{}},
		{"MultipleChoice", `{"TAGS":["a","b"]}`, map[string]any{"TAGS": []any{"a", "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.do("POST", "/contacts", `{"ext_id":"`+tc.name+`","attributes":`+tc.attrs+`}`)
			if a.status != 201 {
				t.Fatalf("answer = %d %s, want 201", a.status, a.raw)
			}
			c, _ := s.ContactByExtID(tc.name)
			if got, _ := json.Marshal(c.Attributes); string(got) != mustJSON(t, tc.want) {
				t.Errorf("attributes = %s, want %s", got, mustJSON(t, tc.want))
			}
		})
	}

	a := s.do("POST", "/contacts/attributes/normal/NICKNAME", `{"type":"text"}`)
	if a.status != 201 {
		t.Fatalf("create attribute: %d %s", a.status, a.raw)
	}
	if a := s.do("POST", "/contacts/attributes/normal/NICKNAME", `{"type":"text"}`); a.status != 400 || a.code() != "duplicate_parameter" {
		t.Errorf("duplicate attribute: %d %s", a.status, a.raw)
	}
	s.do("PUT", "/contacts/Unknown?identifierType=ext_id", `{"attributes":{"NICKNAME":"Bo"}}`)
	if c, _ := s.ContactByExtID("Unknown"); c.Attributes["NICKNAME"] != "Bo" {
		t.Errorf("new attribute not stored: %+v", c.Attributes)
	}
	list := s.do("GET", "/contacts/attributes", "")
	if n := len(list.body["attributes"].([]any)); n != 7 {
		t.Errorf("%d attributes listed, want 7: %s", n, list.raw)
	}
}

func mustJSON(tb testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestServer_SMS(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	for i, tc := range []struct {
		sms    string
		status int
		stored string
	}{
		{"+33612345678", 201, "33612345678"},
		{"0044612345679", 201, "44612345679"},
		{"491511234567", 201, "491511234567"},
		{"+123456", 201, "123456"},
		{"12345", 400, ""},
		{"+1234567890123456", 400, ""},
		{"+33 6 12 34 56 78", 400, ""},
		{"+33-612345670", 400, ""},
		{"0033612345678", 400, ""}, // the first number, written with 00
	} {
		t.Run(tc.sms, func(t *testing.T) {
			ext := "s" + string(rune('a'+i))
			a := s.do("POST", "/contacts", `{"ext_id":"`+ext+`","attributes":{"SMS":"`+tc.sms+`"}}`)
			if a.status != tc.status {
				t.Fatalf("answer = %d %s, want %d", a.status, a.raw, tc.status)
			}
			if tc.status == 400 {
				want := "invalid_parameter"
				if i == 8 {
					want = "duplicate_parameter"
				}
				if a.code() != want {
					t.Errorf("code = %s, want %s", a.code(), want)
				}
				return
			}
			if c, _ := s.ContactByExtID(ext); c.Attributes["SMS"] != tc.stored {
				t.Errorf("SMS stored as %v, want %s", c.Attributes["SMS"], tc.stored)
			}
		})
	}
	if a := s.do("GET", "/contacts/+33612345678?identifierType=phone_id", ""); a.status != 200 || a.body["id"] != 1.0 {
		t.Errorf("get by phone: %d %s", a.status, a.raw)
	}
}

func TestServer_CreateContact(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	s.do("POST", "/contacts", `{"email":"a@example.com","ext_id":"a","attributes":{"SMS":"+33600000001"}}`)
	s.do("POST", "/contacts", `{"email":"b@example.com","ext_id":"b"}`)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		dups       string
	}{
		{"DuplicateEmail", `{"email":"A@example.com"}`, 400, "duplicate_parameter", `["email"]`},
		{"DuplicateExtID", `{"email":"c@example.com","ext_id":"a"}`, 400, "duplicate_parameter", `["ext_id"]`},
		{"UpsertBySMS", `{"attributes":{"SMS":"0033600000001","FIRSTNAME":"A"},"updateEnabled":true}`, 204, "", ""},
		{"UpsertConflict", `{"email":"a@example.com","ext_id":"b","updateEnabled":true}`, 400, "duplicate_parameter", `["ext_id"]`},
		{"Missing", `{"attributes":{"FIRSTNAME":"X"}}`, 400, "missing_parameter", ""},
		{"BadEmail", `{"email":"a@localhost"}`, 400, "invalid_parameter", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.do("POST", "/contacts", tc.body)
			if a.status != tc.status || a.code() != tc.code {
				t.Fatalf("answer = %d %s, want %d %s", a.status, a.raw, tc.status, tc.code)
			}
			if tc.dups != "" {
				md, _ := a.body["metadata"].(map[string]any)
				if got := mustJSON(t, md["duplicate_identifiers"]); got != tc.dups {
					t.Errorf("duplicate_identifiers = %s, want %s", got, tc.dups)
				}
			}
		})
	}
	if c, _ := s.ContactByEmail("a@example.com"); c.Attributes["FIRSTNAME"] != "A" {
		t.Errorf("upsert by SMS missed: %+v", c)
	}
	if n := len(s.Contacts()); n != 2 {
		t.Errorf("%d contacts, want 2", n)
	}
}

func TestServer_GetContact(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	s.do("POST", "/contacts", `{"email":"g@example.com","ext_id":"g","listIds":[4,2],"emailBlacklisted":true,"attributes":{"FIRSTNAME":"G"}}`)
	for _, path := range []string{"/contacts/g%40example.com", "/contacts/1", "/contacts/g?identifierType=ext_id", "/contacts/1?identifierType=contact_id"} {
		a := s.do("GET", path, "")
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", path, a.status, a.raw)
		}
		attrs := a.body["attributes"].(map[string]any)
		if a.body["email"] != "g@example.com" || attrs["EXT_ID"] != "g" || attrs["FIRSTNAME"] != "G" ||
			a.body["emailBlacklisted"] != true || mustJSON(t, a.body["listIds"]) != "[2,4]" {
			t.Errorf("GET %s = %s", path, a.raw)
		}
	}
	for _, path := range []string{"/contacts/nobody%40example.com", "/contacts/g", "/contacts/2?identifierType=contact_id"} {
		if a := s.do("GET", path, ""); a.status != 404 || a.code() != "document_not_found" {
			t.Errorf("GET %s = %d %s, want 404", path, a.status, a.raw)
		}
	}
	if a := s.do("PUT", "/contacts/nobody?identifierType=ext_id", `{"attributes":{"FIRSTNAME":"N"}}`); a.status != 404 {
		t.Errorf("PUT missing = %d %s", a.status, a.raw)
	}
	if a := s.do("DELETE", "/contacts/g?identifierType=ext_id", ""); a.status != 204 {
		t.Errorf("DELETE = %d %s", a.status, a.raw)
	}
	if a := s.do("DELETE", "/contacts/g?identifierType=ext_id", ""); a.status != 404 {
		t.Errorf("DELETE again = %d %s", a.status, a.raw)
	}
}

func TestServer_AuthAndRateLimit(t *testing.T) {
	t.Parallel()
	frozen := time.Date(2026, 5, 1, 12, 0, 0, 250e6, time.UTC)
	s := mustSim(t, brevosim.Options{RateLimit: 2, Now: func() time.Time { return frozen }})

	a := s.send("GET", "/contacts/attributes", "", "xkeysib-wrong", true)
	if a.status != 401 || a.code() != "unauthorized" || a.body["message"] != "Key not found" {
		t.Errorf("wrong key: %d %s", a.status, a.raw)
	}
	for i, want := range []struct {
		status    int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		a := s.do("GET", "/contacts/attributes", "")
		h := a.header
		if a.status != want.status || h.Get("x-sib-ratelimit-limit") != "2" ||
			h.Get("x-sib-ratelimit-remaining") != want.remaining || h.Get("x-sib-ratelimit-reset") != "1" {
			t.Errorf("request %d: %d %v %s", i, a.status, h, a.raw)
		}
		if want.status == 429 && a.code() != "too_many_requests" {
			t.Errorf("429 body = %s", a.raw)
		}
	}
	if got := s.CallCount("GET", "/contacts/attributes"); got != 4 {
		t.Errorf("CallCount = %d, want 4", got)
	}
}

func TestServer_Outage(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	s.SetOutage(brevosim.Outage500)
	if a := s.do("POST", "/contacts", `{"ext_id":"o"}`); a.status != 500 || a.body["message"] == nil {
		t.Errorf("outage: %d %s", a.status, a.raw)
	}
	s.SetOutage(brevosim.OutageNone)
	if a := s.do("POST", "/contacts", `{"ext_id":"o"}`); a.status != 201 {
		t.Errorf("after outage: %d %s", a.status, a.raw)
	}
}

func TestServer_ConcurrentUpsert(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{})
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			statuses <- s.do("POST", "/contacts", `{"email":"same@example.com","updateEnabled":true}`).status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[201] != 1 || count[204] != 19 || len(s.Contacts()) != 1 {
		t.Errorf("statuses %v, %d contacts; want one 201, nineteen 204, one contact", count, len(s.Contacts()))
	}
}
