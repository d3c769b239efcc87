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
		{name: "UnknownPath", method: "GET", target: "/api/v3/deals", wantErr: "no matching operation"},
		{name: "UnknownOperation", method: "GET", target: "/api/v2/leads", wantErr: "no matching operation"},
		{name: "OrgSearch", method: "GET", target: "/api/v2/organizations/search?term=Acme&fields=name&exact_match=true&limit=10"},
		{name: "OrgCreate", method: "POST", target: "/api/v2/organizations", body: `{"name":"Acme"}`},
		{name: "OrgCreateUnknown", method: "POST", target: "/api/v2/organizations", body: `{"title":"Acme"}`, wantErr: "title"},
		{name: "DealCreate", method: "POST", target: "/api/v2/deals", body: `{"title":"Order #1","value":12.5,"currency":"EUR","person_id":101,"org_id":102,"status":"won","custom_fields":{"0123456789abcdef0123456789abcdef01234567":"ord_1"}}`},
		{name: "DealCreateNoTitle", method: "POST", target: "/api/v2/deals", body: `{"value":1}`, wantErr: "title"},
		{name: "DealBadStatus", method: "PATCH", target: "/api/v2/deals/5", body: `{"status":"paid"}`, wantErr: "status"},
		{name: "DealSearch", method: "GET", target: "/api/v2/deals/search?term=ord_1&fields=custom_fields&exact_match=true"},
		{name: "DealFieldCreate", method: "POST", target: "/api/v2/dealFields", body: `{"field_name":"synclayer_order_id","field_type":"varchar"}`},
		{name: "Activity", method: "POST", target: "/api/v2/activities", body: `{"subject":"Call","type":"task","person_id":101,"owner_id":1,"due_date":"2026-01-02","due_time":"10:00","note":"n"}`},
		{name: "ActivityBadDate", method: "POST", target: "/api/v2/activities", body: `{"subject":"Call","due_date":"2026-01-02T10:00:00Z"}`, wantErr: "due_date"},
		{name: "Activities", method: "GET", target: "/api/v2/activities?person_id=101&limit=500"},
		{name: "Note", method: "POST", target: "/api/v1/notes", body: `{"content":"hello","person_id":101}`},
		{name: "NoteEmpty", method: "POST", target: "/api/v1/notes", body: `{"content":"","person_id":101}`, wantErr: "content"},
		{name: "Notes", method: "GET", target: "/api/v1/notes?person_id=101&start=0&limit=500"},
		{name: "Users", method: "GET", target: "/api/v1/users"},
		{name: "Webhooks", method: "GET", target: "/api/v1/webhooks"},
		{name: "WebhookCreate", method: "POST", target: "/api/v1/webhooks", body: `{"subscription_url":"https://x.example/webhooks/pd","event_action":"*","event_object":"person","name":"synclayer","http_auth_user":"u","http_auth_password":"p","version":"2.0"}`},
		{name: "WebhookBadObject", method: "POST", target: "/api/v1/webhooks", body: `{"subscription_url":"https://x.example/","event_action":"*","event_object":"people","name":"s"}`, wantErr: "event_object"},
		{name: "WebhookDelete", method: "DELETE", target: "/api/v1/webhooks/7"},
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
