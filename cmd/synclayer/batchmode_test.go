package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/skill"
)

func withBatchMode(interval time.Duration, importList int64) envOption {
	return func(c *Config) {
		o := &c.Skills.CustomerSync.Options
		o.SyncMode, o.Batch = "batch", BatchOptions{Interval: Duration(interval)}
		o.Extra["import_list_id"] = importList
		o.ConsentSources = StringList{"custom"}
		all := StringList{"shopify", "woocommerce", "custom"}
		batch := CommerceOptions{SyncMode: "batch", Batch: BatchOptions{Interval: Duration(interval)}}
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: all, Options: batch}
		c.Skills.ProductCatalog = &CommerceSkillConfig{Enabled: true, Source: all, Options: batch}
	}
}

func (e *env) customer(id, email, consent string) {
	e.t.Helper()
	e.customEvent("customer_updated", map[string]any{"id": id, "email": email, "firstName": "N" + id, "emailConsent": consent})
}

// TestBatchMode_ConsentDoesNotWait runs customer-sync in batch mode with a
// flush an hour away: an opt-out still reaches Brevo at once, through the
// realtime path, while consented changes wait on the batch queue.
func TestBatchMode_ConsentDoesNotWait(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, withBatchMode(time.Hour, 9))
	e.customer("a1", "in@example.com", "subscribed")
	e.customer("a2", "out@example.com", "unsubscribed")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, ok := e.sim.ContactByEmail("out@example.com"); ok && c.EmailBlacklisted {
			if len(c.ListIDs) != 0 {
				t.Errorf("the opted-out contact was added to lists %v", c.ListIDs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the opt-out did not reach Brevo while the batch waits")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := e.sim.ContactByEmail("in@example.com"); ok {
		t.Error("a consented change went out before its batch")
	}
	if n, _ := e.m.DB.CountPending(context.Background(), synclayer.BatchQueue(skill.CustomerSyncName)); n != 1 {
		t.Errorf("%d changes on the batch queue, want the consented one", n)
	}
	if n := e.sim.CallCount("POST", "/contacts/import"); n != 0 {
		t.Errorf("%d imports before the interval", n)
	}
}

// TestBatchMode_Flushes runs all three skills in batch mode: contacts are
// imported (consented into list_id, the others into import_list_id),
// orders go through POST /orders/status/batch as live data, products
// through POST /products/batch, and a later realtime-style change diffs
// against what the import recorded.
func TestBatchMode_Flushes(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{ImportDelay: 50 * time.Millisecond}, withBatchMode(time.Second, 9))
	e.customer("b1", "yes@example.com", "subscribed")
	e.customer("b2", "maybe@example.com", "not_subscribed")
	e.customer("b3", "no@example.com", "unsubscribed")
	e.mustAccept(e.shopify("products/create", shopifyProduct(1, 5, "x")))
	e.mustAccept(e.shopify("orders/create", shopifyOrder(77, 501, "buyer@example.com", 1, "398.00")))
	e.waitIdle(30 * time.Second)

	if c := e.contact("yes@example.com"); !slices.Equal(c.ListIDs, []int64{5}) || c.Attributes["FIRSTNAME"] != "Nb1" {
		t.Errorf("consented: %+v", c)
	}
	if c := e.contact("maybe@example.com"); !slices.Equal(c.ListIDs, []int64{9}) {
		t.Errorf("without consent: lists %v, want [9]", c.ListIDs)
	}
	if c := e.contact("no@example.com"); !c.EmailBlacklisted || len(c.ListIDs) != 0 {
		t.Errorf("opted out: %+v", c)
	}
	if n := e.sim.CallCount("POST", "/contacts/import"); n == 0 {
		t.Error("no contact import")
	}
	o := e.order("shopify:77")
	if o.Historical || o.Status != "paid" {
		t.Errorf("order %+v: want live (historical false), paid", o)
	}
	single, batches := 0, 0
	for _, c := range e.sim.Calls() {
		switch {
		case c.Method == "POST" && c.Path == "/orders/status":
			single++
		case c.Method == "POST" && c.Path == "/orders/status/batch":
			batches++
		case c.Method == "POST" && c.Path == "/products":
			t.Error("a product went through POST /products in batch mode")
		}
	}
	if single != 0 || batches == 0 {
		t.Errorf("orders: %d single calls, %d batch calls", single, batches)
	}
	if len(e.sim.Products()) == 0 || e.sim.CallCount("POST", "/products/batch") == 0 {
		t.Errorf("products %+v, batch calls %d", e.sim.Products(), e.sim.CallCount("POST", "/products/batch"))
	}

	// The import recorded what Brevo holds: an unchanged resend is no
	// call, and an opt-out now goes out at once as an update.
	imports := e.sim.CallCount("POST", "/contacts/import")
	e.customer("b1", "yes@example.com", "unsubscribed")
	e.waitIdle(30 * time.Second)
	c := e.contact("yes@example.com")
	if !c.EmailBlacklisted {
		t.Errorf("after the opt-out: %+v", c)
	}
	if n := e.sim.CallCount("POST", "/contacts/import"); n != imports {
		t.Errorf("the opt-out went through an import")
	}
	var unlink bool
	for _, call := range e.sim.Calls() {
		if call.Method == "PUT" && strings.Contains(string(call.Body), "unlinkListIds") {
			unlink = true
		}
	}
	if !unlink {
		t.Error("the opt-out did not unlink the contact from list_id, though the import had put it there")
	}
	if dead, _ := e.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead}); len(dead) != 0 {
		t.Errorf("dead jobs: %+v", dead)
	}
}
