package mailchimpsim_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer/destination/mailchimp/mailchimpsim"
)

func putOp(id *string, email string, body map[string]any) map[string]any {
	body["email_address"] = email
	b, _ := json.Marshal(body)
	op := map[string]any{"method": "PUT", "path": "/lists/" + list + "/members/" + hashOf(email), "body": string(b)}
	if id != nil {
		op["operation_id"] = *id
	}
	return op
}

func ptr(s string) *string { return &s }

// results downloads and unpacks an archive, without credentials.
func results(t *testing.T, link string) []mailchimpsim.Result {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %v %v", resp, err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []mailchimpsim.Result
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			var part []mailchimpsim.Result
			if err := json.NewDecoder(tr).Decode(&part); err != nil {
				t.Fatal(err)
			}
			out = append(out, part...)
		}
	}
}

func TestServer_Batch(t *testing.T) {
	h := newHarness(t)
	h.sim.SignUp(list, "out@example.com", "subscribed")
	h.sim.UnsubscribeInMailchimp(list, "out@example.com")
	ops := []map[string]any{
		putOp(ptr("0"), "new@example.com", map[string]any{"status_if_new": "transactional", "merge_fields": map[string]any{"FNAME": "N"}}),
		putOp(ptr("1"), "out@example.com", map[string]any{"status_if_new": "subscribed"}),
		putOp(ptr("2"), "bad@example.com", map[string]any{"status_if_new": "transactional", "merge_fields": map[string]any{"NOPE": "x"}}),
		putOp(nil, "out@example.com", map[string]any{"status": "subscribed", "status_if_new": "subscribed"}),
	}
	a := h.do("POST", "/batches", key, map[string]any{"operations": ops})
	id, _ := a.Body["id"].(string)
	if a.Status != 200 || id == "" || a.Body["status"] != "pending" || a.Body["total_operations"] != 4.0 || a.Body["response_body_url"] != "" {
		t.Fatalf("POST /batches = %+v", a)
	}
	if _, ok := h.sim.MemberOf(list, "new@example.com"); ok {
		t.Fatal("a pending batch was applied")
	}
	var seen []string
	for range 4 {
		a = h.do("GET", "/batches/"+id, key, nil)
		seen = append(seen, a.Body["status"].(string))
	}
	if strings.Join(seen, ",") != "preprocessing,started,finalizing,finished" {
		t.Fatalf("statuses = %v", seen)
	}
	if a.Body["errored_operations"] != 2.0 || a.Body["finished_operations"] != 4.0 || a.Body["completed_at"] == "" {
		t.Fatalf("finished batch = %+v", a.Body)
	}
	if m, _ := h.sim.MemberOf(list, "new@example.com"); m.Status != "transactional" || m.MergeFields["FNAME"] != "N" {
		t.Fatalf("new = %+v", m)
	}
	if m, _ := h.sim.MemberOf(list, "out@example.com"); m.Status != "unsubscribed" {
		t.Fatalf("a batch resubscribed a person who unsubscribed: %+v", m)
	}
	byID := map[string]mailchimpsim.Result{}
	for _, r := range results(t, a.Body["response_body_url"].(string)) {
		key := "null"
		if r.OperationID != nil {
			key = *r.OperationID
		}
		byID[key] = r
	}
	if len(byID) != 4 || byID["0"].StatusCode != 200 || byID["1"].StatusCode != 200 ||
		byID["2"].StatusCode != 400 || !strings.Contains(byID["2"].Response, "Invalid Resource") ||
		byID["null"].StatusCode != 400 || !strings.Contains(byID["null"].Response, "Member In Compliance State") {
		t.Fatalf("results = %+v", byID)
	}

	t.Run("ArchiveRefusesCredentials", func(t *testing.T) {
		req, _ := http.NewRequest("GET", a.Body["response_body_url"].(string), nil)
		req.SetBasicAuth("x", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("download with credentials: %v %v", resp, err)
		}
		resp.Body.Close()
	})
	t.Run("MountedUnderAPrefix", func(t *testing.T) {
		srv := httptest.NewServer(http.StripPrefix("/simulator/mc", h.sim))
		defer srv.Close()
		h2 := &harness{t: t, sim: h.sim, url: srv.URL + "/simulator/mc/3.0"}
		a := h2.do("POST", "/batches", key, map[string]any{"operations": ops[:1]})
		h.sim.FinishBatches()
		a = h2.do("GET", "/batches/"+a.Body["id"].(string), key, nil)
		link, _ := a.Body["response_body_url"].(string)
		if !strings.HasPrefix(link, srv.URL+"/simulator/mc/batch-results/") || len(results(t, link)) != 1 {
			t.Fatalf("link = %q", link)
		}
	})
	t.Run("UnknownBatchIs404", func(t *testing.T) {
		if a := h.do("GET", "/batches/nope", key, nil); a.Status != 404 {
			t.Fatalf("answer = %+v", a)
		}
	})
	t.Run("InvalidOperationIsAViolation", func(t *testing.T) {
		sim := mailchimpsim.New(mailchimpsim.Options{APIKey: key, Validate: func(r *http.Request, body []byte) error {
			if r.URL.Path == "/batches" || strings.Contains(string(body), "status_if_new") {
				return nil
			}
			return errors.New("no status_if_new")
		}})
		sim.AddAudience(list)
		srv := httptest.NewServer(sim)
		defer srv.Close()
		h2 := &harness{t: t, sim: sim, url: srv.URL + "/3.0"}
		h2.do("POST", "/batches", key, map[string]any{"operations": []map[string]any{putOp(ptr("0"), "v@example.com", map[string]any{})}})
		sim.FinishBatches()
		got := sim.Violations()
		b := sim.Batches()
		if len(got) != 1 || !strings.Contains(got[0], "operation 0") || len(b) != 1 || b[0].Results[0].StatusCode != 400 {
			t.Fatalf("violations = %v, batches = %+v", got, b)
		}
	})
}

