package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

var c0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// clock returns a Now that moves a second on every call.
func clock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return c0.Add(time.Duration(n.Add(1)) * time.Second) }
}

func commerceIngester(s synclayer.Store) *ingest.Ingester {
	owners := map[string][]string{}
	for _, f := range synclayer.AggregateFields {
		owners[f] = []string{synclayer.OrderEventsSource}
	}
	return ingest.New(ingest.Config{Store: s, ConsentSources: []string{"shopify"}, FieldOwners: owners, Now: clock(), Routes: []ingest.Route{
		{Skill: "customer-sync", Destination: "brevo", Sources: []string{"shopify"}},
		{Skill: "order-events", Destination: "brevo", Sources: []string{"shopify", "custom"}, Records: ingest.RecordOrders},
		{Skill: "product-catalog", Destination: "brevo", Sources: []string{"shopify"}, Records: ingest.RecordProducts},
	}})
}

func mustIngest(t *testing.T, in *ingest.Ingester, ev *synclayer.Event) ingest.Result {
	t.Helper()
	res, err := in.Ingest(context.Background(), []*synclayer.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

var dedupe atomic.Int64

func orderEvent(source string, typ synclayer.EventType, ch *synclayer.OrderChange, at time.Time) *synclayer.Event {
	return &synclayer.Event{Source: source, DedupeKey: fmt.Sprint("o-", dedupe.Add(1)), Topic: string(typ), Type: typ, OccurredAt: at, Order: ch}
}

func shopifyOrder(id, status, total string, updated time.Time, customerID, email string) *synclayer.OrderChange {
	o := &synclayer.Order{SourceID: id, Status: synclayer.OrderStatus(status), Currency: "USD", Total: synclayer.MustMoney(total),
		Items:     []synclayer.OrderItem{{ProductID: "9", VariantID: "9-1", Price: synclayer.MustMoney(total), Quantity: 1}},
		CreatedAt: c0, UpdatedAt: updated}
	ch := &synclayer.CustomerChange{SourceID: customerID, Fields: map[string]json.RawMessage{}}
	if email != "" {
		ch.Fields["email"] = json.RawMessage(fmt.Sprintf("%q", email))
	}
	return &synclayer.OrderChange{SourceID: id, Order: o, Customer: ch}
}

func field(t *testing.T, s synclayer.Store, contactID, name string) string {
	t.Helper()
	c, err := s.FindContactByID(context.Background(), contactID)
	if err != nil {
		t.Fatal(err)
	}
	return string(c.Value(name))
}

func pending(t *testing.T, s synclayer.Store, skill string) map[string]time.Time {
	t.Helper()
	jobs, err := s.FindJobs(context.Background(), synclayer.JobFilter{Queue: skill, State: synclayer.JobPending})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, j := range jobs {
		out[j.RecordKey] = j.UpdatedAt
	}
	return out
}

func TestIngest_Orders(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	in := commerceIngester(s)
	ctx := context.Background()

	customer := event("cust-1", "bob@example.com", "207", c0)
	customer.Customer.Fields["totalOrders"] = json.RawMessage(`3`)
	customer.Customer.Fields["totalSpent"] = json.RawMessage(`199.65`)
	cid := mustIngest(t, in, customer).ContactID

	t.Run("OrderSetsTotals", func(t *testing.T) {
		res := mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1001", "paid", "409.94", c0, "207", "Bob@Example.com"), c0))
		if res.Status != synclayer.EventApplied || res.ContactID != cid {
			t.Fatalf("result %+v, want applied to %s", res, cid)
		}
		if got := field(t, s, cid, "totalOrders") + " " + field(t, s, cid, "totalSpent"); got != "1 409.94" {
			t.Errorf("totals %s, want the order's, not Shopify's counters", got)
		}
		if got := field(t, s, cid, "lastOrderDate"); got != `"2026-11-20T10:00:00Z"` {
			t.Errorf("lastOrderDate %s", got)
		}
		if _, ok := pending(t, s, "order-events")["shopify:1001"]; !ok {
			t.Errorf("no order-events job for shopify:1001: %v", pending(t, s, "order-events"))
		}
		if _, ok := pending(t, s, "customer-sync")[cid]; !ok {
			t.Error("no customer-sync job for the contact")
		}
		o, err := s.FindOrderByID(ctx, "shopify:1001")
		if err != nil || o.ContactID != cid || o.Items[0].ProductID != "shopify:9" || o.Items[0].VariantID != "shopify:9-1" {
			t.Errorf("stored order %+v, %v", o, err)
		}
	})
	t.Run("PlatformCountersAreIgnored", func(t *testing.T) {
		ev := event("cust-2", "bob@example.com", "207", c0.Add(time.Hour))
		ev.Customer.Fields["totalOrders"] = json.RawMessage(`7`)
		mustIngest(t, in, ev)
		if got := field(t, s, cid, "totalOrders"); got != "1" {
			t.Errorf("totalOrders %s after Shopify said 7, want order-events' 1", got)
		}
	})
	t.Run("RefundLowersSpent", func(t *testing.T) {
		refund := &synclayer.OrderChange{SourceID: "1001", Refunds: []synclayer.Refund{{ID: "r1", Amount: synclayer.MustMoney("41.94"), CreatedAt: c0.Add(time.Hour)}}}
		if res := mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderRefunded, refund, c0.Add(time.Hour))); res.Status != synclayer.EventApplied {
			t.Fatalf("refund: %+v", res)
		}
		if got := field(t, s, cid, "totalSpent"); got != "368.00" {
			t.Errorf("totalSpent %s, want 409.94 - 41.94 = 368.00", got)
		}
		again := orderEvent("shopify", synclayer.EventOrderRefunded, refund, c0.Add(time.Hour))
		if res := mustIngest(t, in, again); res.Status != synclayer.EventUnchanged {
			t.Errorf("the same refund again: %+v, want unchanged", res)
		}
	})
	t.Run("StaleUpdateIsIgnored", func(t *testing.T) {
		res := mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderUpdated, shopifyOrder("1001", "pending", "1.00", c0.Add(-time.Hour), "207", ""), c0.Add(-time.Hour)))
		if res.Status != synclayer.EventUnchanged || res.Reason == "" {
			t.Errorf("stale update: %+v", res)
		}
		if o, _ := s.FindOrderByID(ctx, "shopify:1001"); o.Total.String() != "409.94" {
			t.Errorf("total %s after a stale update", o.Total)
		}
	})
	t.Run("CancellationSubtracts", func(t *testing.T) {
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1002", "paid", "10.06", c0.Add(2*time.Hour), "207", ""), c0.Add(2*time.Hour)))
		if got := field(t, s, cid, "totalOrders") + " " + field(t, s, cid, "totalSpent"); got != "2 378.06" {
			t.Errorf("totals %s, want 2 378.06", got)
		}
		mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCancelled, shopifyOrder("1002", "cancelled", "10.06", c0.Add(3*time.Hour), "207", ""), c0.Add(3*time.Hour)))
		if got := field(t, s, cid, "totalOrders") + " " + field(t, s, cid, "totalSpent"); got != "1 368.00" {
			t.Errorf("totals %s after the cancellation, want 1 368.00", got)
		}
	})
	t.Run("GuestOrderCreatesContact", func(t *testing.T) {
		res := mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("2001", "paid", "5", c0, "", "Guest@Example.com"), c0))
		if res.Status != synclayer.EventApplied || res.ContactID == "" || res.ContactID == cid {
			t.Fatalf("guest order: %+v", res)
		}
		c, _ := s.FindContactByID(ctx, res.ContactID)
		if c.Email != "guest@example.com" || string(c.Value("totalOrders")) != "1" || c.EmailConsent.State != synclayer.ConsentUnknown {
			t.Errorf("guest contact %+v", c)
		}
		if _, ok := pending(t, s, "customer-sync")[c.ID]; !ok {
			t.Error("the guest's new contact is not queued for customer-sync")
		}
	})
	t.Run("RefundBeforeItsOrder", func(t *testing.T) {
		refund := &synclayer.OrderChange{SourceID: "3001", Refunds: []synclayer.Refund{{ID: "r9", Amount: synclayer.MustMoney("2.50"), CreatedAt: c0}}}
		if res := mustIngest(t, in, orderEvent("custom", synclayer.EventOrderRefunded, refund, c0)); res.Status != synclayer.EventUnchanged || res.Reason == "" {
			t.Errorf("early refund: %+v", res)
		}
		res := mustIngest(t, in, orderEvent("custom", synclayer.EventOrderCreated, shopifyOrder("3001", "paid", "10", c0, "", "early@example.com"), c0))
		if got := field(t, s, res.ContactID, "totalSpent"); got != "7.50" {
			t.Errorf("totalSpent %s, want the early refund counted: 7.50", got)
		}
	})
	t.Run("NoRouteChangesNothing", func(t *testing.T) {
		res := mustIngest(t, in, orderEvent("woocommerce", synclayer.EventOrderCreated, shopifyOrder("1", "paid", "5", c0, "", "woo@example.com"), c0))
		if res.Status != synclayer.EventUnchanged || res.Reason == "" {
			t.Errorf("order from a source no skill takes: %+v", res)
		}
		if list, _ := s.FindContacts(ctx, synclayer.ContactFilter{Email: "woo@example.com"}); len(list) != 0 {
			t.Error("an order no skill takes created a contact")
		}
	})
}

