package custom

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParseData_MisspeltCanonicalField: first_name in data used to be kept
// as a custom attribute of that name, so the contact's firstName stayed
// empty and nothing reached the destination's FIRSTNAME.
func TestParseData_MisspeltCanonicalField(t *testing.T) {
	data := map[string]json.RawMessage{"id": json.RawMessage(`"c1"`), "email": json.RawMessage(`"a@example.com"`), "first_name": json.RawMessage(`"Ada"`)}
	_, err := parseData(data)
	if err == nil || !strings.Contains(err.Error(), "data.first_name") || !strings.Contains(err.Error(), "send firstName") {
		t.Fatalf("err %v, want one naming data.first_name and firstName", err)
	}
	data = map[string]json.RawMessage{"id": json.RawMessage(`"c1"`), "email": json.RawMessage(`"a@example.com"`), "loyaltyPoints": json.RawMessage(`120`)}
	ch, err := parseData(data)
	if err != nil || string(ch.Fields["loyaltyPoints"]) != "120" {
		t.Fatalf("a custom attribute: %v, %v", ch, err)
	}
}