// TestServer_BatchTags: tag POSTs in a batch run like direct ones: 204 for
// a member that exists (tags added and removed), 404 for one that does
// not, each result under its operation_id in the archive.
func TestServer_BatchTags(t *testing.T) {
	h := newHarness(t)
	h.sim.SignUp(list, "has@example.com", "subscribed")
	tagOp := func(id, email string, tags ...map[string]any) map[string]any {
		b, _ := json.Marshal(map[string]any{"tags": tags, "is_syncing": true})
		return map[string]any{"method": "POST", "path": "/lists/" + list + "/members/" + hashOf(email) + "/tags", "body": string(b), "operation_id": id}
	}
	a := h.do("POST", "/batches", key, map[string]any{"operations": []map[string]any{
		tagOp("0", "has@example.com", map[string]any{"name": "vip", "status": "active"}, map[string]any{"name": "none", "status": "inactive"}),
		tagOp("1", "nobody@example.com", map[string]any{"name": "vip", "status": "active"}),
	}})
	h.sim.FinishBatches()
	a = h.do("GET", "/batches/"+a.Body["id"].(string), key, nil)
	if a.Body["errored_operations"] != 1.0 {
		t.Fatalf("batch = %+v", a.Body)
	}
	byID := map[string]int{}
	for _, r := range results(t, a.Body["response_body_url"].(string)) {
		byID[*r.OperationID] = r.StatusCode
	}
	if byID["0"] != 204 || byID["1"] != 404 {
		t.Fatalf("results = %v", byID)
	}
	if m, _ := h.sim.MemberOf(list, "has@example.com"); len(m.Tags) != 1 || m.Tags[0] != "vip" {
		t.Fatalf("member = %+v", m)
	}
	if _, ok := h.sim.MemberOf(list, "nobody@example.com"); ok {
		t.Fatal("a tag POST created a member")
	}
}
