package mailchimp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

func item(product, variant, price string, qty int64) synclayer.OrderItem {
	return synclayer.OrderItem{ProductID: product, VariantID: variant, Name: "Item " + product, Price: synclayer.MustMoney(price), Quantity: qty}
}

func testOrder(id string, status synclayer.OrderStatus, items ...synclayer.OrderItem) *synclayer.Order {
	total := synclayer.MustMoney("0.00")
	for _, it := range items {
		for range it.Quantity {
			total = total.Add(it.Price)
		}
	}
	return &synclayer.Order{ID: id, Source: "shop", Status: status, Currency: "USD", Total: total, Items: items,
		CreatedAt: t0, UpdatedAt: t0}
}

// deliverOrder plans and applies o, as the runner does, and returns the
// state to hold next.
func deliverOrder(tb testing.TB, s *mailchimp.OrderSync, o *synclayer.Order, c *synclayer.Contact, prev json.RawMessage) json.RawMessage {
	tb.Helper()
	plan, err := s.Plan(o, c, prev)
	if err != nil {
		tb.Fatalf("plan: %v", err)
	}
	if _, err := s.Apply(context.Background(), o, c, plan); err != nil {
		tb.Fatalf("apply: %v", err)
	}
	return plan.Next
}

func onlyOrder(t *testing.T, e *env) mailchimpsim.Order {
	t.Helper()
	os := e.sim.Orders(storeID)
	if len(os) != 1 {
		t.Fatalf("orders = %+v", os)
	}
	return os[0]
}

func lastBody(t *testing.T, e *env, method, pathPart string) map[string]any {
	t.Helper()
	var out map[string]any
	for _, c := range e.sim.CallsTo(method, "/ecommerce/") {
		if strings.Contains(c.Path, pathPart) {
			out = nil
			json.Unmarshal(c.Body, &out)
		}
	}
	return out
}

func TestOrderSync_Lifecycle(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newOrderSync(t, e)
	c := contact("ann@example.com", synclayer.ConsentUnknown, nil)
	o := testOrder("shop:1001", synclayer.OrderPaid, item("shop:p1", "shop:v1", "19.99", 2), item("shop:p2", "", "5.00", 1))

	t.Run("Create", func(t *testing.T) {
		prev := deliverOrder(t, s, o, c, nil)
		got := onlyOrder(t, e)
		if got.FinancialStatus != "paid" || got.OrderTotal != "44.98" || got.CurrencyCode != "USD" || len(got.Lines) != 2 ||
			got.ProcessedAtForeign != "2026-03-01T12:00:00Z" || got.CustomerID != "c1" {
			t.Fatalf("order = %+v", got)
		}
		body := lastBody(t, e, "POST", "/orders")
		cust, _ := body["customer"].(map[string]any)
		if cust["opt_in_status"] != false || cust["email_address"] != "ann@example.com" || cust["id"] != "c1" {
			t.Fatalf("customer = %v", cust)
		}
		// The lines' products were created, each with the variant its line names.
		ps := e.sim.Products(storeID)
		if len(ps) != 2 || ps[0].ID != "shop:p1" || ps[0].Variants[0].ID != "shop:v1" || ps[1].Variants[0].ID != "shop:p2" {
			t.Fatalf("products = %+v", ps)
		}
		if m := member(t, e, "ann@example.com"); m.Status != "transactional" {
			t.Fatalf("member = %s", m.Status)
		}

		t.Run("NoOp", func(t *testing.T) {
			calls := len(e.sim.Calls())
			again := *o
			again.UpdatedAt = t0.Add(time.Hour) // a re-sent webhook
			plan, err := s.Plan(&again, c, prev)
			if err != nil || plan.Op != synclayer.PlanNone || plan.Reason != "Mailchimp holds the order as it is" || len(plan.Calls) != 0 {
				t.Fatalf("plan = %+v, %v", plan, err)
			}
			if _, err := s.Apply(context.Background(), &again, c, plan); err != nil || len(e.sim.Calls()) != calls {
				t.Fatalf("a no-op made calls: %v", err)
			}
		})
		t.Run("UpdatePatchesOnlyChanges", func(t *testing.T) {
			upd := *o
			upd.Items = []synclayer.OrderItem{item("shop:p1", "shop:v1", "19.99", 3)}
			upd.Total = synclayer.MustMoney("59.97")
			plan, _ := s.Plan(&upd, c, prev)
			if plan.Op != synclayer.PlanUpdate {
				t.Fatalf("op = %s", plan.Op)
			}
			prev = deliverOrder(t, s, &upd, c, prev)
			body := lastBody(t, e, "PATCH", "/orders/")
			if _, ok := body["customer"]; ok || body["financial_status"] != nil || body["order_total"] != 59.97 || len(body["lines"].([]any)) != 1 {
				t.Fatalf("PATCH body = %v", body)
			}
			got := onlyOrder(t, e)
			if len(got.Lines) != 1 || got.Lines[0].Quantity != 3 || got.OrderTotal != "59.97" {
				t.Fatalf("order = %+v (the dropped line must be deleted)", got)
			}
			if n := len(e.sim.CallsTo("POST", "/ecommerce/stores/"+storeID+"/orders")); n != 1 {
				t.Fatalf("order POSTs = %d", n)
			}
			o = &upd
		})
		t.Run("PartialRefund", func(t *testing.T) {
			o.Refunds = []synclayer.Refund{{ID: "r1", Amount: synclayer.MustMoney("19.99"), CreatedAt: t0.Add(2 * time.Hour)}}
			prev = deliverOrder(t, s, o, c, prev)
			body := lastBody(t, e, "PATCH", "/orders/")
			if len(body) != 2 || body["financial_status"] != "refunded" || body["order_total"] != 39.98 {
				t.Fatalf("PATCH body = %v", body)
			}
		})
		t.Run("Cancelled", func(t *testing.T) {
			o.Status = synclayer.OrderCancelled
			o.UpdatedAt = t0.Add(3 * time.Hour)
			prev = deliverOrder(t, s, o, c, prev)
			got := onlyOrder(t, e)
			if got.FinancialStatus != "cancelled" || got.CancelledAtForeign != "2026-03-01T15:00:00Z" {
				t.Fatalf("order = %+v", got)
			}
			o.Deleted = true
			plan, _ := s.Plan(o, c, prev)
			if plan.Op != synclayer.PlanNone {
				t.Fatalf("deleting a cancelled order: %+v", plan)
			}
		})
	})
	noOptInTrue(t, e)
}

