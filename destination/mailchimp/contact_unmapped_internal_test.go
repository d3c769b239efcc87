package mailchimp

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// TestPlan_DroppedMapping checks the shared rule on Mailchimp: a merge
// field the mapping no longer fills is left alone, and emptied ("") with
// clear_unmapped.
func TestPlan_DroppedMapping(t *testing.T) {
	c := &synclayer.Contact{ID: "ct_1"}
	synclayer.Merge(c, &synclayer.CustomerChange{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"ann@example.com"`), "firstName": json.RawMessage(`"Anna"`),
	}}, synclayer.MergeContext{Source: "shopify", At: time.Unix(1, 0)})
	prev := mustJSON(memberState{Email: "ann@example.com", Status: StatusTransactional,
		MergeFields: map[string]json.RawMessage{"FNAME": json.RawMessage(`"Ann"`), "LNAME": json.RawMessage(`"Doe"`)}})
	s := &ContactSync{audience: "a1", mapping: map[string]string{"email": "email", "firstName": "FNAME"}}

	p, err := s.Plan(c, prev)
	if err != nil {
		t.Fatal(err)
	}
	put := p.Calls[len(p.Calls)-1].Body.(MemberRequest)
	if b, _ := json.Marshal(put.MergeFields); string(b) != `{"FNAME":"Anna"}` || fmt.Sprint(p.Unmapped.Kept) != "[LNAME]" {
		t.Errorf("merge fields %v, unmapped %+v: want FNAME only and LNAME left alone", put.MergeFields, p.Unmapped)
	}

	s.clearUnmapped = true
	p, err = s.Plan(c, p.Next)
	if err != nil {
		t.Fatal(err)
	}
	put = p.Calls[len(p.Calls)-1].Body.(MemberRequest)
	if put.MergeFields["LNAME"] != "" || len(put.MergeFields) != 1 || fmt.Sprint(p.Unmapped.Cleared) != "[LNAME]" {
		t.Errorf("with clear_unmapped: merge fields %v, unmapped %+v; want LNAME emptied", put.MergeFields, p.Unmapped)
	}
}
