package woocommerce_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/woocommerce"
	"synclayer/source/woocommerce/woosim"
)

const (
	testKey    = "ck_test_key"
	testAPISec = "cs_test_secret"
)

var base = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func permanent(err error) bool {
	var p *synclayer.PermanentError
	return errors.As(err, &p)
}

// startSim returns a store and a source whose api: block calls it, named
// shop-eu in errors, with the webhook secret testSecret.
func startSim(t *testing.T) (*woosim.Server, *woocommerce.Source, string) {
	t.Helper()
	sim := woosim.New(testKey, testAPISec)
	sim.Now = func() time.Time { return now }
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return sim, openSource(t, hs.URL, testKey, testAPISec), hs.URL
}

func openSource(t *testing.T, url, key, secret string) *woocommerce.Source {
	t.Helper()
	api, err := (&woocommerce.APISettings{URL: url, ConsumerKey: key, ConsumerSecret: secret}).Config()
	if err != nil {
		t.Fatal(err)
	}
	return woocommerce.New(woocommerce.Config{Secrets: []string{testSecret}, API: &api, Name: "shop-eu", Now: func() time.Time { return now }})
}

// listAll lists kind from since (or cursor) to the end and returns the
// pages read.
func listAll(t *testing.T, src *woocommerce.Source, req synclayer.ListRequest) []synclayer.ListPage {
	t.Helper()
	var pages []synclayer.ListPage
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("the listing does not end")
		}
		p, err := src.List(context.Background(), req)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		pages = append(pages, p)
		if p.Next == "" {
			t.Fatalf("page %d has no Next", i+1)
		}
		if !p.More {
			return pages
		}
		req.Cursor = p.Next
	}
}

func ids(pages []synclayer.ListPage) []string {
	var out []string
	for _, p := range pages {
		for _, e := range p.Events {
			switch {
			case e.Customer != nil:
				out = append(out, e.Customer.SourceID)
			case e.Order != nil:
				out = append(out, e.Order.SourceID)
			case e.Product != nil:
				out = append(out, e.Product.SourceID)
			}
		}
	}
	return out
}

