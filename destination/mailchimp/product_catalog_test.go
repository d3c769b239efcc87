package mailchimp_test

import (
	"context"
	"encoding/json"
	"testing"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

func newProductSync(tb testing.TB, e *env) *mailchimp.ProductSync {
	tb.Helper()
	s, err := mailchimp.NewProductSync(e.client, skillConfig(nil))
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func deliverProduct(tb testing.TB, s *mailchimp.ProductSync, p *synclayer.Product, prev json.RawMessage) (*synclayer.Plan, json.RawMessage) {
	tb.Helper()
	plan, err := s.PlanProduct(p, prev)
	if err != nil {
		tb.Fatalf("plan: %v", err)
	}
	if _, err := s.Apply(context.Background(), plan); err != nil {
		tb.Fatalf("apply: %v", err)
	}
	return plan, plan.Next
}

func product(t *testing.T, e *env, id string) mailchimpsim.Product {
	t.Helper()
	for _, p := range e.sim.Products(storeID) {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no product %s", id)
	return mailchimpsim.Product{}
}

func TestProductSync(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newProductSync(t, e)
	stock := int64(7)
	hat := &synclayer.Product{ID: "shop:hat", Name: "Cat Hat", URL: "https://shop.example/hat", Price: synclayer.MustMoney("24.50"), SKU: "HAT", Stock: &stock}
	var prev json.RawMessage

	t.Run("CreateWithItsOwnVariant", func(t *testing.T) {
		plan, next := deliverProduct(t, s, hat, nil)
		prev = next
		p := product(t, e, "shop:hat")
		if plan.Op != synclayer.PlanCreate || p.Title != "Cat Hat" || len(p.Variants) != 1 {
			t.Fatalf("plan %s, product = %+v", plan.Op, p)
		}
		v := p.Variants[0]
		if v.ID != "shop:hat" || v.Price != "24.5" && v.Price != "24.50" || v.SKU != "HAT" || *v.InventoryQuantity != 7 {
			t.Fatalf("variant = %+v", v)
		}
	})
	t.Run("Unchanged", func(t *testing.T) {
		if plan, _ := s.PlanProduct(hat, prev); plan.Op != synclayer.PlanNone {
			t.Fatalf("plan = %+v", plan)
		}
	})
	t.Run("UpdateSendsOnlyChanges", func(t *testing.T) {
		hat.Name = "Cat Hat II"
		plan, next := deliverProduct(t, s, hat, prev)
		prev = next
		if plan.Op != synclayer.PlanUpdate || len(plan.Calls) != 2 { // PATCH title, PUT the variant's title
			t.Fatalf("plan = %+v", plan.Calls)
		}
		body := lastBody(t, e, "PATCH", "/products/")
		if len(body) != 1 || body["title"] != "Cat Hat II" {
			t.Fatalf("PATCH body = %v", body)
		}
		hat.Price = synclayer.MustMoney("20.00")
		plan, prev = deliverProduct(t, s, hat, prev)
		if len(plan.Calls) != 1 || plan.Calls[0].Method != "PUT" {
			t.Fatalf("a price change: %+v", plan.Calls)
		}
		if v := product(t, e, "shop:hat").Variants[0]; v.Price != "20" && v.Price != "20.00" {
			t.Fatalf("variant = %+v", v)
		}
	})
	t.Run("VariantUnderItsParent", func(t *testing.T) {
		red := &synclayer.Product{ID: "shop:hat-red", ParentID: "shop:hat", Name: "Cat Hat, red", Price: synclayer.MustMoney("21")}
		plan, next := deliverProduct(t, s, red, nil)
		if plan.Calls[0].Method != "PUT" || len(product(t, e, "shop:hat").Variants) != 2 {
			t.Fatalf("plan = %+v", plan.Calls)
		}
		red.Deleted = true
		plan, _ = deliverProduct(t, s, red, next)
		if plan.Op != synclayer.PlanDelete || len(product(t, e, "shop:hat").Variants) != 1 {
			t.Fatalf("variant delete: %+v", plan)
		}
	})
	t.Run("VariantBeforeParent", func(t *testing.T) {
		blue := &synclayer.Product{ID: "shop:cap-blue", ParentID: "shop:cap", Name: "Cap, blue"}
		deliverProduct(t, s, blue, nil)
		cap := &synclayer.Product{ID: "shop:cap", Name: "Cap", URL: "https://shop.example/cap"}
		deliverProduct(t, s, cap, nil) // POST finds it: PATCH and PUT instead
		p := product(t, e, "shop:cap")
		if p.Title != "Cap" || p.URL != "https://shop.example/cap" || len(p.Variants) != 2 {
			t.Fatalf("product = %+v", p)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		hat.Deleted = true
		plan, next := deliverProduct(t, s, hat, prev)
		if plan.Op != synclayer.PlanDelete || len(e.sim.Products(storeID)) != 1 {
			t.Fatalf("plan = %+v, products %+v", plan, e.sim.Products(storeID))
		}
		if again, _ := s.PlanProduct(hat, next); again.Op != synclayer.PlanNone {
			t.Fatalf("second delete: %+v", again)
		}
		never := &synclayer.Product{ID: "shop:never", Name: "x", Deleted: true}
		if plan, _ := s.PlanProduct(never, nil); plan.Op != synclayer.PlanNone {
			t.Fatalf("never sent: %+v", plan)
		}
	})
	t.Run("CategoriesMakeNoCall", func(t *testing.T) {
		calls := len(e.sim.Calls())
		plan, err := s.PlanCategory(&synclayer.Category{ID: "shop:c1", Name: "Hats"}, nil)
		if err != nil || plan.Op != synclayer.PlanNone || plan.Reason != "Mailchimp has no categories" {
			t.Fatalf("plan = %+v, %v", plan, err)
		}
		if _, err := s.Apply(context.Background(), plan); err != nil || len(e.sim.Calls()) != calls {
			t.Fatalf("a category made calls: %v", err)
		}
	})
	t.Run("NoNameIsPermanent", func(t *testing.T) {
		if _, err := s.PlanProduct(&synclayer.Product{ID: "x"}, nil); !isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
}
