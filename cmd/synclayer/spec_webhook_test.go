package main

import (
	"bytes"
	"slices"
	"testing"
)

// TestSpec_Webhooks sends the webhook ingress each answer it gives, and
// the server paths and methods no route takes, through the spec check:
// each exchange must be documented in api/openapi.yaml and match it.
func TestSpec_Webhooks(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	body := mustMarshal(shopifyCustomer(1301, "spec@example.com", "Spec", 0, "", 0))
	signed := shopifyHeaders("customers/create", "wh-spec-1", body, shopifySecret)

	if status, reply := a.post("/webhooks/shopify", body, signed.Clone()); status != 200 || reply["status"] != "accepted" {
		t.Errorf("signed delivery: %d %v", status, reply)
	}
	if status, reply := a.post("/webhooks/shopify", body, signed.Clone()); status != 200 || reply["status"] != "duplicate" {
		t.Errorf("redelivery: %d %v", status, reply)
	}
	noTopic := shopifyHeaders("customers/create", "wh-spec-2", body, shopifySecret)
	noTopic.Del("X-Shopify-Topic")
	status, reply := a.post("/webhooks/shopify", body, noTopic)
	wantError(t, status, reply, 400, "invalid", "X-Shopify-Topic")
	status, reply = a.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "wh-spec-3", body, "wrong-secret"))
	wantError(t, status, reply, 401, "unauthorized", "")
	status, reply = a.post("/webhooks/magento", body, signed.Clone())
	wantError(t, status, reply, 404, "not_found", "")
	big := bytes.Repeat([]byte(" "), 2<<20)
	status, reply = a.post("/webhooks/shopify", big, shopifyHeaders("customers/create", "wh-spec-4", big, shopifySecret))
	wantError(t, status, reply, 413, "too_large", "")
	// A GET is a URL check only a source that checks URLs answers.
	status, reply = a.call("GET", "/webhooks/shopify", "", nil)
	wantError(t, status, reply, 405, "method_not_allowed", "")
	if got := a.spec.statuses("GET /webhooks/{source}"); !slices.Contains(got, 405) {
		t.Errorf("GET /webhooks/{source} was not checked against the spec: %v", got)
	}
	status, reply = a.call("PUT", "/webhooks/shopify", "", nil)
	wantError(t, status, reply, 405, "method_not_allowed", "")

	got := a.spec.statuses("POST /webhooks/{source}")
	for _, want := range []int{200, 400, 401, 404, 413} {
		if !slices.Contains(got, want) {
			t.Errorf("POST /webhooks/{source} never answered %d (statuses %v)", want, got)
		}
	}

	t.Run("UnroutedIsJSON", func(t *testing.T) {
		viewer := a.keys["viewer"]
		status, reply := a.call("GET", "/api/v1/nope", viewer, nil)
		wantError(t, status, reply, 404, "not_found", "")
		status, reply = a.call("DELETE", "/api/v1/skills", viewer, nil)
		wantError(t, status, reply, 405, "method_not_allowed", "")
		if got := a.spec.statuses("unrouted 404"); len(got) == 0 {
			t.Error("the unrouted 404 was not checked against the Error schema")
		}
		if got := a.spec.statuses("unrouted 405"); len(got) < 2 {
			t.Errorf("the unrouted 405s were not checked against the Error schema: %v", got)
		}
	})
}
