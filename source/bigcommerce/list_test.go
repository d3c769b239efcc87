package bigcommerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/bigcommerce"
	"synclayer/source/bigcommerce/bigcommercesim"
	"synclayer/source/sourcetest"
)

var seedStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func lister(t *testing.T, n int) (*bigcommercesim.Server, synclayer.Lister) {
	t.Helper()
	sim := bigcommercesim.New("abc123", "bc-token")
	sim.SeedCustomers(1, n, seedStart)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return sim, open(t, hs.URL, nil).(synclayer.Lister)
}

// listAll reads a listing to its end, and returns its events, its pages'
// totals and the last Next.
func listAll(t *testing.T, l synclayer.Lister, req synclayer.ListRequest) ([]*synclayer.Event, []int, string) {
	t.Helper()
	var evs []*synclayer.Event
	var totals []int
	for range 20 {
		p, err := l.List(context.Background(), req)
		if err != nil {
			t.Fatalf("List %+v: %v", req, err)
		}
		if len(p.Failed) > 0 || p.Next == "" {
			t.Fatalf("page: failed %v, next %q", p.Failed, p.Next)
		}
		evs, totals = append(evs, p.Events...), append(totals, p.Total)
		if !p.More {
			return evs, totals, p.Next
		}
		req = synclayer.ListRequest{Kind: req.Kind, Cursor: p.Next}
	}
	t.Fatal("the listing did not end")
	return nil, nil, ""
}

// TestList_Customers: 600 customers are three pages of 250 (the default),
// each with Total 600, oldest change first, each event the one Fetch
// makes of the record (same DedupeKey), all different.
func TestList_Customers(t *testing.T) {
	_, l := lister(t, 600)
	if got := l.ListKinds(); strings.Join(got, ",") != "customers,orders,products" {
		t.Fatalf("ListKinds = %v", got)
	}
	evs, totals, _ := listAll(t, l, synclayer.ListRequest{Kind: synclayer.ListCustomers})
	if len(evs) != 600 || len(totals) != 3 || totals[0] != 600 || totals[2] != 600 {
		t.Fatalf("%d events in pages with totals %v", len(evs), totals)
	}
	keys := map[string]bool{}
	for i, ev := range evs {
		keys[ev.DedupeKey] = true
		if i > 0 && ev.OccurredAt.Before(evs[i-1].OccurredAt) {
			t.Fatalf("event %d is older than the one before", i)
		}
		sourcetest.CheckFuzzResult(t, []*synclayer.Event{ev}, nil)
	}
	if len(keys) != 600 || evs[0].DedupeKey != "bigcommerce:customers:1:2026-11-01T00:00:00Z" || evs[0].Customer.Email() != "customer1@example.com" {
		t.Fatalf("%d keys; first %+v", len(keys), evs[0])
	}
	fetched, err := l.(synclayer.Fetcher).Fetch(context.Background(), synclayer.FetchRef{Kind: "customer", ID: "1"})
	if err != nil || len(fetched) != 1 || fetched[0].DedupeKey != evs[0].DedupeKey {
		t.Fatalf("Fetch customer 1 = %+v, %v; a listed record and a fetched one are one event", fetched, err)
	}
}

// TestList_SinceAndResume: Since starts at the records changed at or
// after it; a listing resumes from a page's cursor, and a finished
// listing's Next reads only what changed since.
func TestList_SinceAndResume(t *testing.T) {
	sim, l := lister(t, 600)
	ctx := context.Background()
	since := seedStart.Add(500 * time.Second) // customers 501..600
	p, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers, Since: since, Limit: 40})
	if err != nil || len(p.Events) != 40 || p.Total != 100 || !p.More || p.Events[0].Customer.SourceID != "501" {
		t.Fatalf("page 1 from Since: %d events, total %d, more %v, %v", len(p.Events), p.Total, p.More, err)
	}
	// Resume from the cursor, as after a restart: the limit is kept.
	evs, _, next := listAll(t, l, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: p.Next})
	if len(evs) != 60 || evs[0].Customer.SourceID != "541" || evs[59].Customer.SourceID != "600" {
		t.Fatalf("resumed: %d events from %s", len(evs), evs[0].Customer.SourceID)
	}
	// Nothing changed: the finished cursor reads the last minute again.
	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: next})
	if err != nil || p.More || len(p.Events) != 61 {
		t.Fatalf("from the finished cursor: %d events, %v", len(p.Events), err)
	}
	sim.AddCustomer(map[string]any{"id": 7, "email": "changed@example.com", "date_created": "2026-11-01T00:00:06Z", "date_modified": "2026-12-01T00:00:00Z"})
	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: next})
	if err != nil || len(p.Events) != 62 || p.Events[61].Customer.SourceID != "7" || p.Events[61].Type != synclayer.EventCustomerUpdated {
		t.Fatalf("a change after the listing: %d events, %v", len(p.Events), err)
	}
	if _, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Cursor: next}); code(err) != synclayer.EINVALID || !strings.Contains(err.Error(), "cursor") {
		t.Fatalf("a customers cursor for orders: %v", err)
	}
	if _, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: "not a cursor"}); code(err) != synclayer.EINVALID {
		t.Fatalf("a bad cursor: %v", err)
	}
	if _, err := l.List(ctx, synclayer.ListRequest{Kind: "carts"}); code(err) != synclayer.EINVALID {
		t.Fatalf("a kind not listed: %v", err)
	}
}

