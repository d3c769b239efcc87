package brevosim_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

func TestServer_ContactImport(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{Attributes: []string{"EMAIL", "FIRSTNAME", "LASTNAME", "SMS"}})
	// Blocklisted in Brevo, with a name.
	if a := s.do("POST", "/contacts", `{"email":"blocked@example.com","emailBlacklisted":true,"attributes":{"FIRSTNAME":"Old","LASTNAME":"Keep"}}`); a.status != 201 {
		t.Fatalf("seed: %d %s", a.status, a.raw)
	}
	a := s.do("POST", "/contacts/import", `{"jsonBody":[
		{"email":"new@example.com","attributes":{"FIRSTNAME":"Ann","EXT_ID":"ct_1","UNKNOWN":"x"}},
		{"email":"blocked@example.com","attributes":{"FIRSTNAME":"New","LASTNAME":"","EMAIL_BLACKLIST":false}},
		{"email":"not-an-email","attributes":{"FIRSTNAME":"Bad"}}],
		"listIds":[5],"updateExistingContacts":true,"emptyContactsAttributes":false}`)
	if a.status != 202 || a.body["processId"] == nil {
		t.Fatalf("import: %d %s", a.status, a.raw)
	}
	id := fmt.Sprint(a.body["processId"])
	p := s.do("GET", "/processes/"+id, "")
	if p.status != 200 || p.body["status"] != "completed" || p.body["name"] != "IMPORTUSER" {
		t.Fatalf("process: %d %s", p.status, p.raw)
	}
	c, ok := s.ContactByExtID("ct_1")
	if !ok || c.Email != "new@example.com" || c.Attributes["FIRSTNAME"] != "Ann" || !slices.Equal(c.ListIDs, []int64{5}) || c.Attributes["UNKNOWN"] != nil {
		t.Errorf("imported contact %+v", c)
	}
	b, _ := s.ContactByEmail("blocked@example.com")
	switch {
	case !b.EmailBlacklisted:
		t.Error("an import lifted a blocklisting")
	case b.Attributes["FIRSTNAME"] != "New" || b.Attributes["LASTNAME"] != "Keep":
		t.Errorf("updated attributes %v: FIRSTNAME New, and the empty LASTNAME kept (emptyContactsAttributes false)", b.Attributes)
	case !slices.Equal(b.ListIDs, []int64{5}):
		t.Errorf("lists %v", b.ListIDs)
	}
	if _, ok := s.ContactByEmail("not-an-email"); ok {
		t.Error("an invalid email was imported")
	}
	info, _ := p.body["info"].(map[string]any)
	if imp, _ := info["import"].(map[string]any); fmt.Sprint(imp["invalid_emails"]) != "1" {
		t.Errorf("info %v: want 1 invalid email", info)
	}

	t.Run("NoUpdateKeepsExisting", func(t *testing.T) {
		s.do("POST", "/contacts/import", `{"jsonBody":[{"email":"new@example.com","attributes":{"FIRSTNAME":"Changed"}}],"listIds":[7],"updateExistingContacts":false}`)
		if c, _ := s.ContactByEmail("new@example.com"); c.Attributes["FIRSTNAME"] != "Ann" || slices.Contains(c.ListIDs, 7) {
			t.Errorf("updateExistingContacts false changed %+v", c)
		}
	})
	t.Run("EmptyAttributesErase", func(t *testing.T) {
		s.do("POST", "/contacts/import", `{"jsonBody":[{"email":"new@example.com","attributes":{"FIRSTNAME":""}}],"listIds":[5],"emptyContactsAttributes":true}`)
		if c, _ := s.ContactByEmail("new@example.com"); c.Attributes["FIRSTNAME"] != nil {
			t.Errorf("emptyContactsAttributes true kept FIRSTNAME: %v", c.Attributes)
		}
	})
	t.Run("FileBody", func(t *testing.T) {
		s.do("POST", "/contacts/import", `{"fileBody":"EMAIL;FIRSTNAME\nfile@example.com;Fay\n","listIds":[8]}`)
		if c, ok := s.ContactByEmail("file@example.com"); !ok || c.Attributes["FIRSTNAME"] != "Fay" || !slices.Equal(c.ListIDs, []int64{8}) {
			t.Errorf("fileBody contact %+v", c)
		}
	})
	t.Run("BlacklistFlagBlocksButNeverUnblocks", func(t *testing.T) {
		s.do("POST", "/contacts/import", `{"jsonBody":[{"email":"file@example.com"}],"listIds":[8],"emailBlacklist":true}`)
		s.do("POST", "/contacts/import", `{"jsonBody":[{"email":"file@example.com"}],"listIds":[8],"emailBlacklist":false}`)
		if c, _ := s.ContactByEmail("file@example.com"); !c.EmailBlacklisted {
			t.Error("emailBlacklist false lifted a blocklisting")
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		for _, body := range []string{
			`{"jsonBody":[{"email":"x@example.com"}]}`, // no list
			`{"listIds":[5]}`,                          // nothing to import
			`{"jsonBody":[{"email":"x@example.com"}],"fileBody":"EMAIL\n","listIds":[5]}`, // two bodies
		} {
			if a := s.do("POST", "/contacts/import", body); a.status != 400 {
				t.Errorf("%s: %d, want 400", body, a.status)
			}
		}
		if a := s.do("GET", "/processes/999", ""); a.status != 404 {
			t.Errorf("unknown process: %d, want 404", a.status)
		}
	})
}