func TestSource_List(t *testing.T) {
	t.Run("CustomersInThreePages", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.Seed(woosim.Customers, 250, base, time.Minute)
		pages := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if len(pages) != 3 {
			t.Fatalf("%d pages, want 3", len(pages))
		}
		for i, n := range []int{100, 100, 50} {
			if len(pages[i].Events) != n || pages[i].Total != 250 || len(pages[i].Failed) != 0 {
				t.Errorf("page %d: %d events, Total %d, Failed %v; want %d, 250, none", i+1, len(pages[i].Events), pages[i].Total, pages[i].Failed, n)
			}
		}
		got := ids(pages)
		if len(got) != 250 || got[0] != "1" || got[249] != "250" {
			t.Errorf("ids %v…, want 1 to 250 in order", got[:3])
		}
		e := pages[0].Events[0]
		if e.DedupeKey != "woocommerce:customers:1:2026-11-01T10:00:00" || e.Topic != "customer.updated" || e.Type != synclayer.EventCustomerUpdated ||
			!e.OccurredAt.Equal(base) || string(e.Customer.Fields[synclayer.FieldEmail]) != `"customer1@example.com"` {
			t.Errorf("first event %+v", e)
		}
		if n := sim.Requests("GET customers"); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("LimitIsPerPage", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.Seed(woosim.Products, 7, base, time.Minute)
		pages := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListProducts, Limit: 3})
		if len(pages) != 3 || len(ids(pages)) != 7 || pages[0].Total != 7 {
			t.Errorf("%d pages, %d records, Total %d; want 3, 7, 7", len(pages), len(ids(pages)), pages[0].Total)
		}
	})
	t.Run("CustomersSince", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.Seed(woosim.Customers, 150, base, time.Minute)
		// Customers 121 to 150 were modified at or after the 120th minute.
		pages := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Since: base.Add(120 * time.Minute)})
		got := ids(pages)
		if len(got) != 30 || got[0] != "121" || got[29] != "150" {
			t.Errorf("ids %v, want 121 to 150", got)
		}
		if pages[0].Total != -1 {
			t.Errorf("Total %d; X-WP-Total counts every customer, so a filtered listing's total is unknown", pages[0].Total)
		}
	})
	t.Run("OrdersSince", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.Seed(woosim.Orders, 150, base, time.Minute)
		pages := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListOrders, Since: base.Add(120 * time.Minute)})
		got := ids(pages)
		if len(got) != 30 || got[0] != "121" || got[29] != "150" || pages[0].Total != 30 {
			t.Errorf("ids %v, Total %d; want 121 to 150, and the store's count (30)", got, pages[0].Total)
		}
		if len(pages) != 1 || sim.Requests("GET orders") != 1 {
			t.Errorf("%d pages, %d requests; the store filters orders, so one page", len(pages), sim.Requests("GET orders"))
		}
		if e := pages[0].Events[0]; e.DedupeKey != "woocommerce:orders:121:2026-11-01T12:00:00" || e.Order.Order.Total.String() != "19.90" {
			t.Errorf("first order %+v", e)
		}
	})
	t.Run("ResumeFromCursor", func(t *testing.T) {
		sim, src, url := startSim(t)
		sim.Seed(woosim.Customers, 250, base, time.Minute)
		first, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if err != nil || !first.More {
			t.Fatal(first.More, err)
		}
		// A new Source (a restarted program) continues from the cursor.
		src = openSource(t, url, testKey, testAPISec)
		rest := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: first.Next})
		got := ids(rest)
		if len(got) != 150 || got[0] != "101" || got[149] != "250" {
			t.Errorf("after the cursor: %d ids from %v, want 101 to 250", len(got), got[:1])
		}
		// The finished listing's cursor lists what changed since.
		end := rest[len(rest)-1].Next
		// Dates are the store's clock, which the listing reads from the
		// Date header: the simulator's is this machine's.
		sim.Put(woosim.Customers, woosim.Customer(7, time.Now().Add(time.Second)))
		later := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: end})
		if got := ids(later); len(got) != 1 || got[0] != "7" {
			t.Errorf("after the end: %v, want customer 7 changed since", got)
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		_, src, _ := startSim(t)
		for _, c := range []string{"not-a-cursor", encodeCursor(`{"k":"orders","p":2,"t":-1}`)} {
			if _, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: c}); !permanent(err) || synclayer.ErrorCode(err) != synclayer.EINVALID {
				t.Errorf("cursor %q: %v, want a Permanent EINVALID", c, err)
			}
		}
	})
	t.Run("Throttled", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.Seed(woosim.Customers, 3, base, time.Minute)
		sim.Throttle(1, "7")
		_, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || !ra.Throttled || ra.After != 7*time.Second || permanent(err) {
			t.Fatalf("429: %v, want Throttled for 7s", err)
		}
		if p, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers}); err != nil || len(p.Events) != 3 {
			t.Errorf("after the wait: %d events, %v", len(p.Events), err)
		}
		sim.Refuse(1, http.StatusServiceUnavailable, "")
		_, err = src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if !errors.As(err, &ra) || !ra.Throttled || ra.After != time.Second || permanent(err) {
			t.Errorf("503 without Retry-After: %v, want Throttled for 1s", err)
		}
	})
	t.Run("BadKey", func(t *testing.T) {
		sim, _, url := startSim(t)
		sim.Seed(woosim.Customers, 3, base, time.Minute)
		for _, c := range []struct{ key, secret, code string }{
			{"ck_unknown", testAPISec, "woocommerce_rest_cannot_view"},
			{testKey, "cs_wrong", "woocommerce_rest_authentication_error"},
		} {
			_, err := openSource(t, url, c.key, c.secret).List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
			if !permanent(err) || synclayer.HTTPStatus(err) != 401 || !strings.Contains(err.Error(), "sources.shop-eu.api.consumer_key") || !strings.Contains(err.Error(), c.code) {
				t.Errorf("key %s: %v, want a Permanent 401 naming sources.shop-eu.api.consumer_key and %s", c.key, err, c.code)
			}
			if strings.Contains(err.Error(), c.secret) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		}
	})
	t.Run("MalformedRecord", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.Seed(woosim.Customers, 2, base, time.Minute)
		sim.Put(woosim.Customers, json.RawMessage(`{"id":3,"email":42,"date_modified_gmt":"2026-11-01T10:05:00"}`))
		sim.Put(woosim.Customers, json.RawMessage(`{"id":4,"email":"d@example.com","date_modified_gmt":"yesterday"}`))
		sim.Put(woosim.Customers, json.RawMessage(`"just a string"`))
		sim.Put(woosim.Customers, json.RawMessage(`{"id":6,"email":"f@example.com"}`))
		p, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != 2 || len(p.Failed) != 4 {
			t.Fatalf("%d events, Failed %v; want 2 and 4", len(p.Events), p.Failed)
		}
		for i, want := range []struct{ field, what string }{
			{"email", "customer 3"}, {"date_modified_gmt", "customer 4: date_modified_gmt"}, {"record", "record 5 of the page"},
			{"date_modified_gmt", "customer 6: date_modified_gmt: missing; a listed record"},
		} {
			var se *synclayer.Error
			if !errors.As(p.Failed[i], &se) || se.Code != synclayer.EINVALID || se.Field != want.field || !strings.Contains(se.Message, want.what) {
				t.Errorf("Failed[%d] = %v, want EINVALID at %s naming %q", i, p.Failed[i], want.field, want.what)
			}
		}
	})
	t.Run("NoAPI", func(t *testing.T) {
		src := woocommerce.New(woocommerce.Config{Secrets: []string{testSecret}})
		if k := src.ListKinds(); k != nil || src.ReconcileInterval() != 0 {
			t.Errorf("ListKinds %v, ReconcileInterval %s; want none without an api block", k, src.ReconcileInterval())
		}
		if _, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers}); !permanent(err) {
			t.Errorf("List without api: %v", err)
		}
	})
	t.Run("Kinds", func(t *testing.T) {
		_, src, _ := startSim(t)
		if k := src.ListKinds(); !reflect.DeepEqual(k, []string{"customers", "orders", "products"}) || src.ReconcileInterval() != 24*time.Hour {
			t.Errorf("ListKinds %v, ReconcileInterval %s", k, src.ReconcileInterval())
		}
		if _, err := src.List(context.Background(), synclayer.ListRequest{Kind: "coupons"}); !permanent(err) {
			t.Errorf("coupons: %v", err)
		}
	})
}

