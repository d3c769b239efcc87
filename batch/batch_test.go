package batch_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"synclayer"
	"synclayer/batch"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevospec"
	"synclayer/destination/brevo/brevotest"
	"synclayer/skill"
	"synclayer/store/storetest"
)

func sim(t *testing.T) (*brevotest.Server, *brevo.Client) {
	t.Helper()
	s := brevotest.New(brevotest.Options{APIKey: "k", Validate: brevospec.Load(t).Validate, OtherHourlyLimit: 100, HourlyWindow: time.Minute})
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		for _, v := range s.Violations() {
			t.Errorf("request violates Brevo's spec: %s", v)
		}
	})
	return s, brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"})
}

// TestFlusher_CommerceLimits queues more orders and products than one
// batch call takes: they go out in calls of at most 1,000 orders and 100
// products, and a second flush finds nothing changed.
func TestFlusher_CommerceLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	s, client := sim(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		for i := range 1201 {
			o := &synclayer.Order{ID: fmt.Sprintf("shopify:%d", i), Source: "shopify", SourceID: fmt.Sprint(i), Status: synclayer.OrderPaid,
				Total: synclayer.MustMoney("10.00"), CreatedAt: now, UpdatedAt: now}
			if err := tx.SaveOrder(ctx, o); err != nil {
				return err
			}
			if err := tx.EnqueueJob(ctx, synclayer.BatchQueue(skill.OrderEventsName), "brevo", o.ID, now); err != nil {
				return err
			}
		}
		for i := range 150 {
			p := &synclayer.Product{ID: fmt.Sprintf("shopify:p%d", i), Name: fmt.Sprintf("P%d", i), Price: synclayer.MustMoney("2.50")}
			if err := tx.SaveProduct(ctx, p); err != nil {
				return err
			}
			if err := tx.EnqueueJob(ctx, synclayer.BatchQueue(skill.ProductCatalogName), "brevo", p.ID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	orders := batch.New(batch.Config{Store: db, Client: client, Skill: skill.OrderEventsName, Orders: &skill.OrderEvents{Store: db, Client: client}, MaxSize: -1, Historical: true})
	products := batch.New(batch.Config{Store: db, Client: client, Skill: skill.ProductCatalogName, Products: &skill.ProductCatalog{Store: db, Client: client}, MaxSize: -1})
	for _, f := range []*batch.Flusher{orders, products} {
		st, err := f.Drain(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Failed != 0 || st.Imported == 0 {
			t.Errorf("%s: %+v", f.Queue(), st)
		}
	}
	if got := len(s.Orders()); got != 1201 {
		t.Errorf("%d orders in Brevo, want 1201", got)
	}
	if n := s.CallCount("POST", "/orders/status/batch"); n != 2 {
		t.Errorf("%d order batch calls, want 2 (1,000 and 201)", n)
	}
	if got, n := len(s.Products()), s.CallCount("POST", "/products/batch"); got != 150 || n != 2 {
		t.Errorf("%d products in %d calls, want 150 in 2", got, n)
	}
	if o, _ := s.OrderByID("shopify:7"); !o.Historical || o.Amount != "10.00" {
		t.Errorf("order %+v", o)
	}
	// Everything is recorded as sent: queueing it all again sends nothing.
	calls := len(s.Calls())
	for _, q := range []string{"orders", "products"} {
		sk := map[string]string{"orders": skill.OrderEventsName, "products": skill.ProductCatalogName}[q]
		if _, err := db.EnqueueAll(ctx, q, synclayer.BatchQueue(sk), "brevo", now); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []*batch.Flusher{orders, products} {
		st, err := f.Drain(ctx, nil)
		if err != nil || st.Imported != 0 || st.Unchanged == 0 {
			t.Errorf("second drain of %s: %+v, %v", f.Queue(), st, err)
		}
	}
	if extra := len(s.Calls()) - calls; extra != 0 {
		t.Errorf("%d calls for records Brevo already holds", extra)
	}
}
