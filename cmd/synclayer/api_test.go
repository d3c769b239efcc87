package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/api"
	"synclayer/destination/brevo/brevosim"
)

// apiEnv is a running server with one key per role, whose every admin API
// exchange is checked against api/openapi.yaml.
type apiEnv struct {
	*env
	spec   *specTransport
	client *http.Client
	keys   map[synclayer.Role]string
}

var roles = []synclayer.Role{synclayer.RoleViewer, synclayer.RoleOperator, synclayer.RoleAdmin}

func startAPI(t *testing.T, opts ...envOption) *apiEnv {
	e := startEnv(t, brevosim.Options{}, opts...)
	spec := newSpecTransport(t)
	a := &apiEnv{env: e, spec: spec, client: &http.Client{Transport: spec, Timeout: 30 * time.Second}, keys: map[synclayer.Role]string{}}
	e.client = a.client // webhooks are checked against the spec too
	for _, r := range roles {
		a.keys[r] = e.apiKey(r)
	}
	return a
}

// call sends body (raw []byte, or a value sent as JSON) with key ("" for
// none) and returns the status and the decoded answer.
func (a *apiEnv) call(method, path, key string, body any) (int, map[string]any) {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		r = bytes.NewReader(mustMarshal(b))
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
		a.t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
	}
	return resp.StatusCode, out
}

// wantError checks an error answer's status, code and, if given, field.
func wantError(t *testing.T, status int, reply map[string]any, wantStatus int, code, field string) {
	t.Helper()
	e, _ := reply["error"].(map[string]any)
	if status != wantStatus || e["code"] != code || (field != "" && e["field"] != field) {
		t.Errorf("got %d %v, want %d %s naming %q", status, reply, wantStatus, code, field)
	}
}

func customerSyncConfig(listID int, sources ...string) map[string]any {
	return map[string]any{
		"source":        sources,
		"field_mapping": map[string]string{"email": "email", "firstName": "FIRSTNAME", "phone": "SMS"},
		"options":       map[string]any{"list_id": listID, "delete_behavior": "soft"},
	}
}

