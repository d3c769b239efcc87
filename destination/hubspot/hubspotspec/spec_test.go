package hubspotspec_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer/destination/hubspot/hubspotspec"
)

func TestValidator_Validate(t *testing.T) {
	v := hubspotspec.Load(t)
	const upsert = `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{"email":"a@example.com","firstname":"A"}}]}`
	tests := []struct {
		name, method, target, body, auth string
		wantErr                          string
	}{
		{name: "Upsert", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", body: upsert},
		{name: "UpsertNumberValue", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert",
			body: `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{"n":3}}]}`, wantErr: "string"},
		{name: "UpsertNoID", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert",
			body: `{"inputs":[{"idProperty":"email","properties":{}}]}`, wantErr: "id"},
		{name: "NoAuth", method: "POST", target: "/crm/v3/objects/contacts/batch/upsert", body: upsert, auth: "-", wantErr: "Bearer"},
		{name: "Get", method: "GET", target: "/crm/v3/objects/contacts/a@example.com?idProperty=email&properties=email,firstname"},
		{name: "Patch", method: "PATCH", target: "/crm/v3/objects/contacts/101", body: `{"properties":{"email":"b@example.com"}}`},
		{name: "Archive", method: "DELETE", target: "/crm/v3/objects/contacts/101"},
		{name: "GDPRDelete", method: "POST", target: "/crm/v3/objects/contacts/gdpr-delete", body: `{"objectId":"a@example.com","idProperty":"email"}`},
		{name: "Properties", method: "GET", target: "/crm/v3/properties/contacts"},
		{name: "CreateProperty", method: "POST", target: "/crm/v3/properties/contacts",
			body: `{"name":"synclayer_total_orders","label":"Total orders","type":"number","fieldType":"number","groupName":"contactinformation"}`},
		{name: "CreatePropertyBadFieldType", method: "POST", target: "/crm/v3/properties/contacts",
			body: `{"name":"x","label":"X","type":"string","fieldType":"bigtext","groupName":"contactinformation"}`, wantErr: "fieldType"},
		{name: "Status", method: "GET", target: "/communication-preferences/v3/status/email/a@example.com"},
		{name: "Unsubscribe", method: "POST", target: "/communication-preferences/v3/unsubscribe", body: `{"emailAddress":"a@example.com","subscriptionId":"1001"}`},
		{name: "Subscribe", method: "POST", target: "/communication-preferences/v3/subscribe",
			body: `{"emailAddress":"a@example.com","subscriptionId":"1001","legalBasis":"CONSENT_WITH_NOTICE","legalBasisExplanation":"opted in at checkout"}`},
		{name: "SubscribeBadLegalBasis", method: "POST", target: "/communication-preferences/v3/subscribe",
			body: `{"emailAddress":"a@example.com","subscriptionId":"1001","legalBasis":"BECAUSE"}`, wantErr: "legalBasis"},
		{name: "UpsertTask", method: "POST", target: "/crm/v3/objects/tasks/batch/upsert",
			body: `{"inputs":[{"id":"wf_1","idProperty":"synclayer_action_key","properties":{"hs_task_subject":"Call","hs_timestamp":"2026-12-09T10:00:00Z","hs_task_status":"NOT_STARTED"}}]}`},
		{name: "UpsertNote", method: "POST", target: "/crm/v3/objects/notes/batch/upsert",
			body: `{"inputs":[{"id":"wf_2","idProperty":"synclayer_action_key","properties":{"hs_note_body":"Asked to cancel","hs_timestamp":"2026-12-07T10:00:00Z"}}]}`},
		{name: "UnknownPath", method: "POST", target: "/crm/v3/objects/deals", body: `{}`, wantErr: "no matching operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.auth != "-" {
				r.Header.Set("Authorization", "Bearer pat-na1-test")
			}
			r.Header.Set("Content-Type", "application/json")
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
