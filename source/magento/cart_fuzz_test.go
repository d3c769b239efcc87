package magento

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/sourcetest"
)

// FuzzCart: any quote read from a listed page is a complete cart event,
// no event (nobody to remind), or an EINVALID error naming the field;
// never a panic, a negative total, price or quantity, an active cart
// without an email, or a completed cart with a cart to judge.
func FuzzCart(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "carts", "*", "quote.json"))
	if len(seeds) == 0 {
		f.Fatal("no seeds under testdata/carts")
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id": 1, "updated_at": "2026-11-20 10:00:00", "customer": {"email": "a@example.com"}, "items": [{"sku": "A", "qty": "1.5000", "price": "1e3"}]}`))
	f.Add([]byte(`{"id": "9", "updated_at": "2026-11-20T10:00:00Z", "is_active": "0", "billing_address": {"email": "b@example.com"}}`))
	s := &Source{name: "magento"}
	now := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil || m == nil {
			return
		}
		ev, err := s.cartEvent(record{m: m}, synclayer.ListCarts, body, now)
		if err != nil {
			sourcetest.CheckFuzzResult(t, nil, err)
			return
		}
		if ev == nil {
			return
		}
		sourcetest.CheckFuzzResult(t, []*synclayer.Event{ev}, nil)
		cc := ev.Cart
		if cc.Completed != (ev.Type == synclayer.EventCheckoutCompleted) || cc.Completed && (cc.Cart != nil || cc.CompletedAt.IsZero()) {
			t.Fatalf("completion %+v", cc)
		}
		if c := cc.Cart; c != nil {
			if c.Total.Sign() < 0 || c.UpdatedAt.IsZero() || cc.Customer == nil || cc.Customer.Email() == "" {
				t.Fatalf("cart %+v customer %+v", c, cc.Customer)
			}
			for _, it := range c.Items {
				if it.Price.Sign() < 0 || it.Quantity < 0 || it.ProductID == "" {
					t.Fatalf("item %+v", it)
				}
			}
		}
	})
}
