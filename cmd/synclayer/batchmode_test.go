package main

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
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

// TestBatchMode_SecondBrevoAccount: a second Brevo account (brevo-eu,
// type brevo) imports in batches as the first does, on its own batch
// queue, and records what it holds under its own name, so an unchanged
// resend is no call on either.
func TestBatchMode_SecondBrevoAccount(t *testing.T) {
	t.Parallel()
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-eu", Validate: brevospec.Load(t).Validate, ImportDelay: 50 * time.Millisecond})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	e := startEnv(t, brevosim.Options{ImportDelay: 50 * time.Millisecond}, withBatchMode(time.Second, 9), func(c *Config) {
		c.Destinations["brevo-eu"] = &DestinationSection{Type: "brevo", Settings: map[string]any{"api_key": "xkeysib-eu", "base_url": hs.URL + "/v3"}}
		cs := c.Skills.CustomerSync
		cs.Destinations = map[string]*CustomerSyncTarget{
			"brevo":    {Options: map[string]any{"list_id": 5, "import_list_id": 9}},
			"brevo-eu": {Options: map[string]any{"list_id": 5, "import_list_id": 9}},
		}
		cs.Options.Extra = nil
	})
	e.customer("e1", "yes@example.com", "subscribed")
	e.customer("e2", "maybe@example.com", "not_subscribed")
	e.waitIdle(30 * time.Second)

	for name, s := range map[string]*brevosim.Server{"brevo": e.sim, "brevo-eu": sim} {
		c, ok := s.ContactByEmail("yes@example.com")
		if !ok || !slices.Equal(c.ListIDs, []int64{5}) {
			t.Errorf("%s holds %+v for the consented contact, want it in list 5", name, c)
		}
		if c, ok := s.ContactByEmail("maybe@example.com"); !ok || !slices.Equal(c.ListIDs, []int64{9}) {
			t.Errorf("%s holds %+v for the contact without consent, want it in list 9", name, c)
		}
		single := 0
		for _, c := range s.Calls() {
			if c.Method == "POST" && c.Path == "/contacts" {
				single++
			}
		}
		if n := s.CallCount("POST", "/contacts/import"); n == 0 || single != 0 {
			t.Errorf("%s: %d imports and %d single creates, want imports only", name, n, single)
		}
	}
	cts, err := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: "yes@example.com"})
	if err != nil || len(cts) != 1 {
		t.Fatalf("canonical contact: %v, %v", cts, err)
	}
	if _, err := e.m.DB.FindSyncState(context.Background(), cts[0].ID, "brevo-eu"); err != nil {
		t.Errorf("no sync state recorded for brevo-eu: %v", err)
	}
	calls := len(sim.Calls())
	e.customer("e1", "yes@example.com", "subscribed") // as it is
	e.waitIdle(30 * time.Second)
	if got := sim.Calls()[calls:]; len(got) != 0 {
		t.Errorf("an unchanged resend called brevo-eu: %+v", got)
	}
}
