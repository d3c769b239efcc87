package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// TestPipedrive_SharedKeysInTheStore: serve hands Pipedrive the store's
// SharedKeys, so the organization a delivery makes is stored under its
// shared key, where another instance on the same store reads it first
// instead of searching an index that has not caught up.
func TestPipedrive_SharedKeysInTheStore(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withPipedriveDeals())
	sim := e.pipedriveSim()
	customer := shopifyCustomer(4101, "ceo@newco.example", "Cy", 0, "subscribed", 0)
	customer["default_address"] = map[string]any{"company": "Newco  Ltd"}
	e.mustAccept(e.shopify("customers/create", customer))
	e.waitIdle(20 * time.Second)
	orgs := sim.Organizations()
	if len(orgs) != 1 {
		t.Fatalf("organizations %+v, want one", orgs)
	}
	v, ok, err := e.m.DB.FindShared(context.Background(), "pipedrive:pipedrive:org:"+synclayer.CompanyKey("Newco Ltd"))
	if err != nil || !ok || v != strconv.FormatInt(orgs[0].ID, 10) {
		t.Fatalf("the organization's shared key holds %q (%v, %v), want %d", v, ok, err, orgs[0].ID)
	}
}