// TestList_Errors: a 429 is Throttled for X-Rate-Limit-Time-Reset-Ms; a
// refused token is Permanent, names access_token and not the token; a
// malformed record is a Failed entry naming it and its field, beside the
// page's other records.
func TestList_Errors(t *testing.T) {
	sim, l := lister(t, 3)
	ctx := context.Background()
	sim.RateLimitNext(1)
	var ra *synclayer.RetryAfterError
	if _, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers}); !errors.As(err, &ra) || !ra.Throttled || ra.After != 50*time.Millisecond {
		t.Fatalf("a 429: %v", err)
	}
	time.Sleep(60 * time.Millisecond)

	hs := httptest.NewServer(sim)
	defer hs.Close()
	bad := open(t, hs.URL, map[string]any{"access_token": "stale-token-xyz"}).(synclayer.Lister)
	var perm *synclayer.PermanentError
	_, err := bad.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers})
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "access_token") || strings.Contains(err.Error(), "stale-token-xyz") || synclayer.HTTPStatus(err) != 401 {
		t.Fatalf("a refused token: %v", err)
	}

	sim.AddCustomer(map[string]any{"id": 2, "email": "customer2@example.com", "date_created": "2026-11-01T00:00:01Z", "date_modified": 1700000000})
	sim.AddCustomer(map[string]any{"id": 9, "email": "not an email", "date_modified": "2026-11-01T00:00:09Z"})
	p, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers})
	if err != nil || len(p.Events) != 2 || len(p.Failed) != 2 {
		t.Fatalf("page = %d events, failed %v, %v", len(p.Events), p.Failed, err)
	}
	var fe *synclayer.Error
	if !errors.As(p.Failed[0], &fe) || fe.Code != synclayer.EINVALID || fe.Field != "date_modified" || !strings.Contains(fe.Message, "customer 2") {
		t.Fatalf("Failed[0] = %v", p.Failed[0])
	}
	if !errors.As(p.Failed[1], &fe) || fe.Field != synclayer.FieldEmail || !strings.Contains(fe.Message, "customer 9") {
		t.Fatalf("Failed[1] = %v", p.Failed[1])
	}
}

// TestList_OrdersAndProducts: orders are read with their products, in
// pages v2 gives no total for (a full page has More; an empty one is a
// 204); products list as Fetch reads them.
func TestList_OrdersAndProducts(t *testing.T) {
	sim := bigcommercesim.New("abc123", "bc-token")
	for i := range 3 {
		at := seedStart.Add(time.Duration(i) * time.Hour).Format(time.RFC1123Z)
		sim.AddOrder(map[string]any{"id": 250 + i, "customer_id": 32, "status_id": 11, "currency_code": "USD", "total_inc_tax": "10.0000",
			"date_created": at, "date_modified": at, "billing_address": map[string]any{"email": "ann@example.com"}},
			[]map[string]any{{"product_id": 77, "variant_id": 78, "sku": "MUG", "name": "Mug", "price_inc_tax": "10.0000", "quantity": 1}})
	}
	sim.AddProduct(map[string]any{"id": 77, "name": "Mug", "price": 54.75, "inventory_tracking": "none", "date_modified": "2026-11-20T09:00:00Z"})
	sim.AddProduct(map[string]any{"id": 78, "name": "", "price": 1, "date_modified": "2026-11-20T09:00:00Z"})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	l := open(t, hs.URL, nil).(synclayer.Lister)
	ctx := context.Background()

	p, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Limit: 2})
	if err != nil || len(p.Events) != 2 || !p.More || p.Total != -1 || len(p.Events[0].Order.Order.Items) != 1 || p.Events[0].DedupeKey != "bigcommerce:orders:250:2026-11-01T00:00:00Z" {
		t.Fatalf("orders page 1 = %+v, %v", p, err)
	}
	sourcetest.CheckCommerce(t, p.Events[0])
	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Cursor: p.Next})
	if err != nil || len(p.Events) != 1 || p.More {
		t.Fatalf("orders page 2 = %+v, %v", p, err)
	}
	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Since: seedStart.Add(24 * time.Hour)})
	if err != nil || len(p.Events) != 0 || p.More || p.Next == "" {
		t.Fatalf("no order since (204) = %+v, %v", p, err)
	}

	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListProducts})
	if err != nil || len(p.Events) != 1 || p.Total != 2 || len(p.Failed) != 1 || !strings.Contains(p.Failed[0].Error(), "product 78") {
		t.Fatalf("products = %+v, %v", p, err)
	}
	if p.Events[0].Product.Product.Name != "Mug" {
		t.Fatalf("product = %+v", p.Events[0].Product.Product)
	}
}