func productChange(stock int64, updated time.Time, variants ...string) *synclayer.ProductChange {
	p := &synclayer.Product{SourceID: "9", Name: "Shirt", Price: synclayer.MustMoney("19.90"), Categories: []string{"type:Shirts"}, UpdatedAt: updated}
	total := int64(0)
	ch := &synclayer.ProductChange{SourceID: "9", Product: p, AllVariants: true,
		Categories: []synclayer.Category{{ID: "type:Shirts", Name: "Shirts", UpdatedAt: updated}}}
	for _, v := range variants {
		n := stock
		total += n
		ch.Variants = append(ch.Variants, &synclayer.Product{SourceID: "9-" + v, ParentID: "9", Name: "Shirt - " + v,
			Price: synclayer.MustMoney("19.90"), Stock: &n, UpdatedAt: updated})
	}
	p.Stock = &total
	return ch
}

func productEvent(ch *synclayer.ProductChange, typ synclayer.EventType, at time.Time) *synclayer.Event {
	return &synclayer.Event{Source: "shopify", DedupeKey: fmt.Sprint("p-", dedupe.Add(1)), Topic: string(typ), Type: typ, OccurredAt: at, Product: ch}
}

func TestIngest_Products(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	in := commerceIngester(s)
	ctx := context.Background()

	res := mustIngest(t, in, productEvent(productChange(5, c0, "S", "M"), synclayer.EventProductCreated, c0))
	if res.Status != synclayer.EventApplied {
		t.Fatalf("create: %+v", res)
	}
	first := pending(t, s, "product-catalog")
	for _, key := range []string{"shopify:9", "shopify:9-S", "shopify:9-M", "category:shopify:type:Shirts"} {
		if _, ok := first[key]; !ok {
			t.Errorf("no product-catalog job for %s: %v", key, first)
		}
	}
	if v, err := s.FindProductByID(ctx, "shopify:9-S"); err != nil || v.ParentID != "shopify:9" || *v.Stock != 5 {
		t.Errorf("variant %+v, %v", v, err)
	}

	t.Run("OnlyUpdatedAtChanged", func(t *testing.T) {
		res := mustIngest(t, in, productEvent(productChange(5, c0.Add(time.Hour), "S", "M"), synclayer.EventProductUpdated, c0.Add(time.Hour)))
		if res.Status != synclayer.EventUnchanged {
			t.Errorf("an update that changes nothing sent: %+v", res)
		}
		for key, at := range pending(t, s, "product-catalog") {
			if !at.Equal(first[key]) {
				t.Errorf("job %s was enqueued again", key)
			}
		}
		// The newer time is kept: a delivery from before it is stale.
		if res := mustIngest(t, in, productEvent(productChange(9, c0.Add(30*time.Minute), "S", "M"), synclayer.EventProductUpdated, c0.Add(30*time.Minute))); res.Status != synclayer.EventUnchanged {
			t.Errorf("stale update applied: %+v", res)
		}
	})
	t.Run("StockChangeGoesOut", func(t *testing.T) {
		before := pending(t, s, "product-catalog")
		res := mustIngest(t, in, productEvent(productChange(4, c0.Add(2*time.Hour), "S", "M"), synclayer.EventProductUpdated, c0.Add(2*time.Hour)))
		if res.Status != synclayer.EventApplied {
			t.Fatalf("stock change: %+v", res)
		}
		after := pending(t, s, "product-catalog")
		for _, key := range []string{"shopify:9", "shopify:9-S", "shopify:9-M"} {
			if after[key].Equal(before[key]) {
				t.Errorf("%s not enqueued for its new stock", key)
			}
		}
		if after["category:shopify:type:Shirts"] != before["category:shopify:type:Shirts"] {
			t.Error("the unchanged category was enqueued again")
		}
	})
	t.Run("RemovedVariantIsDeleted", func(t *testing.T) {
		mustIngest(t, in, productEvent(productChange(4, c0.Add(3*time.Hour), "S"), synclayer.EventProductUpdated, c0.Add(3*time.Hour)))
		if v, _ := s.FindProductByID(ctx, "shopify:9-M"); !v.Deleted {
			t.Errorf("variant M, gone from Shopify's list, is %+v", v)
		}
	})
	t.Run("DeleteMarksVariants", func(t *testing.T) {
		res := mustIngest(t, in, productEvent(&synclayer.ProductChange{SourceID: "9", Delete: true}, synclayer.EventProductDeleted, c0.Add(4*time.Hour)))
		if res.Status != synclayer.EventApplied {
			t.Fatalf("delete: %+v", res)
		}
		for _, id := range []string{"shopify:9", "shopify:9-S"} {
			if p, _ := s.FindProductByID(ctx, id); !p.Deleted || p.DeletedAt.IsZero() {
				t.Errorf("%s after the delete: %+v", id, p)
			}
		}
		res = mustIngest(t, in, productEvent(&synclayer.ProductChange{SourceID: "404", Delete: true}, synclayer.EventProductDeleted, c0))
		if res.Status != synclayer.EventUnchanged || res.Reason != "no such product to delete" {
			t.Errorf("deleting an unknown product: %+v", res)
		}
	})
}
