package brevo_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
)

func TestClient_CreateContact(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	mustCreate(t, e, brevo.CreateContactRequest{Email: "old@example.com", ExtID: "c-old", Attributes: map[string]any{"SMS": "+33600000001"}})

	for _, tc := range []struct {
		name        string
		req         brevo.CreateContactRequest
		wantCreated bool
		wantKind    string
		wantCode    string
	}{
		{"New", brevo.CreateContactRequest{Email: "new@example.com", ExtID: "c-new", ListIDs: []int64{3}}, true, "ok", ""},
		{"ExtIDOnly", brevo.CreateContactRequest{ExtID: "c-anon"}, true, "ok", ""},
		{"UpsertByEmail", brevo.CreateContactRequest{Email: "old@example.com", UpdateEnabled: true, Attributes: map[string]any{"FIRSTNAME": "Ann"}}, false, "ok", ""},
		{"UpsertByExtID", brevo.CreateContactRequest{ExtID: "c-old", UpdateEnabled: true, Attributes: map[string]any{"LASTNAME": "Lee"}}, false, "ok", ""},
		{"Duplicate", brevo.CreateContactRequest{Email: "old@example.com"}, false, "permanent", "duplicate_parameter"},
		{"DuplicateSMS", brevo.CreateContactRequest{Email: "other@example.com", Attributes: map[string]any{"SMS": "0033600000001"}}, false, "permanent", "duplicate_parameter"},
		{"NoIdentifier", brevo.CreateContactRequest{Attributes: map[string]any{"FIRSTNAME": "X"}}, false, "permanent", "missing_parameter"},
		{"BadSMS", brevo.CreateContactRequest{Email: "sms@example.com", Attributes: map[string]any{"SMS": "06-12"}}, false, "permanent", "invalid_parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created, err := e.client.CreateContact(context.Background(), tc.req)
			if created != tc.wantCreated || kind(err) != tc.wantKind {
				t.Fatalf("CreateContact = %v, %v (%s); want %v, %s", created, err, kind(err), tc.wantCreated, tc.wantKind)
			}
			if tc.wantCode != "" && (apiError(err) == nil || apiError(err).Code != tc.wantCode || apiError(err).Status != 400) {
				t.Errorf("err = %v, want 400 %s", err, tc.wantCode)
			}
		})
	}

	old, ok := e.sim.ContactByEmail("old@example.com")
	if !ok || old.Attributes["FIRSTNAME"] != "Ann" || old.Attributes["LASTNAME"] != "Lee" || old.ExtID != "c-old" {
		t.Errorf("upserted contact = %+v", old)
	}
	if n := len(e.sim.Contacts()); n != 3 {
		t.Errorf("%d contacts, want 3", n)
	}
}

func TestClient_UpdateContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	mustCreate(t, e, brevo.CreateContactRequest{
		Email: "a@example.com", ExtID: "c1", EmailBlacklisted: ptr(true), ListIDs: []int64{1, 2},
	})

	t.Run("AttributesOnlyKeepsBlacklist", func(t *testing.T) {
		err := e.client.UpdateContact(ctx, "c1", brevo.IdentifierExtID, brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": "Ann"}})
		if err != nil {
			t.Fatal(err)
		}
		calls := e.sim.Calls()
		last := calls[len(calls)-1]
		var body map[string]any
		if err := json.Unmarshal(last.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"emailBlacklisted", "smsBlacklisted", "ext_id", "listIds", "unlinkListIds"} {
			if _, ok := body[k]; ok {
				t.Errorf("body %s has %q", last.Body, k)
			}
		}
		if last.Method != "PUT" || last.Path != "/contacts/c1?identifierType=ext_id" {
			t.Errorf("request = %s %s", last.Method, last.Path)
		}
		c, _ := e.sim.ContactByExtID("c1")
		if !c.EmailBlacklisted || c.Attributes["FIRSTNAME"] != "Ann" {
			t.Errorf("contact = %+v, want still blacklisted, FIRSTNAME set", c)
		}
	})

	t.Run("EmailListsAndConsent", func(t *testing.T) {
		err := e.client.UpdateContact(ctx, "a@example.com", brevo.IdentifierEmail, brevo.UpdateContactRequest{
			Attributes:       map[string]any{"EMAIL": "b+x@example.com"},
			EmailBlacklisted: ptr(false),
			ListIDs:          []int64{5},
			UnlinkListIDs:    []int64{1},
		})
		if err != nil {
			t.Fatal(err)
		}
		c, ok := e.sim.ContactByEmail("b+x@example.com")
		if !ok || c.EmailBlacklisted || !slices.Equal(c.ListIDs, []int64{2, 5}) {
			t.Errorf("contact = %+v", c)
		}
		calls := e.sim.Calls()
		if p := calls[len(calls)-1].Path; !strings.HasPrefix(p, "/contacts/a%40example.com?") {
			t.Errorf("path = %s, want the email percent-encoded", p)
		}
	})

	t.Run("SlashInExtID", func(t *testing.T) {
		mustCreate(t, e, brevo.CreateContactRequest{ExtID: "shop/7"})
		if err := e.client.UpdateContact(ctx, "shop/7", brevo.IdentifierExtID, brevo.UpdateContactRequest{Attributes: map[string]any{"LASTNAME": "S"}}); err != nil {
			t.Fatal(err)
		}
		if c, _ := e.sim.ContactByExtID("shop/7"); c.Attributes["LASTNAME"] != "S" {
			t.Errorf("contact = %+v", c)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		err := e.client.UpdateContact(ctx, "missing", brevo.IdentifierExtID, brevo.UpdateContactRequest{ExtID: "y"})
		if !brevo.IsNotFound(err) || kind(err) != "permanent" || apiError(err).Code != "document_not_found" {
			t.Fatalf("err = %v (%s), want permanent not found", err, kind(err))
		}
	})
}

func TestClient_DeleteContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	mustCreate(t, e, brevo.CreateContactRequest{Email: "d@example.com", ExtID: "d1"})

	if err := e.client.DeleteContact(ctx, "d1", brevo.IdentifierExtID); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.ContactByExtID("d1"); ok {
		t.Error("contact still there")
	}
	err := e.client.DeleteContact(ctx, "d1", brevo.IdentifierExtID)
	if !brevo.IsNotFound(err) || kind(err) != "permanent" {
		t.Fatalf("second delete: err = %v (%s), want permanent not found", err, kind(err))
	}
}

