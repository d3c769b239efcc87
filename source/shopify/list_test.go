package shopify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify"
	"synclayer/source/shopify/shopifysim"
)

// seedFrom dates the seeded customers well before the test runs, so a
// customer changed during it is newer than all of them.
var seedFrom = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)

// mustOpenLister is mustOpenAdmin for a listing source: the simulator
// checked against the vendored schema, and the source opened through
// Type.Open with the admin block plus extra keys (`"bulk_threshold": 5`).
func mustOpenLister(t *testing.T, o shopifysim.Options, extra string) (*shopifysim.Server, *httptest.Server, *shopify.AdminSource) {
	t.Helper()
	if o.AccessToken == "" {
		o.AccessToken = adminToken
	}
	o.Validate = mustLoadSchema(t).validate
	sim := shopifysim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		for _, v := range sim.Violations() {
			t.Errorf("request refused by the Admin schema: %s", v)
		}
	})
	return sim, srv, openLister(t, srv, extra)
}

// openLister opens another source on the same simulator, as a restarted
// process would: nothing is shared with the first but the cursor.
func openLister(t *testing.T, srv *httptest.Server, extra string) *shopify.AdminSource {
	t.Helper()
	if extra != "" {
		extra = ", " + extra
	}
	src := mustOpenSource(t, fmt.Sprintf(`{"shop_domain": "demo.myshopify.com", "admin": {"shop": "demo.myshopify.com", "access_token": %q, "api_version": "2025-10", "base_url": %q%s}}`,
		adminToken, srv.URL+"/simulator/shopify", extra))
	as, ok := src.(*shopify.AdminSource)
	if !ok {
		t.Fatalf("Type.Open with admin: %T", src)
	}
	return as
}

// listAll reads a listing to its end from req, failing on any error or
// Failed record, and returns every event and the last page's Next.
func listAll(t *testing.T, l synclayer.Lister, req synclayer.ListRequest) ([]*synclayer.Event, string) {
	t.Helper()
	var all []*synclayer.Event
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("the listing does not end")
		}
		p, err := l.List(context.Background(), req)
		var ra *synclayer.RetryAfterError
		if errors.As(err, &ra) && ra.Throttled && ra.After < 10*time.Second {
			time.Sleep(ra.After) // as the program's backfill waits
			continue
		}
		if err != nil {
			t.Fatalf("List page %d: %v", i, err)
		}
		for _, f := range p.Failed {
			t.Errorf("page %d: Failed: %v", i, f)
		}
		all = append(all, p.Events...)
		if p.Next == "" {
			t.Fatalf("page %d: Next is empty", i)
		}
		if !p.More {
			return all, p.Next
		}
		req.Cursor = p.Next
	}
}

func TestSource_ListKinds(t *testing.T) {
	plain := mustOpenSource(t, `{}`).(*shopify.Source)
	if k := plain.ListKinds(); len(k) != 0 || plain.ReconcileInterval() != 0 {
		t.Errorf("without admin: ListKinds %v, ReconcileInterval %s; want none and off", k, plain.ReconcileInterval())
	}
	_, err := plain.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
	if !isPermanent(err) || !strings.Contains(err.Error(), "admin") {
		t.Errorf("List without admin: %v, want a Permanent error naming admin", err)
	}
	_, _, src := mustOpenLister(t, shopifysim.Options{}, "")
	if k := src.ListKinds(); strings.Join(k, ",") != "customers,orders,products" {
		t.Errorf("ListKinds = %v", k)
	}
	if d := src.ReconcileInterval(); d != 24*time.Hour {
		t.Errorf("ReconcileInterval = %s, want the 24h default", d)
	}
	var _ synclayer.SourceReconciler = src
	var _ synclayer.HookRegistrar = src
	_, srv, _ := mustOpenLister(t, shopifysim.Options{}, "")
	if d := openLister(t, srv, `"reconcile_interval": "off"`).ReconcileInterval(); d != 0 {
		t.Errorf("reconcile_interval off: %s", d)
	}
	if d := openLister(t, srv, `"reconcile_interval": "6h"`).ReconcileInterval(); d != 6*time.Hour {
		t.Errorf("reconcile_interval 6h: %s", d)
	}
}

