package brevo

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"synclayer"
)

func contact(email string, consent synclayer.ConsentState) *synclayer.Contact {
	c := &synclayer.Contact{ID: "ct_1"}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"` + email + `"`), "firstName": json.RawMessage(`"Ann"`),
		"totalSpent": json.RawMessage(`199.65`), "lastOrderDate": json.RawMessage(`"2026-11-20T23:30:00Z"`),
		"tags": json.RawMessage(`["vip","b"]`), "secretNote": json.RawMessage(`"not mapped"`),
	}}
	if consent != "" {
		ch.EmailConsent = &synclayer.ConsentChange{State: consent, At: time.Unix(1, 0)}
	}
	synclayer.Merge(c, ch, synclayer.MergeContext{Source: "shopify", At: time.Unix(1, 0)})
	return c
}

func newSkill() *ContactSync {
	return &ContactSync{ListID: 5, FieldMapping: map[string]string{
		"email": "email", "firstName": "FIRSTNAME", "totalSpent": "TOTAL_SPENT", "lastOrderDate": "LAST_ORDER_DATE", "tags": "TAGS",
	}}
}

func TestPlan_CreateSendsOnlyMappedFieldsConverted(t *testing.T) {
	p, err := newSkill().plan(contact("ann@x.com", synclayer.ConsentSubscribed), nil)
	if err != nil || p.Op != OpCreate {
		t.Fatalf("plan %+v, %v", p, err)
	}
	body, _ := json.Marshal(p.Create)
	want := `{"email":"ann@x.com","ext_id":"ct_1","attributes":{"FIRSTNAME":"Ann","LAST_ORDER_DATE":"2026-11-20","TAGS":"vip, b","TOTAL_SPENT":199.65},"listIds":[5],"updateEnabled":true}`
	if string(body) != want {
		t.Errorf("create body\n got %s\nwant %s", body, want)
	}
}

func TestPlan_NoConsentIsSyncedButNotListed(t *testing.T) {
	p, _ := newSkill().plan(contact("ann@x.com", synclayer.ConsentNone), nil)
	if p.Create.ListIDs != nil || p.Create.EmailBlacklisted != nil {
		t.Errorf("create %+v: want no list and no blacklist flag", p.Create)
	}
}

func TestPlan_ConsentFlags(t *testing.T) {
	s := newSkill()
	created, _ := s.plan(contact("ann@x.com", synclayer.ConsentSubscribed), nil)
	held := created.Next

	out, _ := s.plan(contact("ann@x.com", synclayer.ConsentUnsubscribed), &held)
	if out.Op != OpUpdate || out.Update.EmailBlacklisted == nil || !*out.Update.EmailBlacklisted || len(out.Update.UnlinkListIDs) != 1 {
		t.Fatalf("opt-out plan %+v, want emailBlacklisted true and unlink", out.Update)
	}
	blocked := out.Next

	again, _ := s.plan(contact("ann@x.com", synclayer.ConsentUnsubscribed), &blocked)
	if again.Op != OpNone {
		t.Errorf("repeated opt-out plans %+v, want no call", again)
	}
	none, _ := s.plan(contact("ann@x.com", synclayer.ConsentNone), &blocked)
	if none.Update != nil && none.Update.EmailBlacklisted != nil {
		t.Errorf("a contact without an explicit opt-in was sent emailBlacklisted=%v", *none.Update.EmailBlacklisted)
	}
	optIn, _ := s.plan(contact("ann@x.com", synclayer.ConsentSubscribed), &blocked)
	if optIn.Update == nil || optIn.Update.EmailBlacklisted == nil || *optIn.Update.EmailBlacklisted || len(optIn.Update.ListIDs) != 1 {
		t.Errorf("explicit opt-in after our blocklisting: %+v, want emailBlacklisted false and re-listed", optIn.Update)
	}
}

func TestPlan_SkipsNoOpAndSendsOnlyChanges(t *testing.T) {
	s := newSkill()
	c := contact("ann@x.com", synclayer.ConsentSubscribed)
	created, _ := s.plan(c, nil)
	if p, _ := s.plan(c, &created.Next); p.Op != OpNone {
		t.Errorf("unchanged contact plans %+v", p)
	}
	synclayer.Merge(c, &synclayer.CustomerChange{Fields: map[string]json.RawMessage{"firstName": json.RawMessage(`"Anna"`), "secretNote": json.RawMessage(`"x"`)}},
		synclayer.MergeContext{Source: "shopify", At: time.Unix(2, 0)})
	p, _ := s.plan(c, &created.Next)
	body, _ := json.Marshal(p.Update)
	if p.Op != OpUpdate || string(body) != `{"attributes":{"FIRSTNAME":"Anna"}}` {
		t.Errorf("update body %s, want only the changed mapped attribute", body)
	}
}

func TestPlan_Delete(t *testing.T) {
	c := contact("ann@x.com", synclayer.ConsentSubscribed)
	s := newSkill()
	created, _ := s.plan(c, nil)
	c.Deleted = true
	soft, _ := s.plan(c, &created.Next)
	if soft.Op != OpUpdate || len(soft.Update.UnlinkListIDs) != 1 || soft.Update.Attributes != nil {
		t.Errorf("soft delete %+v, want an unlink only", soft)
	}
	s.HardDelete = true
	if hard, _ := s.plan(c, &created.Next); hard.Op != OpDelete {
		t.Errorf("hard delete %+v", hard)
	}
	if never, _ := s.plan(c, nil); never.Op != OpNone {
		t.Errorf("deleting a never-synced contact plans %+v", never)
	}
}

func TestConvertValue(t *testing.T) {
	for _, tc := range []struct {
		kind    synclayer.FieldKind
		in, out string
		err     bool
	}{
		{synclayer.KindDate, `"2026-01-31T23:59:59-05:00"`, `"2026-02-01"`, false},
		{synclayer.KindDate, `"yesterday"`, ``, true},
		{synclayer.KindNumber, `12345678901234567890.01`, `12345678901234567890.01`, false},
		{synclayer.KindNumber, `"12.50"`, `12.50`, false},
		{synclayer.KindNumber, `"twelve"`, ``, true},
		{synclayer.KindList, `["a","b"]`, `"a, b"`, false},
		{synclayer.KindText, `"Zoë"`, `"Zoë"`, false},
	} {
		got, err := ConvertValue(tc.kind, json.RawMessage(tc.in))
		if (err != nil) != tc.err || (!tc.err && string(got) != tc.out) {
			t.Errorf("ConvertValue(%v, %s) = %s, %v; want %s (error %v)", tc.kind, tc.in, got, err, tc.out, tc.err)
		}
	}
}

func TestPlan_NeverLiftsABlockSynclayerDidNotMake(t *testing.T) {
	s := newSkill()
	// Brevo reports the contact blocklisted, but not by us (its own
	// unsubscribe link, a spam complaint): an opt-in must not lift it.
	held := brevoState{Email: "ann@x.com", EmailBlacklisted: true}
	p, _ := s.plan(contact("ann@x.com", synclayer.ConsentSubscribed), &held)
	if p.Update != nil && p.Update.EmailBlacklisted != nil {
		t.Errorf("sent emailBlacklisted=%v for a block synclayer did not make", *p.Update.EmailBlacklisted)
	}
	held.EmailBlockedByUs = true
	p, _ = s.plan(contact("ann@x.com", synclayer.ConsentSubscribed), &held)
	if p.Update == nil || p.Update.EmailBlacklisted == nil || *p.Update.EmailBlacklisted {
		t.Errorf("plan %+v: an explicit opt-in should lift synclayer's own block", p.Update)
	}
}

// TestPlan_DroppedMapping checks that an attribute the mapping stops
// mapping is left alone in Brevo (and kept in the state, apart), that a
// mapped attribute whose value is gone is still emptied, and that
// clear_unmapped empties the dropped one too.
func TestPlan_DroppedMapping(t *testing.T) {
	c := contact("ann@x.com", synclayer.ConsentSubscribed)
	s := newSkill()
	created, _ := s.plan(c, nil)
	delete(s.FieldMapping, "totalSpent") // TOTAL_SPENT was sent; no longer mapped
	s.FieldMapping["lastName"] = "LASTNAME"
	held := created.Next
	held.Attributes = maps.Clone(held.Attributes)
	held.Attributes["LASTNAME"] = json.RawMessage(`"Old"`) // mapped, but the contact has none now

	p, _ := s.plan(c, &held)
	body, _ := json.Marshal(p.Update)
	if p.Op != OpUpdate || string(body) != `{"attributes":{"LASTNAME":""}}` {
		t.Errorf("update body %s, want LASTNAME emptied and TOTAL_SPENT not sent", body)
	}
	if string(p.Next.Kept["TOTAL_SPENT"]) != `199.65` || p.Next.Attributes["TOTAL_SPENT"] != nil || fmt.Sprint(p.Unmapped.Kept) != "[TOTAL_SPENT]" {
		t.Errorf("next state %+v, unmapped %+v: want TOTAL_SPENT kept apart", p.Next, p.Unmapped)
	}
	if again, _ := s.plan(c, &p.Next); again.Op != OpNone || fmt.Sprint(again.Unmapped.Kept) != "[TOTAL_SPENT]" {
		t.Errorf("the next delivery plans %+v, want nothing to send and TOTAL_SPENT still left alone", again)
	}

	s.ClearUnmapped = true
	p, _ = s.plan(c, &p.Next)
	body, _ = json.Marshal(p.Update)
	if p.Op != OpUpdate || string(body) != `{"attributes":{"TOTAL_SPENT":""}}` || fmt.Sprint(p.Unmapped.Cleared) != "[TOTAL_SPENT]" || p.Next.Kept != nil {
		t.Errorf("with clear_unmapped: %s, unmapped %+v, kept %v; want TOTAL_SPENT emptied", body, p.Unmapped, p.Next.Kept)
	}
}
