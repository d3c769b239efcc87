package brevospec_test

import (
	"net/http"
	"strings"
	"testing"

	"synclayer/destination/brevo/brevospec"
)

func TestValidator_Validate(t *testing.T) {
	t.Parallel()
	v := brevospec.Load(t)
	for _, tc := range []struct {
		name, method, url, body string
		noKey                   bool
		wantErr                 string // "" for valid
	}{
		{"Create", "POST", "http://sim/v3/contacts", `{"email":"a@example.com","ext_id":"c1","attributes":{"FIRSTNAME":"A","N":1,"L":["x"]},"listIds":[1],"updateEnabled":true}`, false, ""},
		{"CreateAtRoot", "POST", "http://sim/contacts", `{"ext_id":"c1"}`, false, ""},
		{"ListIDsAsStrings", "POST", "http://sim/v3/contacts", `{"email":"a@example.com","listIds":["1"]}`, false, "listIds"},
		{"BadEmail", "POST", "http://sim/v3/contacts", `{"email":"not-an-email"}`, false, "email"},
		{"ObjectAttribute", "POST", "http://sim/v3/contacts", `{"ext_id":"c1","attributes":{"X":{"a":1}}}`, false, "attributes"},
		{"BlacklistAsString", "PUT", "http://sim/v3/contacts/c1?identifierType=ext_id", `{"emailBlacklisted":"false"}`, false, "emailBlacklisted"},
		{"UpdateEncodedEmail", "PUT", "http://sim/v3/contacts/a%40example.com?identifierType=email_id", `{"attributes":{"A":"b"}}`, false, ""},
		{"BadIdentifierType", "DELETE", "http://sim/v3/contacts/c1?identifierType=extid", ``, false, "identifierType"},
		{"AttributesList", "GET", "http://sim/v3/contacts/attributes", ``, false, ""},
		{"AttributeCreate", "POST", "http://sim/v3/contacts/attributes/normal/TIER", `{"type":"text"}`, false, ""},
		{"AttributeBadType", "POST", "http://sim/v3/contacts/attributes/normal/TIER", `{"type":"string"}`, false, "type"},
		{"UnknownPath", "POST", "http://sim/v3/contact", `{}`, false, "no matching operation"},
		{"NoAPIKey", "GET", "http://sim/v3/contacts/1", ``, true, "api-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				r.Header.Set("content-type", "application/json")
			}
			if !tc.noKey {
				r.Header.Set("api-key", "k")
			}
			err = v.Validate(r, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error about %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidator_ValidateResponse(t *testing.T) {
	t.Parallel()
	v := brevospec.Load(t)
	r, _ := http.NewRequest("GET", "http://sim/v3/contacts/1", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	good := `{"id":1,"attributes":{},"emailBlacklisted":false,"smsBlacklisted":false,"listIds":[],"createdAt":"2026-01-01T00:00:00.000Z","modifiedAt":"2026-01-01T00:00:00.000Z","statistics":{}}`
	if err := v.ValidateResponse(r, 200, h, []byte(good)); err != nil {
		t.Errorf("good response: %v", err)
	}
	bad := `{"id":"1","attributes":{},"emailBlacklisted":false,"smsBlacklisted":false,"listIds":[],"createdAt":"x","modifiedAt":"x"}`
	if err := v.ValidateResponse(r, 200, h, []byte(bad)); err == nil {
		t.Error("response with a string id and no statistics passed")
	}
}