func TestOrderSync_NoCall(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newOrderSync(t, e)
	o := testOrder("o1", synclayer.OrderPaid, item("p", "", "1", 1))
	for name, c := range map[string]*synclayer.Contact{"NoContact": nil, "NoEmail": {ID: "c9"}} {
		plan, err := s.Plan(o, c, nil)
		if err != nil || plan.Op != synclayer.PlanNone || !strings.Contains(plan.Reason, "email") {
			t.Errorf("%s: plan = %+v, %v", name, plan, err)
		}
	}
	o.Deleted = true
	if plan, _ := s.Plan(o, contact("a@example.com", synclayer.ConsentUnknown, nil), nil); plan.Op != synclayer.PlanNone {
		t.Fatalf("deleted, never sent: %+v", plan)
	}
}

func TestOrderSync_Mends(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newOrderSync(t, e)
	c := contact("bo@example.com", synclayer.ConsentUnknown, nil)
	o := testOrder("o1", synclayer.OrderPending, item("p1", "", "2.50", 1))
	t.Run("LostAnswerPostedTwice", func(t *testing.T) {
		plan, _ := s.Plan(o, c, nil)
		if _, err := s.Apply(ctx, o, c, plan); err != nil {
			t.Fatal(err)
		}
		plan, _ = s.Plan(o, c, nil) // the state was never written
		if _, err := s.Apply(ctx, o, c, plan); err != nil {
			t.Fatalf("second POST: %v", err)
		}
		if got := onlyOrder(t, e); got.FinancialStatus != "pending" {
			t.Fatalf("order = %+v", got)
		}
	})
	t.Run("ProductDeletedInsideMailchimp", func(t *testing.T) {
		prev, _ := s.Plan(o, c, nil)
		e.sim.DeleteProductInMailchimp(storeID, "p1")
		o.Status = synclayer.OrderPaid
		o.Items[0].Quantity = 2
		o.Total = synclayer.MustMoney("5.00")
		deliverOrder(t, s, o, c, prev.Next)
		if got := onlyOrder(t, e); got.FinancialStatus != "paid" || len(e.sim.Products(storeID)) != 1 {
			t.Fatalf("order = %+v", got)
		}
	})
	t.Run("OutageIsRetryable", func(t *testing.T) {
		o2 := testOrder("o2", synclayer.OrderPaid, item("p1", "", "1", 1))
		plan, _ := s.Plan(o2, c, nil)
		e.sim.SetOutage(mailchimpsim.Outage500)
		defer e.sim.SetOutage(mailchimpsim.OutageNone)
		_, err := s.Apply(ctx, o2, c, plan)
		if err == nil || isPermanent(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
	})
}
