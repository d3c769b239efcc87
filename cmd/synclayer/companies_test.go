package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"synclayer"
)

// TestAPI_Companies: a Shopify customer's address company and a
// WooCommerce customer's billing company that spell one company two ways
// are one company in the admin API, listing both contacts, and each
// contact's companyId names it; every answer held to the API's spec.
func TestAPI_Companies(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	viewer := a.keys[synclayer.RoleViewer]
	ann := shopifyCustomer(5101, "ann@acme.example", "Ann", 0, "", 0)
	ann["default_address"] = map[string]any{"company": "ACME  Inc", "city": "Paris"}
	a.mustAccept(a.shopify("customers/create", ann))
	a.mustAccept(a.woo("customer.created", map[string]any{"id": 77, "email": "bob@acme.example", "first_name": "Bob",
		"date_modified_gmt": "2026-11-20T10:00:00", "billing": map[string]any{"company": "acme inc"}}))
	a.waitIdle(10 * time.Second)

	status, reply := a.call("GET", "/api/v1/companies?name="+url.QueryEscape("Acme"), viewer, nil)
	list, _ := reply["companies"].([]any)
	if status != 200 || len(list) != 1 {
		t.Fatalf("GET /api/v1/companies?name=Acme: %d %v, want one company", status, reply)
	}
	id, _ := list[0].(map[string]any)["id"].(string)
	status, co := a.call("GET", "/api/v1/companies/"+id, viewer, nil)
	contacts, _ := co["contacts"].([]any)
	if status != 200 || len(contacts) != 2 || co["key"] != "acme inc" {
		t.Fatalf("GET /api/v1/companies/%s: %d %v, want acme inc with two contacts", id, status, co)
	}
	for _, cid := range contacts {
		_, c := a.call("GET", "/api/v1/contacts/"+cid.(string), viewer, nil)
		f, _ := c["fields"].(map[string]any)[synclayer.FieldCompanyID].(map[string]any)
		if f["v"] != id {
			t.Errorf("contact %s companyId = %v, want %s", cid, f, id)
		}
	}
	status, reply = a.call("GET", "/api/v1/companies/co_missing", viewer, nil)
	wantError(t, status, reply, 404, synclayer.ENOTFOUND, "")
}

// TestAPI_Rejections: a refused webhook is kept for inspection: GET
// /api/v1/rejections shows its status, code, message and body, without
// the signature header, to an operator only, filtered by source.
func TestAPI_Rejections(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	body := []byte(`{"id":5150,"email":"refused@example.com"}`)
	status, _ := a.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "rej-1", body, "wrong-secret"))
	if status != 401 {
		t.Fatalf("a webhook signed with the wrong secret: %d, want 401", status)
	}
	status, reply := a.call("GET", "/api/v1/rejections?source=shopify", a.keys[synclayer.RoleOperator], nil)
	list, _ := reply["rejections"].([]any)
	if status != 200 || len(list) != 1 {
		t.Fatalf("GET /api/v1/rejections: %d %v, want the one rejection", status, reply)
	}
	r := list[0].(map[string]any)
	headers, _ := r["headers"].(map[string]any)
	if r["status"] != float64(401) || r["code"] != synclayer.EUNAUTHORIZED || !strings.Contains(fmt.Sprint(r["message"]), "X-Shopify-Hmac-Sha256") ||
		r["body"] != string(body) || headers["X-Shopify-Hmac-Sha256"] != nil {
		t.Errorf("rejection %v", r)
	}
	if status, reply := a.call("GET", "/api/v1/rejections?source=woocommerce", a.keys[synclayer.RoleOperator], nil); status != 200 || len(reply["rejections"].([]any)) != 0 {
		t.Errorf("another source's rejections: %d %v, want none", status, reply)
	}
	status, reply = a.call("GET", "/api/v1/rejections", a.keys[synclayer.RoleViewer], nil)
	wantError(t, status, reply, 403, synclayer.EFORBIDDEN, "")
}
