package pipedrivespec_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer/destination/pipedrive/pipedrivespec"
)

func TestValidator_Validate(t *testing.T) {
	v := pipedrivespec.Load(t)
	const person = `{"name":"Ann Doe","emails":[{"value":"a@example.com","primary":true,"label":"work"}],"marketing_status":"subscribed","custom_fields":{"0123456789abcdef0123456789abcdef01234567":3}}`
	tests := []struct {
		name, method, target, body, auth string
		wantErr                          string
	}{
		{name: "Search", method: "GET", target: "/api/v2/persons/search?term=a%40example.com&fields=email&exact_match=true&limit=10"},
		{name: "SearchNoTerm", method: "GET", target: "/api/v2/persons/search?fields=email", wantErr: "term"},
		{name: "SearchBadField", method: "GET", target: "/api/v2/persons/search?term=ab&fields=emails", wantErr: "fields"},
		{name: "Create", method: "POST", target: "/api/v2/persons", body: person},
		{name: "CreateBadStatus", method: "POST", target: "/api/v2/persons", body: `{"name":"A","marketing_status":"yes"}`, wantErr: "marketing_status"},
		{name: "CreateUnknownField", method: "POST", target: "/api/v2/persons", body: `{"name":"A","first_name":"A"}`, wantErr: "first_name"},
		{name: "Get", method: "GET", target: "/simulator/pipedrive/api/v2/persons/101?include_fields=marketing_status"},
		{name: "GetBadID", method: "GET", target: "/api/v2/persons/abc", wantErr: "id"},
		{name: "Patch", method: "PATCH", target: "/api/v2/persons/101", body: `{"phones":[]}`},
		{name: "Delete", method: "DELETE", target: "/api/v2/persons/101"},
		{name: "Fields", method: "GET", target: "/api/v2/personFields?limit=500"},
		{name: "CreateField", method: "POST", target: "/api/v2/personFields", body: `{"field_name":"synclayer_total_orders","field_type":"double"}`},
		{name: "CreateFieldBadType", method: "POST", target: "/api/v2/personFields", body: `{"field_name":"x","field_type":"number"}`, wantErr: "field_type"},
		{name: "NoToken", method: "GET", target: "/api/v2/persons/101", auth: "-", wantErr: "x-api-token"},
		{name: "TokenInURL", method: "GET", target: "/api/v2/persons/101?api_token=secret", wantErr: "in the URL"},
		{name: "UnknownPath", method: "GET", target: "/api/v2/deals", wantErr: "no matching operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.auth != "-" {
				r.Header.Set("x-api-token", "0123456789abcdef")
			}
			if tt.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			err := v.Validate(r, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
