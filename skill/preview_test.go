package skill_test

import (
	"encoding/json"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/skill"
)

func contact(email string, consent synclayer.ConsentState) *synclayer.Contact {
	c := &synclayer.Contact{ID: "ct_1"}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{
		"email": json.RawMessage(`"` + email + `"`), "firstName": json.RawMessage(`"Ann"`),
	}, EmailConsent: &synclayer.ConsentChange{State: consent, At: time.Unix(1, 0)}}
	synclayer.Merge(c, ch, synclayer.MergeContext{Source: "shopify", At: time.Unix(1, 0)})
	return c
}

func TestPreview_CallsAndChanges(t *testing.T) {
	s := &skill.CustomerSync{Destination: "brevo", Sync: &brevo.ContactSync{ListID: 5,
		FieldMapping: map[string]string{"email": "email", "firstName": "FIRSTNAME"}}}
	p, err := s.Preview(contact("ann@x.com", synclayer.ConsentSubscribed), nil)
	if err != nil || len(p.Calls) != 1 || p.Calls[0].Method != "POST" || p.Calls[0].Path != "/contacts" {
		t.Fatalf("preview of a new contact: %+v, %v", p, err)
	}
	changes := map[string]string{}
	for _, c := range p.Changes {
		changes[c.Field] = string(c.Before) + " → " + string(c.After)
	}
	if changes["email"] != `null → "ann@x.com"` || changes["inList"] != "null → true" || changes["attributes.FIRSTNAME"] != `null → "Ann"` {
		t.Errorf("changes %v", changes)
	}
	if _, ok := changes["emailBlacklisted"]; ok {
		t.Errorf("a new contact without a blocklisting shows one: %v", changes)
	}

	again, err := s.Preview(contact("ann@x.com", synclayer.ConsentSubscribed), p.Next)
	if err != nil || len(again.Calls) != 0 || len(again.Changes) != 0 || again.Reason == "" {
		t.Errorf("preview against what the first would leave: %+v, %v", again, err)
	}

	out, _ := s.Preview(contact("ann@x.com", synclayer.ConsentUnsubscribed), p.Next)
	body, _ := json.Marshal(out.Calls[0].Body)
	if out.Calls[0].Method != "PUT" || out.Calls[0].Path != "/contacts/ct_1?identifierType=ext_id" ||
		string(body) != `{"emailBlacklisted":true,"unlinkListIds":[5]}` {
		t.Errorf("opt-out preview: %+v %s", out.Calls, body)
	}
}