func TestClient_GetContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	mustCreate(t, e, brevo.CreateContactRequest{
		Email: "g@example.com", ExtID: "g1", SMSBlacklisted: ptr(true), ListIDs: []int64{9},
		Attributes: map[string]any{"FIRSTNAME": "Gus", "SMS": "+4915112345678"},
	})

	for _, tc := range []struct {
		name string
		id   string
		typ  brevo.IdentifierType
	}{
		{"ByEmail", "G@example.com", brevo.IdentifierEmail},
		{"ByExtID", "g1", brevo.IdentifierExtID},
		{"ByPhone", "+4915112345678", brevo.IdentifierPhone},
		{"ByID", "1", brevo.IdentifierContactID},
		{"ByDefault", "g@example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.client.GetContact(ctx, tc.id, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != 1 || c.Email != "g@example.com" || c.ExtID != "g1" || !c.SMSBlacklisted || c.EmailBlacklisted ||
				c.Attributes["FIRSTNAME"] != "Gus" || !slices.Equal(c.ListIDs, []int64{9}) {
				t.Errorf("contact = %+v", c)
			}
		})
	}

	c, err := e.client.GetContact(ctx, "nope", brevo.IdentifierExtID)
	if c != nil || !brevo.IsNotFound(err) {
		t.Fatalf("GetContact(missing) = %v, %v; want nil, not found", c, err)
	}
}

func TestClient_Attributes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)

	attrs, err := e.client.ListAttributes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range attrs {
		names = append(names, a.Name)
	}
	if !slices.Contains(names, "FIRSTNAME") || slices.Contains(names, "TIER") {
		t.Fatalf("attributes = %v", names)
	}

	// Until TIER exists, Brevo drops it without an error.
	mustCreate(t, e, brevo.CreateContactRequest{ExtID: "t1", Attributes: map[string]any{"TIER": "gold"}})
	if c, _ := e.sim.ContactByExtID("t1"); c.Attributes["TIER"] != nil {
		t.Errorf("unknown attribute kept: %+v", c)
	}
	if err := e.client.CreateAttribute(ctx, "normal", "TIER", "text"); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CreateAttribute(ctx, "normal", "TIER", "text"); kind(err) != "permanent" {
		t.Errorf("second CreateAttribute: %v (%s), want permanent", err, kind(err))
	}
	if err := e.client.UpdateContact(ctx, "t1", brevo.IdentifierExtID, brevo.UpdateContactRequest{Attributes: map[string]any{"TIER": "gold"}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.sim.ContactByExtID("t1"); c.Attributes["TIER"] != "gold" {
		t.Errorf("attribute not stored: %+v", c)
	}
	attrs, _ = e.client.ListAttributes(ctx)
	if !slices.Contains(attrs, brevo.Attribute{Name: "TIER", Category: "normal", Type: "text"}) {
		t.Errorf("attributes = %+v", attrs)
	}
}

func TestClient_ListContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := mustEnv(t, withSim(func(o *brevosim.Options) { o.Now = clock }))
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		mustCreate(t, e, brevo.CreateContactRequest{Email: email, ExtID: "c" + string(rune('1'+i)), ListIDs: []int64{7}})
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
	}

	p, err := e.client.ListContacts(ctx, brevo.ContactQuery{ModifiedSince: start, Limit: 2, Sort: "asc", Background: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != 2 || len(p.Contacts) != 2 || p.Contacts[0].Email != "b@example.com" || !p.Date.Equal(start.Add(3*time.Second)) {
		t.Fatalf("page %+v, want b and c (a was modified at since, not after) and the simulator's Date", p)
	}
	b := p.Contacts[0]
	if b.ExtID != "c2" || !b.ModifiedAt.Equal(start.Add(time.Second)) || b.RawModifiedAt != "2026-05-01T12:00:01.000Z" ||
		!b.CreatedAt.Equal(b.ModifiedAt) || !slices.Equal(b.ListIDs, []int64{7}) {
		t.Errorf("contact %+v", b)
	}
	var query string
	for _, c := range e.sim.Calls() {
		if c.Method == "GET" {
			query = c.Path
		}
	}
	if want := "/contacts?limit=2&modifiedSince=2026-05-01T12%3A00%3A00.000Z&sort=asc"; query != want {
		t.Errorf("request %s, want %s", query, want)
	}

	p, err = e.client.ListContacts(ctx, brevo.ContactQuery{Offset: 2, Sort: "asc"})
	if err != nil || len(p.Contacts) != 1 || p.Contacts[0].Email != "c@example.com" || p.Count != 3 {
		t.Errorf("offset 2: %+v, %v", p, err)
	}
	if _, err := e.client.ListContacts(ctx, brevo.ContactQuery{Limit: brevo.MaxContactPage + 1}); kind(err) != "permanent" {
		t.Errorf("limit over the maximum: %v, want a permanent error", err)
	}
}