// TestAPI_Roles drives every secured endpoint with no key and with each
// role: allowed roles get the documented answer, a missing key 401 and a
// lower role 403. Every exchange is validated against api/openapi.yaml, and
// at the end every operation in it must have been answered.
func TestAPI_Roles(t *testing.T) {
	t.Parallel()
	// Mailchimp's simulator with a webhook: its URL check is the GET of
	// /webhooks/{source}.
	a := startAPI(t, func(c *Config) {
		c.Destinations["mailchimp"] = &DestinationSection{Settings: map[string]any{"webhook": map[string]any{"secret": mailchimpWebhookSecret}}}
	})
	if status, reply := a.call("GET", "/webhooks/mailchimp?secret="+mailchimpWebhookSecret, "", nil); status != 200 {
		t.Errorf("Mailchimp's URL check: %d %v, want 200", status, reply)
	}
	customer := shopifyCustomer(1201, "api@example.com", "Api", 0, "subscribed", 0)
	customer["default_address"] = map[string]any{"company": "Api Corp"}
	_, reply := a.shopify("customers/create", customer)
	contactID := reply["events"].([]any)[0].(map[string]any)["contactId"].(string)
	a.waitIdle(10 * time.Second)
	companyID := func() string {
		_, reply := a.call("GET", "/api/v1/companies?name=api", a.keys[synclayer.RoleViewer], nil)
		if list, _ := reply["companies"].([]any); len(list) == 1 {
			return "/api/v1/companies/" + list[0].(map[string]any)["id"].(string)
		}
		a.t.Fatalf("no company Api Corp: %v", reply)
		return ""
	}

	fixed := func(p string) func() string { return func() string { return p } }
	n := 0
	for _, tc := range []struct {
		name   string
		method string
		path   func() string
		body   any
		need   synclayer.Role
		want   int
	}{
		{"SkillList", "GET", fixed("/api/v1/skills"), nil, synclayer.RoleViewer, 200},
		{"SkillPut", "PUT", fixed("/api/v1/skills/customer-sync"), customerSyncConfig(5, "shopify", "woocommerce", "custom"), synclayer.RoleAdmin, 200},
		{"SkillTrigger", "POST", fixed("/api/v1/skills/customer-sync/trigger"), map[string]any{"event": "customer_updated",
			"data": map[string]any{"id": "api-1", "email": "api@example.com", "firstName": "Trig"}}, synclayer.RoleOperator, 202},
		{"ContactList", "GET", fixed("/api/v1/contacts?email=API@example.com"), nil, synclayer.RoleViewer, 200},
		{"ContactGet", "GET", fixed("/api/v1/contacts/" + contactID), nil, synclayer.RoleViewer, 200},
		{"ContactTrace", "GET", fixed("/api/v1/contacts/" + contactID + "/trace"), nil, synclayer.RoleViewer, 200},
		{"CompanyList", "GET", fixed("/api/v1/companies?name=API"), nil, synclayer.RoleViewer, 200},
		{"CompanyGet", "GET", companyID, nil, synclayer.RoleViewer, 200},
		{"JobList", "GET", fixed("/api/v1/jobs?state=done&limit=10"), nil, synclayer.RoleViewer, 200},
		{"DLQList", "GET", fixed("/api/v1/dlq"), nil, synclayer.RoleViewer, 200},
		{"RejectionList", "GET", fixed("/api/v1/rejections?source=shopify&limit=5"), nil, synclayer.RoleOperator, 200},
		{"Stats", "GET", fixed("/api/v1/stats?window=24h"), nil, synclayer.RoleViewer, 200},
		{"DLQRetry", "POST", func() string { n++; return fmt.Sprintf("/api/v1/dlq/%d/retry", a.deadJob(fmt.Sprint("r", n))) }, nil, synclayer.RoleOperator, 200},
		{"DLQRetryAll", "POST", func() string { n++; a.deadJob(fmt.Sprint("ra", n)); return "/api/v1/dlq/retry" }, nil, synclayer.RoleOperator, 200},
		{"Replay", "POST", fixed("/api/v1/replay"), map[string]any{"since": "1h"}, synclayer.RoleOperator, 202},
		{"DLQDelete", "DELETE", func() string { n++; return fmt.Sprintf("/api/v1/dlq/%d", a.deadJob(fmt.Sprint("d", n))) }, nil, synclayer.RoleOperator, 204},
		{"KeyList", "GET", fixed("/api/v1/keys"), nil, synclayer.RoleAdmin, 200},
		{"KeyCreate", "POST", fixed("/api/v1/keys"), map[string]any{"role": "viewer", "name": "dashboard"}, synclayer.RoleAdmin, 201},
		{"KeyRevoke", "POST", func() string {
			k, _, _ := synclayer.NewAPIKey(synclayer.RoleViewer, "", time.Now())
			_ = a.m.DB.CreateKey(context.Background(), k)
			return "/api/v1/keys/" + k.ID + "/revoke"
		}, nil, synclayer.RoleAdmin, 204},
		{"ConfigVersions", "GET", fixed("/api/v1/config/versions"), nil, synclayer.RoleViewer, 200},
		{"ConfigVersion", "GET", fixed("/api/v1/config/versions/1"), nil, synclayer.RoleViewer, 200},
		{"ConfigRollback", "POST", fixed("/api/v1/config/rollback"), map[string]any{"version": 1}, synclayer.RoleAdmin, 200},
		{"SkillDisable", "POST", fixed("/api/v1/skills/customer-sync/disable"), nil, synclayer.RoleAdmin, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, reply := a.call(tc.method, tc.path(), "", tc.body)
			wantError(t, status, reply, 401, synclayer.EUNAUTHORIZED, "")
			for _, r := range roles {
				status, reply := a.call(tc.method, tc.path(), a.keys[r], tc.body)
				if !r.Allows(tc.need) {
					wantError(t, status, reply, 403, synclayer.EFORBIDDEN, "")
				} else if status != tc.want {
					t.Errorf("role %s: %d %v, want %d", r, status, reply, tc.want)
				}
			}
		})
	}

	t.Run("Open", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/api/v1/openapi.yaml"} {
			if status, _ := a.call("GET", p, "", nil); status != 200 {
				t.Errorf("GET %s without a key: %d, want 200", p, status)
			}
		}
	})
	t.Run("EveryOperationAnswered", func(t *testing.T) {
		doc, _ := loadSpec(t)
		for _, op := range operations(doc) {
			got := a.spec.statuses(op)
			if !slices.ContainsFunc(got, func(s int) bool { return s/100 == 2 }) {
				t.Errorf("%s: never answered 2xx (statuses %v)", op, got)
			}
			// The webhooks' 401 is a bad signature: TestSpec_Webhooks.
			open := strings.Contains(op, "healthz") || strings.Contains(op, "readyz") || strings.Contains(op, "openapi") || strings.Contains(op, "webhooks")
			if !open && !slices.Contains(got, 401) {
				t.Errorf("%s: 401 never exercised (statuses %v)", op, got)
			}
		}
	})
}