// TestSource_ListedEqualsWebhook: one record read by the listing and
// delivered by its webhook (customer.updated, order.updated,
// product.updated) makes equal events, so ingest counts it once.
func TestSource_ListedEqualsWebhook(t *testing.T) {
	for _, c := range []struct{ kind, topic, dir string }{
		{synclayer.ListCustomers, "customer.updated", "customer-updated"},
		{synclayer.ListOrders, "order.updated", "order-updated-refund"},
		{synclayer.ListProducts, "product.updated", "product-updated"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			sim, src, _ := startSim(t)
			body, err := os.ReadFile(filepath.Join("testdata", c.dir, "body.json"))
			if err != nil {
				t.Fatal(err)
			}
			sim.Put(c.kind, body)
			p, err := src.List(context.Background(), synclayer.ListRequest{Kind: c.kind})
			if err != nil || len(p.Events) != 1 {
				t.Fatalf("List: %d events, %v, Failed %v", len(p.Events), err, p.Failed)
			}
			// The simulator's webhook delivers the same stored record.
			hook := sim.AddWebhook(woosim.Webhook{Topic: c.topic, DeliveryURL: "https://sync.example.com/webhooks/shop-eu", Secret: testSecret})
			var got []*synclayer.Event
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got, err = src.Parse(r.Header, b, now)
			}))
			defer hs.Close()
			sim.SetWebhookURL(hook.ID, hs.URL)
			var id struct {
				ID int64 `json:"id"`
			}
			_ = json.Unmarshal(body, &id)
			if _, err := sim.Deliver(context.Background(), hs.Client(), c.topic, c.kind, id.ID); err != nil {
				t.Fatal(err)
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("Parse: %v, %v", got, err)
			}
			if !reflect.DeepEqual(got[0], p.Events[0]) {
				a, _ := json.MarshalIndent(got[0], "", "  ")
				b, _ := json.MarshalIndent(p.Events[0], "", "  ")
				t.Errorf("webhook event\n%s\nlisted event\n%s", a, b)
			}
		})
	}
}

func encodeCursor(js string) string { return base64.RawURLEncoding.EncodeToString([]byte(js)) }
