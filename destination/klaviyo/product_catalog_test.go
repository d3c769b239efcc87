package klaviyo_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

// catalogRunner runs product and category deliveries, one state per key.
type catalogRunner struct {
	ps    synclayer.ProductSync
	state map[string]json.RawMessage
}

func newCatalogRunner(t *testing.T) (*env, *catalogRunner) {
	t.Helper()
	e, d := commerce(t, klaviyosim.Options{})
	ps, err := d.ProductSync(synclayer.SkillConfig{})
	if err != nil {
		t.Fatalf("ProductSync: %v", err)
	}
	return e, &catalogRunner{ps: ps, state: map[string]json.RawMessage{}}
}

func (r *catalogRunner) apply(t *testing.T, key string, plan *synclayer.Plan, err error) (*synclayer.Plan, error) {
	t.Helper()
	if err != nil {
		return nil, err
	}
	if _, err := r.ps.Apply(context.Background(), plan); err != nil {
		return plan, err
	}
	r.state[key] = plan.Next
	return plan, nil
}

func (r *catalogRunner) product(t *testing.T, p *synclayer.Product) (*synclayer.Plan, error) {
	t.Helper()
	plan, err := r.ps.PlanProduct(p, r.state[p.ID])
	return r.apply(t, p.ID, plan, err)
}

func (r *catalogRunner) category(t *testing.T, c *synclayer.Category) (*synclayer.Plan, error) {
	t.Helper()
	plan, err := r.ps.PlanCategory(c, r.state[synclayer.CategoryKey(c.ID)])
	return r.apply(t, synclayer.CategoryKey(c.ID), plan, err)
}

func mustOp(t *testing.T, plan *synclayer.Plan, err error, want synclayer.PlanOp) {
	t.Helper()
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if plan.Op != want {
		t.Fatalf("plan %s (%q), want %s", plan.Op, plan.Reason, want)
	}
}

func tee() *synclayer.Product {
	return &synclayer.Product{ID: "shopify:p1", Source: "shopify", SourceID: "p1", Name: "Tee", URL: "https://shop.example/tee",
		ImageURL: "https://shop.example/tee.jpg", Price: synclayer.MustMoney("19.90"), Categories: []string{"shopify:c1"}, UpdatedAt: t0}
}

func TestProductSync_Catalog(t *testing.T) {
	e, r := newCatalogRunner(t)
	cat := &synclayer.Category{ID: "shopify:c1", Name: "Shirts", UpdatedAt: t0}
	plan, err := r.category(t, cat)
	mustOp(t, plan, err, synclayer.PlanCreate)
	plan, err = r.product(t, tee())
	mustOp(t, plan, err, synclayer.PlanCreate)
	it, ok := e.sim.CatalogItem("shopify:p1")
	if !ok || it.ID != "$custom:::$default:::shopify:p1" || it.Attributes["title"] != "Tee" || it.Attributes["price"] != json.Number("19.90") ||
		len(it.CategoryIDs) != 1 || it.CategoryIDs[0] != "$custom:::$default:::shopify:c1" {
		t.Fatalf("item %+v (found %v)", it, ok)
	}

	plan, err = r.product(t, tee())
	mustOp(t, plan, err, synclayer.PlanNone)

	changed := tee()
	changed.Price, changed.ImageURL, changed.UpdatedAt = synclayer.MustMoney("17.50"), "", t0.Add(time.Hour)
	plan, err = r.product(t, changed)
	mustOp(t, plan, err, synclayer.PlanUpdate)
	it, _ = e.sim.CatalogItem("shopify:p1")
	if it.Attributes["price"] != json.Number("17.50") || it.Attributes["image_full_url"] != nil {
		t.Errorf("updated item %+v, want price 17.50 and no image", it.Attributes)
	}

	cat.Name = "T-Shirts"
	plan, err = r.category(t, cat)
	mustOp(t, plan, err, synclayer.PlanUpdate)
	plan, err = r.category(t, cat)
	mustOp(t, plan, err, synclayer.PlanNone)
	if c := e.sim.CatalogCategories(); len(c) != 1 || c[0].Name != "T-Shirts" {
		t.Errorf("categories %+v", c)
	}

	v := &synclayer.Product{ID: "shopify:v1", ParentID: "shopify:p1", SKU: "TEE-M", Name: "Tee M", URL: "https://shop.example/tee?v=1",
		Price: synclayer.MustMoney("19.90"), Stock: new(int64(4))}
	plan, err = r.product(t, v)
	mustOp(t, plan, err, synclayer.PlanCreate)
	vs := e.sim.CatalogVariants()
	if len(vs) != 1 || vs[0].ItemID != it.ID || vs[0].Attributes["sku"] != "TEE-M" || vs[0].Attributes["inventory_quantity"] != json.Number("4") {
		t.Fatalf("variants %+v", vs)
	}

	gone := tee()
	gone.Deleted = true
	plan, err = r.product(t, gone)
	mustOp(t, plan, err, synclayer.PlanDelete)
	if _, ok := e.sim.CatalogItem("shopify:p1"); ok {
		t.Error("the item is still in the catalog")
	}
	plan, err = r.product(t, gone)
	mustOp(t, plan, err, synclayer.PlanNone)
}

func TestProductSync_Edges(t *testing.T) {
	t.Run("DeletedNeverSent", func(t *testing.T) {
		e, r := newCatalogRunner(t)
		p := tee()
		p.Deleted = true
		plan, err := r.product(t, p)
		mustOp(t, plan, err, synclayer.PlanNone)
		if n := len(e.sim.Calls()); n != 0 {
			t.Fatalf("%d calls, want none", n)
		}
	})
	t.Run("CategoryNotThereYetIsRetried", func(t *testing.T) {
		_, r := newCatalogRunner(t)
		if _, err := r.product(t, tee()); kind(err) != "retry-after" {
			t.Fatalf("err %v, want a retry once the category's job ran", err)
		}
		if _, err := r.category(t, &synclayer.Category{ID: "shopify:c1", Name: "Shirts"}); err != nil {
			t.Fatal(err)
		}
		plan, err := r.product(t, tee())
		mustOp(t, plan, err, synclayer.PlanCreate)
	})
	t.Run("LostAnswerCreatesAgainAsUpdate", func(t *testing.T) {
		e, r := newCatalogRunner(t)
		p := tee()
		p.Categories = nil
		plan, _ := r.ps.PlanProduct(p, nil)
		if _, err := r.ps.Apply(context.Background(), plan); err != nil {
			t.Fatal(err)
		}
		summary, err := r.ps.Apply(context.Background(), plan) // the state was never recorded
		if err != nil || !strings.Contains(summary, "409") {
			t.Fatalf("summary %q, err %v; want the 409 answered by an update", summary, err)
		}
		if n := len(e.sim.CatalogItems()); n != 1 {
			t.Errorf("%d items", n)
		}
	})
	t.Run("NoURL", func(t *testing.T) {
		_, r := newCatalogRunner(t)
		p := tee()
		p.URL = ""
		if _, err := r.product(t, p); kind(err) != "permanent" {
			t.Fatalf("err %v, want permanent", err)
		}
	})
	t.Run("Outage", func(t *testing.T) {
		e, r := newCatalogRunner(t)
		e.sim.SetOutage(klaviyosim.Outage500)
		if _, err := r.category(t, &synclayer.Category{ID: "shopify:c1", Name: "Shirts"}); kind(err) != "retryable" {
			t.Fatalf("err %v, want retryable", err)
		}
	})
	_ = klaviyo.CatalogID
}
