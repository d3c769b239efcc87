package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/source/shopify/shopifysim"
)

// TestReconcileSources_Shopify: customers changed in the shop without a
// webhook reach Brevo through the reconciliation, once; one whose webhook
// came is read again and written to Brevo no more; one updated before
// the window is left to backfill; a second pass, from the stored cursor,
// reads them again as duplicates and calls Brevo no more; a later change
// is read by the next pass.
func TestReconcileSources_Shopify(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64 // how far the shop's clock is ahead of ours
	shop := shopifysim.New(shopifysim.Options{AccessToken: "shpat_recon", Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	hs := httptest.NewServer(shop)
	t.Cleanup(hs.Close)
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources["shopify"].Settings = map[string]any{"admin": map[string]any{
			"shop": "demo.myshopify.com", "access_token": "shpat_recon", "base_url": hs.URL, "reconcile_interval": "1h"}}
	})
	r, ok := e.m.sources["shopify"].(synclayer.SourceReconciler)
	if !ok || r.ReconcileInterval() != time.Hour {
		t.Fatalf("the shopify source is %T, want a SourceReconciler every hour", e.m.sources["shopify"])
	}
	if !strings.Contains(e.logs.String(), `msg="source reconciliation started" source=shopify every=1h0m0s`) {
		t.Errorf("the log does not say the shopify source is reconciled every hour:\n%s", e.logs.String())
	}
	if !e.m.customersFrom("shopify") || e.m.customersFrom("magento") {
		t.Fatal("customersFrom: customer-sync takes shopify, not magento")
	}
	shop.AddCustomer("3001", "recon-a@example.com", "")
	shop.AddCustomer("3002", "recon-b@example.com", "+14155553002")
	shop.PutCustomer(shopifysim.Customer{ID: "3003", Email: "recon-old@example.com", UpdatedAt: time.Now().Add(-3 * time.Hour)})
	// One whose webhook came: the listing reads the same update.
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	shop.PutCustomer(shopifysim.Customer{ID: "3004", Email: "recon-hook@example.com", FirstName: "Hana", Orders: 3, AmountSpent: "199.65", CreatedAt: at, UpdatedAt: at})
	e.mustAccept(e.shopify("customers/update", map[string]any{"id": 3004, "email": "recon-hook@example.com", "first_name": "Hana", "tags": "", "orders_count": 3, "total_spent": "199.65",
		"created_at": at.Format(time.RFC3339), "updated_at": at.Format(time.RFC3339)}))
	e.waitIdle(30 * time.Second)
	hookWrites := e.contactCalls("PUT") + e.contactCalls("POST")

	ctx := context.Background()
	c, err := e.m.reconcileSource(ctx, "shopify", r, time.Now())
	if err != nil || c.Read != 3 || c.New != 3 {
		t.Fatalf("first pass: %+v %v; want the three customers of the last hour read", c, err)
	}
	e.waitIdle(30 * time.Second)
	if n := e.contactCalls("PUT") + e.contactCalls("POST") - hookWrites; hookWrites != 1 || n != 2 {
		t.Errorf("the webhook wrote %d contacts to Brevo and the first pass %d; want 1, then the two without a webhook", hookWrites, n)
	}
	for _, email := range []string{"recon-a@example.com", "recon-b@example.com"} {
		e.contact(email)
	}
	if _, ok := e.sim.ContactByEmail("recon-old@example.com"); ok {
		t.Error("a customer updated before the window reached Brevo")
	}
	evs, err := e.m.DB.FindEvents(ctx, synclayer.EventFilter{})
	if err != nil || len(evs) != 4 {
		t.Fatalf("%d events stored (%v), want 4: the webhook's and three listed", len(evs), err)
	}
	for _, ev := range evs {
		if ev.Source != "shopify" {
			t.Errorf("event %s of source %q, want the block's name", ev.DedupeKey, ev.Source)
		}
	}
	cp, err := e.m.DB.FindCheckpoint(ctx, sourceReconcileCheckpoint("shopify"))
	var cursor string
	if err != nil || json.Unmarshal(cp.Detail, &cursor) != nil || cursor == "" {
		t.Fatalf("checkpoint %+v %v, want the listing's cursor", cp, err)
	}

	calls := len(e.sim.Calls())
	c, err = e.m.reconcileSource(ctx, "shopify", r, time.Now())
	if err != nil || c.New != 0 || c.Applied != 0 {
		t.Fatalf("second pass: %+v %v; want nothing new", c, err)
	}
	e.waitIdle(30 * time.Second)
	if n := len(e.sim.Calls()); n != calls {
		t.Errorf("the second pass made %d calls to Brevo, want none", n-calls)
	}

	// A change made in the shop after the first pass, whose webhook never
	// came, is read by the next one.
	ahead.Store(int64(2 * time.Second)) // the shop keeps updated_at to the second
	shop.UpdateCustomer("3001", func(cu *shopifysim.Customer) { cu.FirstName = "Ada" })
	c, err = e.m.reconcileSource(ctx, "shopify", r, time.Now())
	if err != nil || c.New != 1 || c.Applied != 1 {
		t.Fatalf("pass after a change: %+v %v; want the changed customer applied", c, err)
	}
}
