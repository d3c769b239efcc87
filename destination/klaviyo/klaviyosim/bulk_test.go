package klaviyosim_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer/destination/klaviyo/klaviyosim"
)

func bulkBody(list string, profiles ...string) string {
	rel := ""
	if list != "" {
		rel = `,"relationships":{"lists":{"data":[{"type":"list","id":"` + list + `"}]}}`
	}
	return `{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[` + strings.Join(profiles, ",") + `]}}` + rel + `}}`
}

func bulkProfile(attrs string) string { return `{"type":"profile","attributes":` + attrs + `}` }

func jobID(t *testing.T, a answer) string {
	t.Helper()
	d, _ := a.body["data"].(map[string]any)
	id, _ := d["id"].(string)
	if a.status != 202 || id == "" {
		t.Fatalf("create job: %d %v", a.status, a.body)
	}
	return id
}

func attr(a answer, k string) any {
	d, _ := a.body["data"].(map[string]any)
	at, _ := d["attributes"].(map[string]any)
	return at[k]
}

func TestServer_BulkImport(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{Lists: []string{"Y6nRLr"}})
	e.do(t, "POST", "/api/profile-import", upsert(`{"email":"old@example.com","first_name":"Old","last_name":"Name"}`))
	e.do(t, "POST", "/api/profile-subscription-bulk-create-jobs", subscribeBody("old@example.com", "", ""))
	before, _ := e.sim.Profile("old@example.com")

	a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("Y6nRLr",
		bulkProfile(`{"email":"new@example.com","external_id":"c1","properties":{"Tier":"gold"}}`),
		bulkProfile(`{"email":"old@example.com","first_name":null,"last_name":"New","properties":{"Tier":null,"Orders":2}}`),
		bulkProfile(`{"email":"bad@localhost"}`),
		bulkProfile(`{"email":"sub@example.com","subscriptions":{"email":{"marketing":{"consent":"SUBSCRIBED"}}}}`),
	))
	id := jobID(t, a)
	if attr(a, "status") != "queued" || attr(a, "total_count") != float64(4) {
		t.Fatalf("created %v", a.body)
	}
	if _, ok := e.sim.Profile("new@example.com"); ok {
		t.Fatal("the job ran before it was read")
	}
	g := e.do(t, "GET", "/api/profile-bulk-import-jobs/"+id, "")
	if g.status != 200 || attr(g, "status") != "complete" || attr(g, "completed_count") != float64(2) || attr(g, "failed_count") != float64(2) {
		t.Fatalf("job %d %v", g.status, g.body)
	}
	p, ok := e.sim.Profile("c1")
	if !ok || p.Email != "new@example.com" || p.Properties["Tier"] != "gold" || p.EmailConsent != "NEVER_SUBSCRIBED" {
		t.Fatalf("new profile %+v", p)
	}
	old, _ := e.sim.Profile("old@example.com")
	if old.Attributes["first_name"] != "Old" || old.Attributes["last_name"] != "New" || old.Properties["Orders"] != float64(2) {
		t.Errorf("null cleared a field, or the update was lost: %+v", old)
	}
	if old.EmailConsent != "SUBSCRIBED" || !old.ConsentAt.Equal(before.ConsentAt) {
		t.Errorf("consent %s at %v, was %s at %v", old.EmailConsent, old.ConsentAt, before.EmailConsent, before.ConsentAt)
	}
	if m := e.sim.ListMembers("Y6nRLr"); len(m) != 2 || !strings.Contains(fmt.Sprint(m), p.ID) {
		t.Errorf("list members %v, want the old and new profiles", m)
	}
	if _, ok := e.sim.Profile("sub@example.com"); ok {
		t.Error("a profile with subscriptions was imported")
	}

	errs := e.do(t, "GET", "/api/profile-bulk-import-jobs/"+id+"/import-errors?page[size]=1", "")
	data, _ := errs.body["data"].([]any)
	links, _ := errs.body["links"].(map[string]any)
	next, _ := links["next"].(string)
	if errs.status != 200 || len(data) != 1 || !strings.Contains(next, "page%5Bcursor%5D=1") {
		t.Fatalf("import errors page 1: %d %v", errs.status, errs.body)
	}
	first := data[0].(map[string]any)["attributes"].(map[string]any)
	if src := first["source"].(map[string]any); src["pointer"] != "/data/attributes/profiles/data/2/attributes/email" ||
		first["original_payload"].(map[string]any)["email"] != "bad@localhost" {
		t.Errorf("import error %v", first)
	}
	errs = e.do(t, "GET", "/api/profile-bulk-import-jobs/"+id+"/import-errors?page[size]=1&page[cursor]=1", "")
	data, _ = errs.body["data"].([]any)
	if len(data) != 1 || !strings.Contains(fmt.Sprint(data), "/data/attributes/profiles/data/3/attributes/subscriptions") {
		t.Fatalf("import errors page 2: %v", errs.body)
	}
	jobs := e.sim.BulkJobs()
	if len(jobs) != 1 || jobs[0].Failed != 2 || jobs[0].Errors[0].Index != 2 || jobs[0].Errors[1].Email != "sub@example.com" {
		t.Fatalf("BulkJobs %+v", jobs)
	}
	if a := e.do(t, "GET", "/api/profile-bulk-import-jobs/01NOPE", ""); a.status != 404 {
		t.Errorf("unknown job: %d", a.status)
	}
}