func TestAPI_Keys(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	for name, header := range map[string]string{"WrongScheme": "Basic " + a.keys[synclayer.RoleAdmin], "UnknownKey": "Bearer sl_notakey", "Empty": "Bearer "} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", a.base+"/api/v1/skills", nil)
			req.Header.Set("Authorization", header)
			resp, err := a.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	t.Run("RevokedAtOnce", func(t *testing.T) {
		status, created := a.call("POST", "/api/v1/keys", a.keys[synclayer.RoleAdmin], map[string]any{"role": "operator", "name": "ci"})
		if status != 201 || !strings.HasPrefix(fmt.Sprint(created["key"]), "sl_") {
			t.Fatalf("create: %d %v", status, created)
		}
		key := created["key"].(string)
		if status, _ := a.call("GET", "/api/v1/dlq", key, nil); status != 200 {
			t.Fatalf("new key: %d", status)
		}
		if status, _ := a.call("POST", "/api/v1/keys/"+created["id"].(string)+"/revoke", a.keys[synclayer.RoleAdmin], nil); status != 204 {
			t.Fatalf("revoke: %d", status)
		}
		status, reply := a.call("GET", "/api/v1/dlq", key, nil)
		wantError(t, status, reply, 401, synclayer.EUNAUTHORIZED, "")
		status, reply = a.call("POST", "/api/v1/keys/"+created["id"].(string)+"/revoke", a.keys[synclayer.RoleAdmin], nil)
		wantError(t, status, reply, 404, synclayer.ENOTFOUND, "")
	})
	t.Run("ListShowsNoSecret", func(t *testing.T) {
		_, reply := a.call("GET", "/api/v1/keys", a.keys[synclayer.RoleAdmin], nil)
		raw := string(mustMarshal(reply))
		for r, k := range a.keys {
			if strings.Contains(raw, k) {
				t.Errorf("key list shows the %s secret", r)
			}
		}
		if !strings.Contains(raw, "lastUsedAt") {
			t.Errorf("key list records no use: %s", raw)
		}
	})
	t.Run("BadRole", func(t *testing.T) {
		status, reply := a.call("POST", "/api/v1/keys", a.keys[synclayer.RoleAdmin], map[string]any{"role": "root"})
		wantError(t, status, reply, 400, synclayer.EINVALID, "role")
	})
}