func TestList_Customers(t *testing.T) {
	t.Run("EveryCustomerOnceOver2500", func(t *testing.T) {
		t.Parallel()
		// A shop on Shopify Plus (a 20,000-point bucket, 1,000 a second),
		// so the test pages at once; Standard's 100 a second would pace it.
		sim, _, src := mustOpenLister(t, shopifysim.Options{Bucket: 20000, RestoreRate: 1000}, "")
		ids := sim.SeedCustomers(2500, seedFrom)
		p, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 2500 || len(p.Events) != 100 || !p.More {
			t.Errorf("first page: Total %d, %d events, More %v; want 2500, 100, true", p.Total, len(p.Events), p.More)
		}
		events, _ := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers})
		seen := map[string]int{}
		keys := map[string]bool{}
		var last time.Time
		for _, e := range events {
			seen[e.Customer.SourceID]++
			keys[e.DedupeKey] = true
			if e.OccurredAt.Before(last) {
				t.Fatalf("customer %s (%s) after one updated at %s: not sorted by updatedAt", e.Customer.SourceID, e.OccurredAt, last)
			}
			last = e.OccurredAt
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("customer %s listed %d times", id, seen[id])
			}
		}
		if len(events) != 2500 || len(keys) != 2500 {
			t.Errorf("%d events, %d keys; want 2500 of each", len(events), len(keys))
		}
		if want := "shopify:customers:1000001:2024-03-01T08:00:00Z"; events[0].DedupeKey != want {
			t.Errorf("DedupeKey = %q, want %q", events[0].DedupeKey, want)
		}
		if sim.BulkOperations() != 0 {
			t.Errorf("2,500 customers, below bulk_threshold, ran a bulk operation")
		}
	})

	t.Run("EventIsTheWebhooksParse", func(t *testing.T) {
		t.Parallel()
		sim, _, src := mustOpenLister(t, shopifysim.Options{}, "")
		sim.SeedCustomers(30, seedFrom)
		full := shopifysim.Customer{ID: "706405506930370084", Email: "  Bob.Biller@Example.com ", Phone: "+33612345678", FirstName: "Bob", LastName: "Biller",
			Company: "Biller & Co", Tags: []string{"vip", " newsletter"}, Orders: 3, AmountSpent: "199.65", Currency: "USD",
			CreatedAt: seedFrom.Add(-time.Hour), UpdatedAt: seedFrom.Add(time.Hour),
			EmailConsent: &shopifysim.Consent{MarketingState: "REDACTED", ConsentUpdatedAt: seedFrom.Add(30 * time.Minute)},
			SMSConsent:   &shopifysim.Consent{MarketingState: "SUBSCRIBED", MarketingOptInLevel: "CONFIRMED_OPT_IN", ConsentUpdatedAt: seedFrom}}
		sim.PutCustomer(full)
		events, _ := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if len(events) != 31 {
			t.Fatalf("%d events, want 31", len(events))
		}
		for _, ev := range events {
			id := ev.Customer.SourceID
			if id != full.ID && id != "1000001" && id != "1000004" && id != "1000007" && id != "1000012" {
				continue // a sample: each kind of seeded customer, and the full one
			}
			c, _ := sim.Customer(id)
			hook := parseCustomerWebhook(t, c)
			compareEvents(t, id, ev, hook)
		}
	})

	t.Run("UpdatedSinceAndReconciliation", func(t *testing.T) {
		t.Parallel()
		sim, _, src := mustOpenLister(t, shopifysim.Options{}, "")
		sim.SeedCustomers(100, seedFrom)
		all, next := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers})
		keys := map[string]bool{}
		for _, e := range all {
			keys[e.DedupeKey] = true
		}
		since := seedFrom.Add(60 * time.Second)
		events, _ := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Since: since, Limit: 15})
		if len(events) != 40 || events[0].Customer.SourceID != "1000061" {
			t.Fatalf("since +60s: %d events from %s, want the 40 customers from 1000061", len(events), events[0].Customer.SourceID)
		}
		// A change made in the shop, whose webhook never came.
		sim.UpdateCustomer("1000005", func(c *shopifysim.Customer) { c.Email = "changed@example.com" })
		again, _ := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: next})
		var changed []string
		for _, e := range again {
			if !keys[e.DedupeKey] {
				changed = append(changed, e.Customer.SourceID+" "+string(e.Customer.Fields[synclayer.FieldEmail]))
			}
		}
		if len(again) > 62 || strings.Join(changed, ",") != `1000005 "changed@example.com"` {
			t.Fatalf("listing from the finished cursor: %d events, new ones %v; want the last minute's again and customer 1000005's change", len(again), changed)
		}
		for _, c := range sim.Calls() {
			if bytes.Contains(c.Body, []byte(`"query":"updated_at:\u003e='`)) || bytes.Contains(c.Body, []byte(`"query":"updated_at:>='`)) {
				return
			}
		}
		t.Error("no request filtered on updated_at")
	})

	t.Run("ThrottledPageWaitsForItsPoints", func(t *testing.T) {
		t.Parallel()
		sim, _, src := mustOpenLister(t, shopifysim.Options{RestoreRate: 1000}, "")
		sim.SeedCustomers(150, seedFrom)
		p, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if err != nil {
			t.Fatal(err)
		}
		// Other calls of the app spend the bucket, which the source learns
		// only from Shopify's THROTTLED answer.
		sim.SetAvailable(10)
		_, err = src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: p.Next})
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || !ra.Throttled {
			t.Fatalf("List on an empty bucket: %v, want Throttled", err)
		}
		// The page asks 502 points of the 10 left, which come back at
		// 1000 a second (throttleStatus.restoreRate).
		if ra.After < 450*time.Millisecond || ra.After > 500*time.Millisecond {
			t.Errorf("wait %s, want about (502-10)/1000 s", ra.After)
		}
		if strings.Contains(err.Error(), adminToken) {
			t.Error("the error quotes the access token")
		}
		p2, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: p.Next})
		if err != nil || len(p2.Events) != 50 || p2.More {
			t.Errorf("asked again: %d events, More %v, %v; want the last 50", len(p2.Events), p2.More, err)
		}
	})

	t.Run("PastShopifysPagingLimit", func(t *testing.T) {
		t.Parallel()
		// Shopify pages through 25,000 objects of a query (20,500 here);
		// a listing since a time, which pages whatever the count, goes on
		// with a new query from the newest update read.
		sim, _, src := mustOpenLister(t, shopifysim.Options{Bucket: 1e6, RestoreRate: 1e5, MaxPaged: 20500}, "")
		ids := sim.SeedCustomers(21000, seedFrom)
		events, _ := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Since: seedFrom.Add(-time.Hour)})
		seen := map[string]bool{}
		for _, e := range events {
			seen[e.Customer.SourceID] = true
		}
		if len(seen) != len(ids) || len(events) > len(ids)+1 {
			t.Errorf("%d customers in %d events, want all %d, the one at the new query's start twice at most", len(seen), len(events), len(ids))
		}
	})

	t.Run("BadCursor", func(t *testing.T) {
		t.Parallel()
		_, _, src := mustOpenLister(t, shopifysim.Options{}, "")
		_, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: "not-a-cursor"})
		if !isPermanent(err) || !strings.Contains(err.Error(), "cursor") {
			t.Errorf("bad cursor: %v", err)
		}
		p, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListOrders})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: p.Next})
		if !isPermanent(err) || !strings.Contains(err.Error(), "orders") {
			t.Errorf("an orders cursor for customers: %v", err)
		}
	})
}

