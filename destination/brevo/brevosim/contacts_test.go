package brevosim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// clock is a test clock safe for the server's goroutines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func listedIDs(t *testing.T, a answer) []float64 {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("GET /contacts = %d %s", a.status, a.raw)
	}
	var ids []float64
	for _, c := range a.body["contacts"].([]any) {
		ids = append(ids, c.(map[string]any)["id"].(float64))
	}
	return ids
}

func TestServer_ContactList(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := mustSim(t, brevosim.Options{Now: clk.Now})
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		if a := s.do("POST", "/contacts", `{"email":"`+e+`","listIds":[7]}`); a.status != 201 {
			t.Fatalf("create %s: %d %s", e, a.status, a.raw)
		}
		clk.Add(time.Second)
	}
	since := url.QueryEscape(clk.Now().Format(time.RFC3339))
	clk.Add(time.Second)
	s.do("PUT", "/contacts/c@example.com", `{"attributes":{"FIRSTNAME":"Cy"}}`)
	clk.Add(time.Second)
	if err := s.UnsubscribeSilently("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.UnsubscribeSilently("nobody@example.com"); err == nil {
		t.Error("UnsubscribeSilently of a missing contact: no error")
	}

	if got := listedIDs(t, s.do("GET", "/contacts", "")); len(got) != 4 || got[0] != 4 {
		t.Errorf("default order %v, want the 4 contacts newest created first", got)
	}
	a := s.do("GET", "/contacts?sort=asc&modifiedSince="+since, "")
	if got := listedIDs(t, a); len(got) != 2 || got[0] != 1 || got[1] != 3 || a.body["count"] != float64(2) {
		t.Fatalf("modified since %s: %s, want a then c (creation order), count 2", since, a.raw)
	}
	first := a.body["contacts"].([]any)[0].(map[string]any)
	if first["emailBlacklisted"] != true || first["modifiedAt"] != "2026-05-01T12:00:06.000Z" || first["createdAt"] != "2026-05-01T12:00:00.000Z" {
		t.Errorf("a silently unsubscribed: %v, want blocklisted, modified at the unsubscribe", first)
	}
	if date, err := http.ParseTime(a.header.Get("Date")); err != nil || !date.Equal(clk.Now().Truncate(time.Second)) {
		t.Errorf("Date %q, want the simulator's clock", a.header.Get("Date"))
	}
	if len(s.Webhooks()) != 0 {
		t.Error("webhooks appeared")
	}

	a = s.do("GET", "/contacts?sort=asc&limit=2&offset=1", "")
	if got := listedIDs(t, a); len(got) != 2 || got[0] != 2 || got[1] != 3 || a.body["count"] != float64(4) {
		t.Errorf("limit 2 offset 1: %s, want b and c, count 4", a.raw)
	}
	if got := listedIDs(t, s.do("GET", "/contacts?offset=9", "")); len(got) != 0 {
		t.Errorf("past the end: %v", got)
	}
	if got := listedIDs(t, s.do("GET", "/contacts?modifiedSince=2026-05-01T12:00:05", "")); len(got) != 1 || got[0] != 1 {
		t.Errorf("a time without a zone is UTC: %v, want a alone", got)
	}

}

// TestServer_ContactListErrors runs without the spec check, which refuses
// some of these before the simulator's own checks.
func TestServer_ContactListErrors(t *testing.T) {
	t.Parallel()
	s := brevosim.New(brevosim.Options{APIKey: key})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	x := &sim{Server: s, t: t, url: srv.URL}
	for _, q := range []string{"limit=1001", "limit=x", "offset=-1", "sort=up", "modifiedSince=yesterday", "listIds=7"} {
		if a := x.send("GET", "/contacts?"+q, "", key, false); a.status != 400 {
			t.Errorf("?%s: %d %s, want 400", q, a.status, a.raw)
		}
	}
}

// TestServer_BlocklistSetsModifiedAt: Blocklist, like every write, moves
// the contact's modifiedAt, so a read by modifiedSince finds it.
func TestServer_BlocklistSetsModifiedAt(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := mustSim(t, brevosim.Options{Now: clk.Now})
	s.do("POST", "/contacts", `{"email":"a@example.com"}`)
	clk.Add(time.Minute)
	if !s.Blocklist("a@example.com") {
		t.Fatal("Blocklist: no contact")
	}
	if c, _ := s.ContactByEmail("a@example.com"); !c.EmailBlacklisted || !c.ModifiedAt.Equal(clk.Now()) {
		t.Errorf("after Blocklist %+v", c)
	}
}