func TestAPI_Errors(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	admin, op, viewer := a.keys[synclayer.RoleAdmin], a.keys[synclayer.RoleOperator], a.keys[synclayer.RoleViewer]
	for _, tc := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		code, field             string
	}{
		{"ContactMissing", "GET", "/api/v1/contacts/ct_missing", viewer, nil, 404, synclayer.ENOTFOUND, ""},
		{"TraceMissing", "GET", "/api/v1/contacts/ct_missing/trace", viewer, nil, 404, synclayer.ENOTFOUND, ""},
		{"BadLimit", "GET", "/api/v1/contacts?limit=0", viewer, nil, 400, synclayer.EINVALID, "limit"},
		{"BadJobState", "GET", "/api/v1/jobs?state=stuck", viewer, nil, 400, synclayer.EINVALID, "state"},
		{"BadStatsWindow", "GET", "/api/v1/stats?window=2h", viewer, nil, 400, synclayer.EINVALID, "window"},
		{"DLQRetryMissing", "POST", "/api/v1/dlq/424242/retry", op, nil, 404, synclayer.ENOTFOUND, ""},
		{"DLQRetryBadID", "POST", "/api/v1/dlq/abc/retry", op, nil, 400, synclayer.EINVALID, "id"},
		{"DLQDeleteMissing", "DELETE", "/api/v1/dlq/424242", op, nil, 404, synclayer.ENOTFOUND, ""},
		{"UnknownSkill", "PUT", "/api/v1/skills/order-sync", admin, customerSyncConfig(5, "shopify"), 404, synclayer.ENOTFOUND, ""},
		{"UnknownSkillTrigger", "POST", "/api/v1/skills/order-sync/trigger", op, map[string]any{"event": "customer_created", "data": map[string]any{}}, 404, synclayer.ENOTFOUND, ""},
		{"FileSkillPut", "PUT", "/api/v1/skills/order-events", admin, map[string]any{"source": "shopify"}, 409, synclayer.ECONFLICT, ""},
		{"FileSkillDisable", "POST", "/api/v1/skills/product-catalog/disable", admin, nil, 409, synclayer.ECONFLICT, ""},
		{"MalformedJSON", "PUT", "/api/v1/skills/customer-sync", admin, []byte(`{"source": [`), 400, synclayer.EINVALID, "body"},
		{"UnknownKey", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": "shopify", "options": map[string]any{"lis_id": 5}}, 400, synclayer.EINVALID, "options.lis_id"},
		{"WrongType", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": "shopify", "options": map[string]any{"list_id": "five"}}, 400, synclayer.EINVALID, "options.list_id"},
		{"SourceWrongType", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": 7}, 400, synclayer.EINVALID, "source"},
		{"EnabledFalse", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"enabled": false, "source": "shopify"}, 400, synclayer.EINVALID, "enabled"},
		{"NoSource", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"options": map[string]any{"list_id": 5}}, 400, synclayer.EINVALID, "source"},
		{"UnconfiguredSource", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": []string{"shopify", "magento"}}, 400, synclayer.EINVALID, "source[1]"},
		{"BatchTooFast", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": "shopify", "options": map[string]any{"sync_mode": "batch", "batch": map[string]any{"interval": "10ms"}}}, 400, synclayer.EINVALID, "options.batch.interval"},
		{"MappingWithoutEmail", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": "shopify", "field_mapping": map[string]string{"firstName": "FIRSTNAME"}}, 400, synclayer.EINVALID, "field_mapping"},
		{"LowercaseAttribute", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": "shopify", "field_mapping": map[string]string{"email": "email", "firstName": "firstname"}}, 400, synclayer.EINVALID, "field_mapping.firstName"},
		{"MissingAttributeNotCreated", "PUT", "/api/v1/skills/customer-sync", admin, map[string]any{"source": "shopify",
			"field_mapping": map[string]string{"email": "email", "customerTier": "LOYALTY_TIER"}, "options": map[string]any{"create_attributes": false}}, 400, synclayer.EINVALID, "field_mapping"},
		{"TooLarge", "PUT", "/api/v1/skills/customer-sync", admin, bytes.Repeat([]byte(" "), 2<<20), 413, synclayer.ETOOLARGE, ""},
		{"TriggerUnknownEvent", "POST", "/api/v1/skills/customer-sync/trigger", op, map[string]any{"event": "customer_exploded", "data": map[string]any{"id": "x"}}, 400, synclayer.EINVALID, "event"},
		{"TriggerNoIdentity", "POST", "/api/v1/skills/customer-sync/trigger", op, map[string]any{"event": "customer_created", "data": map[string]any{"firstName": "X"}}, 400, synclayer.EINVALID, "data.id"},
		{"TriggerNoData", "POST", "/api/v1/skills/customer-sync/trigger", op, map[string]any{"event": "customer_created"}, 400, synclayer.EINVALID, "data"},
		{"TriggerWrongType", "POST", "/api/v1/skills/customer-sync/trigger", op, map[string]any{"event": "customer_created", "data": map[string]any{"id": "x", "tags": []any{"a", 2}}}, 400, synclayer.EINVALID, "data.tags[1]"},
		{"TriggerUnknownKey", "POST", "/api/v1/skills/customer-sync/trigger", op, map[string]any{"evnt": "customer_created"}, 400, synclayer.EINVALID, "evnt"},
		{"ConfigVersionMissing", "GET", "/api/v1/config/versions/999", viewer, nil, 404, synclayer.ENOTFOUND, ""},
		{"ConfigVersionBad", "GET", "/api/v1/config/versions/first", viewer, nil, 400, synclayer.EINVALID, "n"},
		{"RollbackMissing", "POST", "/api/v1/config/rollback", admin, map[string]any{"version": 999}, 404, synclayer.ENOTFOUND, ""},
		{"RollbackNoVersion", "POST", "/api/v1/config/rollback", admin, map[string]any{}, 400, synclayer.EINVALID, "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, reply := a.call(tc.method, tc.path, tc.key, tc.body)
			wantError(t, status, reply, tc.status, tc.code, tc.field)
		})
	}
	// None of the refused changes was applied. The skills set in the file
	// are listed, and marked as not changeable here.
	_, reply := a.call("GET", "/api/v1/skills", viewer, nil)
	var listed []string
	for _, sk := range reply["skills"].([]any) {
		sk := sk.(map[string]any)
		listed = append(listed, fmt.Sprintf("%s editable=%v", sk["name"], sk["editable"]))
	}
	if got, want := strings.Join(listed, "; "), "customer-sync editable=true; order-events editable=false; product-catalog editable=false"; !strings.HasPrefix(got, want) {
		t.Errorf("GET /api/v1/skills lists %q, want it to start with %q", got, want)
	}
	cfg := reply["skills"].([]any)[0].(map[string]any)["config"].(map[string]any)
	if opts := cfg["options"].(map[string]any); opts["list_id"] != 5.0 || opts["sync_mode"] != "realtime" {
		t.Errorf("a refused change was applied: %v", cfg)
	}
}

func TestAPI_OpenAPIServed(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	resp, err := http.Get(a.base + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, api.OpenAPI()) || !strings.Contains(resp.Header.Get("Content-Type"), "yaml") {
		t.Errorf("GET /api/v1/openapi.yaml: %d %s, %d bytes; want the embedded document", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}
