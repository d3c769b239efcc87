package shopify_test

import (
	"encoding/json"
	"testing"

	"synclayer"
)

// checkCommerce checks an order or product event the fuzzer produced: the
// IDs it must have are there, every amount is exact decimal text, and the
// event encodes to valid JSON.
func checkCommerce(t *testing.T, e *synclayer.Event) {
	t.Helper()
	if b, err := json.Marshal(e); err != nil || !json.Valid(b) {
		t.Fatalf("event does not encode: %v", err)
	}
	if oc := e.Order; oc != nil {
		if oc.SourceID == "" {
			t.Fatalf("order change without an order ID: %+v", oc)
		}
		if o := oc.Order; o != nil {
			if o.SourceID != oc.SourceID || o.Total.IsZero() || !o.Status.Valid() || o.UpdatedAt.IsZero() && !o.CreatedAt.IsZero() {
				t.Fatalf("incomplete order %+v", o)
			}
			for _, it := range o.Items {
				if it.ProductID == "" || it.Price.IsZero() {
					t.Fatalf("order line %+v", it)
				}
			}
		}
		for _, r := range oc.Refunds {
			if r.ID == "" || r.OrderID != oc.SourceID || r.Amount.Sign() < 0 {
				t.Fatalf("refund %+v", r)
			}
		}
		if c := oc.Customer; c != nil {
			for k, v := range c.Fields {
				if !json.Valid(v) {
					t.Fatalf("customer field %s = %q is not valid JSON", k, v)
				}
			}
		}
	}
	if pc := e.Product; pc != nil {
		if pc.SourceID == "" || (!pc.Delete && pc.Product == nil) {
			t.Fatalf("incomplete product change %+v", pc)
		}
		for _, v := range pc.Variants {
			if v.SourceID == "" || v.ParentID != pc.SourceID {
				t.Fatalf("variant %+v of %s", v, pc.SourceID)
			}
		}
	}
}