// parseCustomerWebhook is what the source makes of the customers/update
// webhook (API version 2024-10) of the simulator's customer c, written
// as Shopify's REST payload.
func parseCustomerWebhook(t *testing.T, c shopifysim.Customer) *synclayer.Event {
	t.Helper()
	consent := func(k *shopifysim.Consent) any {
		if k == nil {
			return nil
		}
		var at any
		if !k.ConsentUpdatedAt.IsZero() {
			at = k.ConsentUpdatedAt.Format(time.RFC3339)
		}
		var level any
		if k.MarketingOptInLevel != "" {
			level = strings.ToLower(k.MarketingOptInLevel)
		}
		return map[string]any{"state": strings.ToLower(k.MarketingState), "opt_in_level": level, "consent_updated_at": at}
	}
	var addr any
	if c.Company != "" {
		addr = map[string]any{"id": 1, "customer_id": c.ID, "company": c.Company, "default": true}
	}
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	body, _ := json.Marshal(map[string]any{
		"id": json.Number(c.ID), "email": orNull(c.Email), "phone": orNull(c.Phone), "first_name": orNull(c.FirstName), "last_name": orNull(c.LastName),
		"created_at": c.CreatedAt.Format(time.RFC3339), "updated_at": c.UpdatedAt.Format(time.RFC3339),
		"orders_count": c.Orders, "total_spent": c.AmountSpent, "currency": c.Currency, "tags": strings.Join(c.Tags, ", "),
		"email_marketing_consent": consent(c.EmailConsent), "sms_marketing_consent": consent(c.SMSConsent),
		"default_address": addr, "state": "enabled", "admin_graphql_api_id": "gid://shopify/Customer/" + c.ID,
	})
	h := http.Header{}
	h.Set("X-Shopify-Topic", "customers/update")
	h.Set("X-Shopify-Shop-Domain", "demo.myshopify.com")
	h.Set("X-Shopify-API-Version", "2024-10")
	h.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	h.Set("X-Shopify-Hmac-Sha256", sign(testSecret, body))
	events, err := shopify.New(shopify.Config{Secrets: []string{testSecret}}).Parse(h, body, time.Now())
	if err != nil || len(events) != 1 {
		t.Fatalf("webhook of customer %s: %v", c.ID, err)
	}
	return events[0]
}

// compareEvents compares a listed event with the webhook's, field by
// field: everything but the delivery's own DedupeKey, ReceivedAt and
// Payload.
func compareEvents(t *testing.T, id string, listed, hook *synclayer.Event) {
	t.Helper()
	if listed.Type != hook.Type || listed.Topic != hook.Topic || !listed.OccurredAt.Equal(hook.OccurredAt) || listed.Source != hook.Source {
		t.Errorf("%s: listed %s %s at %s, webhook %s %s at %s", id, listed.Topic, listed.Type, listed.OccurredAt, hook.Topic, hook.Type, hook.OccurredAt)
	}
	for _, part := range []struct {
		name       string
		got, wantv any
	}{
		{"customer", listed.Customer, hook.Customer},
		{"order", listed.Order, hook.Order},
		{"product", listed.Product, hook.Product},
	} {
		got, _ := json.Marshal(part.got)
		want, _ := json.Marshal(part.wantv)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s differs from the webhook's:\nlisted  %s\nwebhook %s", id, part.name, got, want)
		}
	}
	if hook.Customer != nil {
		for k, v := range hook.Customer.Fields {
			if got := listed.Customer.Fields[k]; !bytes.Equal(got, v) {
				t.Errorf("%s: field %s = %s, webhook %s", id, k, got, v)
			}
		}
	}
}
