package storetest

import (
	"context"
	"testing"

	"synclayer"
)

func testOrders(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	c := newContact("buyer@example.com", "", "shopify", "7")
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })

	o := &synclayer.Order{
		ID: "shopify:1001", Source: "shopify", SourceID: "1001", ContactID: c.ID, Number: "#1001",
		Status: synclayer.OrderPaid, Currency: "USD", Total: synclayer.MustMoney("409.94"),
		Items:     []synclayer.OrderItem{{ProductID: "shopify:9", VariantID: "shopify:9-1", Price: synclayer.MustMoney("199.99"), Quantity: 2}},
		CreatedAt: t0, UpdatedAt: t0,
	}
	// A refund can come first; it waits for its order.
	early := &synclayer.Refund{ID: "r1", OrderID: o.ID, Amount: synclayer.MustMoney("10.00"), CreatedAt: t0.Add(1)}
	mustTx(t, s, func(tx synclayer.Tx) error {
		if _, err := tx.FindOrderByID(ctx, o.ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("find unknown order: err %v, want ENOTFOUND", err)
		}
		if changed, err := tx.SaveRefund(ctx, early); err != nil || !changed {
			t.Errorf("save new refund: changed %v, err %v", changed, err)
		}
		if changed, err := tx.SaveRefund(ctx, early); err != nil || changed {
			t.Errorf("save the same refund again: changed %v, err %v; want unchanged", changed, err)
		}
		return tx.SaveOrder(ctx, o)
	})
	if o.Version != 1 {
		t.Errorf("version %d after the first save, want 1", o.Version)
	}
	got, err := s.FindOrderByID(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.String() != "409.94" || got.ContactID != c.ID || len(got.Items) != 1 || got.Items[0].Price.String() != "199.99" {
		t.Errorf("order read back as %+v", got)
	}
	if len(got.Refunds) != 1 || got.Refunds[0].Amount.String() != "10.00" || got.Net().String() != "399.94" {
		t.Errorf("refunds %+v, net %s; want the early refund and 399.94", got.Refunds, got.Net())
	}

	second := &synclayer.Order{ID: "shopify:1002", Source: "shopify", SourceID: "1002", ContactID: c.ID,
		Status: synclayer.OrderCancelled, Currency: "USD", Total: synclayer.MustMoney("5"), CreatedAt: t0.Add(2), UpdatedAt: t0.Add(2)}
	mustTx(t, s, func(tx synclayer.Tx) error {
		o.Status = synclayer.OrderCompleted
		if err := tx.SaveOrder(ctx, o); err != nil {
			return err
		}
		if err := tx.SaveOrder(ctx, second); err != nil {
			return err
		}
		orders, err := tx.FindOrdersByContact(ctx, c.ID)
		if err != nil || len(orders) != 2 {
			t.Errorf("orders of the contact: %d, %v; want 2", len(orders), err)
		}
		return nil
	})
	if o.Version != 2 {
		t.Errorf("version %d after the second save, want 2", o.Version)
	}
	list, err := s.FindOrders(ctx, synclayer.OrderFilter{ContactID: c.ID})
	if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].Status != synclayer.OrderCompleted {
		t.Errorf("FindOrders = %v, %v; want the newest first, with the new status", list, err)
	}
	if list, _ := s.FindOrders(ctx, synclayer.OrderFilter{ContactID: "ct_nobody"}); len(list) != 0 {
		t.Errorf("orders of an unknown contact: %v", list)
	}
}

func testProducts(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	stock := int64(3)
	parent := &synclayer.Product{ID: "shopify:9", Source: "shopify", SourceID: "9", Name: "Shirt", Price: synclayer.MustMoney("19.90"),
		Categories: []string{"shopify:type:Shirts"}, UpdatedAt: t0}
	variant := &synclayer.Product{ID: "shopify:9-1", Source: "shopify", SourceID: "9-1", ParentID: parent.ID, Name: "Shirt - S",
		SKU: "SH-S", Price: synclayer.MustMoney("19.90"), Stock: &stock, UpdatedAt: t0}
	cat := &synclayer.Category{ID: "shopify:type:Shirts", Name: "Shirts", UpdatedAt: t0}
	mustTx(t, s, func(tx synclayer.Tx) error {
		if _, err := tx.FindProductByID(ctx, parent.ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("find unknown product: err %v, want ENOTFOUND", err)
		}
		if _, err := tx.FindCategoryByID(ctx, cat.ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("find unknown category: err %v, want ENOTFOUND", err)
		}
		for _, p := range []*synclayer.Product{parent, variant} {
			if err := tx.SaveProduct(ctx, p); err != nil {
				return err
			}
		}
		return tx.SaveCategory(ctx, cat)
	})
	got, err := s.FindProductByID(ctx, variant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SameContent(variant) || got.Stock == nil || *got.Stock != 3 || got.Version != 1 {
		t.Errorf("variant read back as %+v", got)
	}
	if c, err := s.FindCategoryByID(ctx, cat.ID); err != nil || c.Name != "Shirts" || c.Version != 1 {
		t.Errorf("category read back as %+v, %v", c, err)
	}
	mustTx(t, s, func(tx synclayer.Tx) error {
		vs, err := tx.FindProductVariants(ctx, parent.ID)
		if err != nil || len(vs) != 1 || vs[0].ID != variant.ID {
			t.Errorf("variants of %s: %v, %v", parent.ID, vs, err)
		}
		parent.Deleted, parent.DeletedAt = true, t0.Add(1)
		return tx.SaveProduct(ctx, parent)
	})
	if got, _ := s.FindProductByID(ctx, parent.ID); got == nil || !got.Deleted || got.Version != 2 {
		t.Errorf("deleted parent read back as %+v", got)
	}
}