// TestReconcileInterval: daily unless set, off turns it off, and a
// value too short is refused at reconcile_interval.
func TestReconcileInterval(t *testing.T) {
	if d := open(t, "https://api.bigcommerce.com", nil).(synclayer.SourceReconciler).ReconcileInterval(); d != 24*time.Hour {
		t.Fatalf("default = %v", d)
	}
	if d := open(t, "https://api.bigcommerce.com", map[string]any{"reconcile_interval": "off"}).(synclayer.SourceReconciler).ReconcileInterval(); d != 0 {
		t.Fatalf("off = %v", d)
	}
	if d := open(t, "https://api.bigcommerce.com", map[string]any{"reconcile_interval": "6h"}).(synclayer.SourceReconciler).ReconcileInterval(); d != 6*time.Hour {
		t.Fatalf("6h = %v", d)
	}
	for _, bad := range []any{"5s", "daily", true} {
		_, err := openErr(map[string]any{"reconcile_interval": bad})
		var se *synclayer.Error
		if !errors.As(err, &se) || se.Field != "reconcile_interval" {
			t.Errorf("reconcile_interval %v: %v", bad, err)
		}
	}
}

func openErr(extra map[string]any) (synclayer.Source, error) {
	m := map[string]any{"store_hash": "abc123", "access_token": "bc-token"}
	for k, v := range extra {
		m[k] = v
	}
	section, _ := json.Marshal(m)
	return bigcommerce.Type.Open([]string{clientSecret}, synclayer.SourceSettings{Name: "bigcommerce", Section: section})
}

// TestList_OrdersQuota: a page of orders costs a request per order; when
// the rate-limit window runs out within a page, the orders read are
// returned and the cursor reads the rest of that page after the reset,
// so a page larger than the quota still ends, each order once.
func TestList_OrdersQuota(t *testing.T) {
	sim := bigcommercesim.New("abc123", "bc-token")
	for i := range 3 {
		at := seedStart.Add(time.Duration(i) * time.Hour).Format(time.RFC1123Z)
		sim.AddOrder(map[string]any{"id": 250 + i, "status_id": 11, "currency_code": "USD", "total_inc_tax": "10.0000",
			"date_created": at, "date_modified": at, "billing_address": map[string]any{"email": "ann@example.com"}}, nil)
	}
	hs := httptest.NewServer(sim)
	defer hs.Close()
	l := open(t, hs.URL, nil).(synclayer.Lister)
	ctx := context.Background()
	sim.Quota(3) // the list and two orders' products
	p, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Limit: 3})
	if err != nil || len(p.Events) != 2 || !p.More {
		t.Fatalf("page 1, part 1 = %d events, more %v, %v", len(p.Events), p.More, err)
	}
	var ra *synclayer.RetryAfterError
	if _, err := l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Cursor: p.Next}); !errors.As(err, &ra) || !ra.Throttled {
		t.Fatalf("before the reset: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Cursor: p.Next})
	if err != nil || len(p.Events) != 1 || p.Events[0].Order.SourceID != "252" || !p.More {
		t.Fatalf("page 1, part 2 = %+v, %v", p.Events, err)
	}
	p, err = l.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders, Cursor: p.Next})
	if err != nil || len(p.Events) != 0 || p.More {
		t.Fatalf("page 2 = %+v, %v", p, err)
	}
}
