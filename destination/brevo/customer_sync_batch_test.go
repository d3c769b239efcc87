package brevo

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"synclayer"
	"synclayer/store/storetest"
)

// TestPlanImport_Paths checks which contacts an import may carry: the
// consented into the list, the others into the import list, and
// everything an import cannot do (consent, unlinking, clearing, an email
// change) through the realtime path.
func TestPlanImport_Paths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	s := newSkill()
	s.Store = db
	s.FieldMapping["lastName"] = "LASTNAME" // mapped, and the contacts have none
	save := func(c *synclayer.Contact, held *brevoState) *synclayer.Job {
		t.Helper()
		c.ID = ""
		if err := db.Tx(ctx, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		if held != nil {
			b, _ := json.Marshal(held)
			if err := db.SaveSyncState(ctx, &synclayer.SyncState{RecordKey: c.ID, Destination: "brevo", State: b}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return &synclayer.Job{RecordKey: c.ID, Attempts: 1}
	}
	plan := func(c *synclayer.Contact, held *brevoState, importList int64) ImportPlan {
		t.Helper()
		p, err := s.PlanImport(ctx, save(c, held), importList)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	full, _ := s.plan(contact("ann@x.com", synclayer.ConsentSubscribed), nil)

	p := plan(contact("ann@x.com", synclayer.ConsentSubscribed), nil, 9)
	if p.Path != PathList || p.Row.Email != "ann@x.com" || p.Row.Attributes["EXT_ID"] == nil || p.Row.Attributes["FIRSTNAME"] == nil || p.State == nil {
		t.Errorf("consented: %+v", p)
	}
	var st brevoState
	_ = json.Unmarshal(p.State.State, &st)
	if !st.InList || st.EmailBlacklisted {
		t.Errorf("consented: recorded state %+v, want in the list, not blocklisted", st)
	}
	if p := plan(contact("bo@x.com", synclayer.ConsentNone), nil, 9); p.Path != PathQuiet {
		t.Errorf("without consent: %s, want the import list", p.Path)
	}
	if p := plan(contact("cy@x.com", synclayer.ConsentNone), nil, 0); p.Path != PathRealtime {
		t.Errorf("without consent and import list: %s, want realtime", p.Path)
	}
	if p := plan(contact("di@x.com", synclayer.ConsentUnsubscribed), nil, 9); p.Path != PathRealtime {
		t.Errorf("opted out: %s, want realtime", p.Path)
	}
	held := full.Next
	if p := plan(contact("ed@x.com", synclayer.ConsentSubscribed), &held, 9); p.Path != PathRealtime || p.Reason != "an email change" {
		t.Errorf("email change: %+v", p)
	}
	cleared := full.Next
	cleared.Email = "fa@x.com"
	cleared.Attributes = map[string]json.RawMessage{"LASTNAME": json.RawMessage(`"x"`)}
	for k, v := range full.Next.Attributes {
		cleared.Attributes[k] = v
	}
	if p := plan(contact("fa@x.com", synclayer.ConsentSubscribed), &cleared, 9); p.Path != PathRealtime {
		t.Errorf("attribute to clear: %+v", p)
	}
	unmapped := cleared
	unmapped.Email = "fe@x.com"
	unmapped.Attributes = map[string]json.RawMessage{"GONE": json.RawMessage(`"x"`)}
	for k, v := range full.Next.Attributes {
		unmapped.Attributes[k] = v
	}
	if p := plan(contact("fe@x.com", synclayer.ConsentSubscribed), &unmapped, 9); p.Path != PathNone {
		t.Errorf("an attribute no longer mapped: %+v, want it left alone, so nothing to send", p)
	}
	inList := full.Next
	inList.Email = "gu@x.com"
	if p := plan(contact("gu@x.com", synclayer.ConsentNone), &inList, 9); p.Path != PathRealtime || p.Reason != "a list to unlink" {
		t.Errorf("consent withdrawn: %+v", p)
	}
	same := full.Next
	same.Email = "hu@x.com"
	if p := plan(contact("hu@x.com", synclayer.ConsentSubscribed), &same, 9); p.Path != PathNone {
		t.Errorf("unchanged: %+v", p)
	}
}
