package klaviyo

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// TestPlan_DroppedMapping checks the shared rule on Klaviyo: a target the
// mapping no longer sends is left alone (kept apart in the state), and
// with clear_unmapped a standard attribute is sent as null and a custom
// property unset.
func TestPlan_DroppedMapping(t *testing.T) {
	c := &synclayer.Contact{ID: "ct_1"}
	synclayer.Merge(c, &synclayer.CustomerChange{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"ann@example.com"`), "firstName": json.RawMessage(`"Anna"`),
	}}, synclayer.MergeContext{Source: "shopify", At: time.Unix(1, 0)})
	prev := mustJSON(state{ProfileID: "p1", Email: "ann@example.com",
		Values: map[string]json.RawMessage{"first_name": json.RawMessage(`"Ann"`), "last_name": json.RawMessage(`"Doe"`), "Loyalty": json.RawMessage(`"gold"`)}})
	s := &ContactSync{mapping: map[string]string{"email": "email", "firstName": "first_name"}}

	p, err := s.Plan(c, prev)
	if err != nil {
		t.Fatal(err)
	}
	u := p.Detail.(*planDetail).Upsert
	if b, _ := json.Marshal(u.Attributes); string(b) != `{"email":"ann@example.com","external_id":"ct_1","first_name":"Anna"}` || len(u.Unset) != 0 {
		t.Errorf("upsert %s, unset %v: want first_name only", b, u.Unset)
	}
	if fmt.Sprint(p.Unmapped.Kept) != "[Loyalty last_name]" {
		t.Errorf("unmapped %+v, want Loyalty and last_name left alone", p.Unmapped)
	}
	next, _ := decodeState(p.Next)
	if string(next.Kept["last_name"]) != `"Doe"` || next.Values["last_name"] != nil {
		t.Errorf("next state %+v, want last_name kept apart", next)
	}

	s.clearUnmapped = true
	p, err = s.Plan(c, p.Next)
	if err != nil {
		t.Fatal(err)
	}
	u = p.Detail.(*planDetail).Upsert
	if b, _ := json.Marshal(u.Attributes); string(b) != `{"email":"ann@example.com","external_id":"ct_1","last_name":null}` || fmt.Sprint(u.Unset) != "[Loyalty]" {
		t.Errorf("with clear_unmapped: upsert %s, unset %v; want last_name null and Loyalty unset", b, u.Unset)
	}
	if fmt.Sprint(p.Unmapped.Cleared) != "[Loyalty last_name]" {
		t.Errorf("unmapped %+v, want both cleared", p.Unmapped)
	}
}
