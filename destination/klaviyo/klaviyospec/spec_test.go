package klaviyospec_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer/destination/klaviyo/klaviyospec"
)

func TestValidator_Validate(t *testing.T) {
	v := klaviyospec.Load(t)
	const bulkBody = `{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[` +
		`{"type":"profile","attributes":{"email":"a@example.com","external_id":"c1","properties":{"Total Orders":3}}},` +
		`{"type":"profile","id":"01SIM1","attributes":{"email":"b@example.com","first_name":"B"}}]}}}}`
	const importBody = `{"data":{"type":"profile","attributes":{"email":"a@example.com","external_id":"c1","properties":{"Total Orders":3}}}}`
	tests := []struct {
		name, method, target, body string
		header                     map[string]string
		wantErr                    string
	}{
		{name: "Upsert", method: "POST", target: "/api/profile-import", body: importBody},
		{name: "NoRevision", method: "POST", target: "/api/profile-import", body: importBody, header: map[string]string{"revision": ""}, wantErr: "revision"},
		{name: "NoAuth", method: "POST", target: "/api/profile-import", body: importBody, header: map[string]string{"Authorization": ""}, wantErr: "Klaviyo-API-Key"},
		{name: "WrongType", method: "POST", target: "/api/profile-import", body: `{"data":{"type":"list","attributes":{}}}`, wantErr: "type"},
		{name: "NoData", method: "POST", target: "/api/profile-import", body: `{}`, wantErr: "data"},
		{name: "UnknownPath", method: "POST", target: "/api/nothing", body: `{}`, wantErr: "no matching operation"},
		{name: "Filter", method: "GET", target: `/api/profiles?filter=equals(external_id,"c1")&additional-fields[profile]=subscriptions`},
		{name: "BadAdditionalField", method: "GET", target: `/api/profiles?additional-fields[profile]=everything`, wantErr: "additional-fields"},
		{name: "Unsubscribe", method: "POST", target: "/api/profile-subscription-bulk-delete-jobs",
			body: `{"data":{"type":"profile-subscription-bulk-delete-job","attributes":{"profiles":{"data":[{"type":"profile","attributes":{"email":"a@example.com","subscriptions":{"email":{"marketing":{"consent":"UNSUBSCRIBED"}}}}}]}}}}`},
		{name: "SubscribeWrongConsent", method: "POST", target: "/api/profile-subscription-bulk-create-jobs",
			body:    `{"data":{"type":"profile-subscription-bulk-create-job","attributes":{"profiles":{"data":[{"type":"profile","attributes":{"email":"a@example.com","subscriptions":{"email":{"marketing":{"consent":"UNSUBSCRIBED"}}}}}]}}}}`,
			wantErr: "consent"},
		{name: "BulkImport", method: "POST", target: "/api/profile-bulk-import-jobs", body: bulkBody},
		{name: "BulkImportWrongType", method: "POST", target: "/api/profile-bulk-import-jobs",
			body: strings.Replace(bulkBody, "profile-bulk-import-job", "profile-import-job", 1), wantErr: "type"},
		{name: "BulkImportNoProfiles", method: "POST", target: "/api/profile-bulk-import-jobs",
			body: `{"data":{"type":"profile-bulk-import-job","attributes":{}}}`, wantErr: "profiles"},
		{name: "BulkJob", method: "GET", target: "/api/profile-bulk-import-jobs/01SIMJOB1"},
		{name: "BulkJobBadField", method: "GET", target: "/api/profile-bulk-import-jobs/01SIMJOB1?fields[profile-bulk-import-job]=everything", wantErr: "fields"},
		{name: "ImportErrors", method: "GET", target: "/api/profile-bulk-import-jobs/01SIMJOB1/import-errors?page[size]=100&page[cursor]=100"},
		{name: "SuppressedProfiles", method: "GET", target: "/api/profiles?additional-fields[profile]=subscriptions&filter=greater-than(subscriptions.email.marketing.suppression.timestamp,2026-05-01T11:45:00.000Z)" +
			"&page[size]=100&sort=subscriptions.email.marketing.suppression.timestamp&page[cursor]=abc"},
		{name: "ProfilesBadSort", method: "GET", target: "/api/profiles?sort=subscriptions.email.marketing.consent_timestamp", wantErr: "sort"},
		{name: "Events", method: "GET", target: `/api/events?fields[event]=datetime&fields[profile]=email,external_id&filter=and(equals(metric_id,"UwnyvV"),greater-than(datetime,2026-05-01T11:45:00.000Z))` +
			"&include=profile&page[size]=200&sort=datetime"},
		{name: "EventsPageTooBig", method: "GET", target: "/api/events?page[size]=1001", wantErr: "page[size]"},
		{name: "EventsBadInclude", method: "GET", target: "/api/events?include=lists", wantErr: "include"},
		{name: "Metrics", method: "GET", target: "/api/metrics?fields[metric]=name,integration&page[cursor]=abc"},
		{name: "ImportErrorsPageTooBig", method: "GET", target: "/api/profile-bulk-import-jobs/01SIMJOB1/import-errors?page[size]=101", wantErr: "page[size]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			r.Header.Set("Authorization", "Klaviyo-API-Key pk_test")
			r.Header.Set("revision", "2026-07-15")
			r.Header.Set("Content-Type", "application/vnd.api+json")
			for k, val := range tt.header {
				if val == "" {
					r.Header.Del(k)
				} else {
					r.Header.Set(k, val)
				}
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
