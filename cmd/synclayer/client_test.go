package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"synclayer"
	"synclayer/adminclient"
)

func (a *apiEnv) newClient(role synclayer.Role) *adminclient.Client {
	return adminclient.New(a.base, a.keys[role], adminclient.WithHTTPClient(a.client))
}

func wantClientError(t *testing.T, err error, status int, code, field string) {
	t.Helper()
	var e *adminclient.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || e.Field != field {
		t.Errorf("error %v, want %d %s naming %q", err, status, code, field)
	}
}

// TestClient_EnableAndTrigger is the README's developer example: enable
// customer-sync with a new mapping and list at runtime, trigger an event,
// and follow it to Brevo through the contact and its trace.
func TestClient_EnableAndTrigger(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	ctx := context.Background()
	c := a.newClient(synclayer.RoleAdmin)

	sk, err := c.Skills().Enable(ctx, "customer-sync", map[string]any{
		"source":        []string{"shopify", "custom"},
		"field_mapping": map[string]string{"email": "email", "firstName": "FIRSTNAME", "customerTier": "LOYALTY"},
		"options":       map[string]any{"list_id": 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	var cfg CustomerSyncConfig
	_ = json.Unmarshal(sk.Config, &cfg)
	if !sk.Enabled || !slices.Equal(sk.Sources, []string{"shopify", "custom"}) || optionInt(cfg.Options, "list_id") != 7 {
		t.Errorf("enabled skill: %+v, config %+v", sk, cfg)
	}
	if !slices.Contains(a.sim.Attributes(), "LOYALTY") {
		t.Errorf("the new mapping's attribute was not created in Brevo: %v", a.sim.Attributes())
	}

	res, err := c.Skills().Trigger(ctx, "customer-sync", "customer_created",
		map[string]any{"id": "dev-1", "email": "Dev@Example.com", "firstName": "Dev", "lastName": "Eloper", "customerTier": "gold"})
	if err != nil || res.Status != "applied" || res.ContactID == "" {
		t.Fatalf("trigger: %+v, %v", res, err)
	}
	a.shopify("customers/create", shopifyCustomer(1301, "listed@example.com", "Li", 0, "subscribed", 0))
	a.waitIdle(10 * time.Second)
	if got := a.contact("dev@example.com"); got.Attributes["LOYALTY"] != "gold" || got.Attributes["LASTNAME"] != nil {
		t.Errorf("Brevo contact %+v: want the new mapping (LOYALTY, no LASTNAME)", got)
	}
	if got := a.contact("listed@example.com"); !hasList(got, 7) || hasList(got, 5) {
		t.Errorf("opted-in contact in lists %v, want the new list 7", got.ListIDs)
	}

	found, err := c.Contacts().Find(ctx, "dev@example.com")
	if err != nil || len(found) != 1 || found[0].ID != res.ContactID {
		t.Fatalf("find: %+v, %v", found, err)
	}
	got, err := c.Contacts().Get(ctx, res.ContactID)
	if err != nil || got.Email != "dev@example.com" || got.SourceIDs["manual"] != "dev-1" {
		t.Errorf("get: %+v, %v", got, err)
	}
	trace, err := c.Contacts().Trace(ctx, res.ContactID)
	if err != nil || len(trace) < 2 || trace[0].Kind != synclayer.TraceEvent || trace[len(trace)-1].Kind != synclayer.TraceDelivery {
		t.Errorf("trace: %+v, %v; want the event, then the delivery", trace, err)
	}
	_, err = c.Contacts().Get(ctx, "ct_missing")
	wantClientError(t, err, 404, synclayer.ENOTFOUND, "")
}

// TestClient_DisableAndReenable checks that disabling stops deliveries at
// once, without a restart, and that the listed config enables it again.
func TestClient_DisableAndReenable(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	ctx := context.Background()
	c := a.newClient(synclayer.RoleAdmin)

	sk, err := c.Skills().Disable(ctx, "customer-sync")
	if err != nil || sk.Enabled {
		t.Fatalf("disable: %+v, %v", sk, err)
	}
	a.shopify("customers/create", shopifyCustomer(1401, "off@example.com", "Off", 0, "subscribed", 0))
	if counts, _ := a.m.DB.CountJobs(ctx); counts[synclayer.JobPending] != 0 {
		t.Errorf("a disabled skill got jobs: %v", counts)
	}
	_, err = c.Skills().Trigger(ctx, "customer-sync", "customer_created", map[string]any{"id": "x", "email": "x@example.com"})
	wantClientError(t, err, 409, synclayer.ECONFLICT, "")

	if sk, err = c.Skills().Enable(ctx, "customer-sync", sk.Config); err != nil || !sk.Enabled {
		t.Fatalf("re-enable with the listed config: %+v, %v", sk, err)
	}
	a.shopify("customers/create", shopifyCustomer(1402, "on@example.com", "On", 0, "subscribed", 0))
	a.waitIdle(10 * time.Second)
	if got := a.contact("on@example.com"); !hasList(got, 5) {
		t.Errorf("after re-enabling: %+v", got)
	}
	if _, ok := a.sim.ContactByEmail("off@example.com"); ok {
		t.Error("a change made while the skill was disabled was delivered")
	}
}

func TestClient_DLQAndErrors(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	ctx := context.Background()
	op := a.newClient(synclayer.RoleOperator)
	retry, discard := a.deadJob("ct_a"), a.deadJob("ct_b")

	dead, err := op.DLQ().List(ctx)
	if err != nil || len(dead) != 2 || dead[0].LastError == "" {
		t.Fatalf("dlq list: %+v, %v", dead, err)
	}
	if err := op.DLQ().Retry(ctx, retry); err != nil {
		t.Fatal(err)
	}
	wantClientError(t, op.DLQ().Retry(ctx, retry), 404, synclayer.ENOTFOUND, "")
	if err := op.DLQ().Delete(ctx, discard); err != nil {
		t.Fatal(err)
	}
	if dead, _ := op.DLQ().List(ctx); len(dead) != 0 {
		t.Errorf("dead jobs left: %+v", dead)
	}
	if pending, err := op.Jobs().List(ctx, synclayer.JobPending); err != nil || len(pending) != 1 || pending[0].ID != retry {
		t.Errorf("pending after retry: %+v, %v", pending, err)
	}

	_, err = a.newClient(synclayer.RoleViewer).Skills().Enable(ctx, "customer-sync", map[string]any{"source": "shopify"})
	wantClientError(t, err, 403, synclayer.EFORBIDDEN, "")
	_, err = adminclient.New(a.base, "sl_wrong", adminclient.WithHTTPClient(a.client)).DLQ().List(ctx)
	wantClientError(t, err, 401, synclayer.EUNAUTHORIZED, "")
	_, err = a.newClient(synclayer.RoleAdmin).Skills().Enable(ctx, "customer-sync", map[string]any{"source": "shopify", "options": map[string]any{"list_id": -1}})
	wantClientError(t, err, 400, synclayer.EINVALID, "options.list_id")
	if adminclient.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("ErrorCode(%v) = %q", err, adminclient.ErrorCode(err))
	}
}