func TestServer_ImportProcessStates(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{ImportDelay: 400 * time.Millisecond})
	a := s.do("POST", "/contacts/import", `{"jsonBody":[{"email":"late@example.com"}],"listIds":[5]}`)
	id := fmt.Sprint(a.body["processId"])
	if p := s.do("GET", "/processes/"+id, ""); p.body["status"] != "queued" {
		t.Errorf("at once: %v, want queued", p.body["status"])
	}
	if _, ok := s.ContactByEmail("late@example.com"); ok {
		t.Error("applied before its process ran")
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for !seen["completed"] && time.Now().Before(deadline) {
		p := s.do("GET", "/processes/"+id, "")
		seen[fmt.Sprint(p.body["status"])] = true
		time.Sleep(20 * time.Millisecond)
	}
	if !seen["in_process"] || !seen["completed"] {
		t.Errorf("statuses seen %v, want in_process then completed", seen)
	}
	if _, ok := s.ContactByEmail("late@example.com"); !ok {
		t.Error("not applied once completed")
	}
	s.FailImports(1)
	a = s.do("POST", "/contacts/import", `{"jsonBody":[{"email":"fails@example.com"}],"listIds":[5]}`)
	time.Sleep(600 * time.Millisecond)
	list := s.do("GET", "/processes?limit=50", "")
	ps, _ := list.body["processes"].([]any)
	if len(ps) != 2 || fmt.Sprint(list.body["count"]) != "2" {
		t.Fatalf("GET /processes: %s", list.raw)
	}
	if newest, _ := ps[0].(map[string]any); newest["status"] != "failed" || fmt.Sprint(newest["id"]) != fmt.Sprint(a.body["processId"]) {
		t.Errorf("newest process %v, want the failed import first", newest)
	}
	if _, ok := s.ContactByEmail("fails@example.com"); ok {
		t.Error("a failed import was applied")
	}
}

func TestServer_OtherBucketPerHour(t *testing.T) {
	t.Parallel()
	s := mustSim(t, brevosim.Options{OtherHourlyLimit: 3, HourlyWindow: 500 * time.Millisecond})
	for i := range 3 {
		if a := s.do("GET", "/processes", ""); a.status != 200 || a.header.Get("x-sib-ratelimit-remaining") != fmt.Sprint(2-i) {
			t.Fatalf("call %d: %d, remaining %s", i, a.status, a.header.Get("x-sib-ratelimit-remaining"))
		}
	}
	if a := s.do("POST", "/products/batch", `{"products":[{"id":"p1","name":"P"}],"updateEnabled":true}`); a.status != 429 {
		t.Errorf("fourth call in the window: %d, want 429", a.status)
	}
	if a := s.do("GET", "/contacts/attributes", ""); a.status != 200 {
		t.Errorf("contacts bucket: %d, want 200 (its own bucket)", a.status)
	}
	time.Sleep(600 * time.Millisecond)
	if a := s.do("POST", "/products/batch", `{"products":[{"id":"p1","name":"P"},{"id":"p2","name":"Q","price":2.5}],"updateEnabled":true}`); a.status != 201 ||
		fmt.Sprint(a.body["createdCount"]) != "2" {
		t.Errorf("after the window: %d %s", a.status, a.raw)
	}
	if a := s.do("POST", "/products/batch", `{"products":[{"id":"p1","name":"P2"}],"updateEnabled":true}`); fmt.Sprint(a.body["updatedCount"]) != "1" {
		t.Errorf("update: %s", a.raw)
	}
	if p, _ := s.ProductByID("p1"); p.Name != "P2" {
		t.Errorf("p1 %+v", p)
	}
}