func TestServer_BulkImportLimits(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{})
	one := bulkProfile(`{"email":"a@example.com"}`)
	many := make([]string, 10001)
	for i := range many {
		many[i] = one
	}
	if a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("", many...)); a.status != 400 || errCode(a) != "invalid" {
		t.Fatalf("10,001 profiles: %d %v", a.status, a.body["errors"])
	}
	if a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("", many[:10000]...)); a.status != 202 {
		t.Fatalf("10,000 profiles: %d", a.status)
	}
	big := bulkProfile(`{"email":"a@example.com","properties":{"x":"` + strings.Repeat("x", 99_000) + `"}}`)
	large := make([]string, 51)
	for i := range large {
		large[i] = big
	}
	if a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("", large...)); a.status != 413 {
		t.Fatalf("over 5MB: %d", a.status)
	}
	huge := bulkProfile(`{"email":"b@example.com","properties":{"x":"` + strings.Repeat("x", 100_000) + `"}}`)
	id := jobID(t, e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("", huge, one)))
	if g := e.do(t, "GET", "/api/profile-bulk-import-jobs/"+id, ""); attr(g, "failed_count") != float64(1) {
		t.Fatalf("a profile over 100KB: %v", g.body)
	}
	if a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("Nope12", one)); a.status != 404 {
		t.Fatalf("unknown list: %d", a.status)
	}
	if n := len(e.sim.BulkJobs()); n != 2 {
		t.Fatalf("%d jobs recorded, want the 2 accepted", n)
	}
}

func TestServer_BulkImportRateLimitAndOutage(t *testing.T) {
	now := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	e := mustEnv(t, klaviyosim.Options{Now: func() time.Time { return now }})
	for i := range 10 {
		if a := e.do(t, "GET", "/api/profile-bulk-import-jobs/01NOPE", ""); a.status != 404 {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	if a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("", bulkProfile(`{"email":"a@example.com"}`))); a.status != 429 ||
		a.header.Get("Retry-After") != "1" {
		t.Fatalf("11th request in a second: %d %v", a.status, a.header)
	}
	if a := e.do(t, "POST", "/api/profile-import", upsert(`{"email":"a@example.com"}`)); a.status != 201 {
		t.Fatalf("profile-import is another bucket: %d", a.status)
	}
	e.sim.SetOutage(klaviyosim.Outage500)
	if a := e.do(t, "POST", "/api/profile-bulk-import-jobs", bulkBody("", bulkProfile(`{"email":"a@example.com"}`))); a.status != 500 || len(e.sim.BulkJobs()) != 0 {
		t.Fatalf("outage: %d, %d jobs", a.status, len(e.sim.BulkJobs()))
	}
}
