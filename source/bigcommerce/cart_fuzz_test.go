package bigcommerce

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"synclayer"
	"synclayer/normalize"
	"synclayer/source/sourcetest"
)

// FuzzRecords: any record, read as a cart (Get a Cart's data) and as a
// newsletter subscriber, is a complete event or an EINVALID error naming
// the field; never a panic, never a negative total or price, never a
// consent other than an opt-in.
func FuzzRecords(f *testing.F) {
	for _, n := range []string{"cart-get", "subscriber-get"} {
		b, err := os.ReadFile("testdata/" + n + "/body.json")
		if err != nil {
			f.Fatal(err)
		}
		var get struct {
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(b, &get)
		f.Add([]byte(get.Data))
	}
	src, err := open(nil, synclayer.SourceSettings{Name: "bigcommerce", Section: json.RawMessage(`{"store_hash":"abc123","access_token":"t"}`)})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Unix(1764547200, 0).UTC()
	f.Fuzz(func(t *testing.T, body []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil || m == nil {
			return
		}
		for _, abandoned := range []bool{false, true} {
			ev, err := s.cartEvent(m, abandoned, now)
			if err != nil {
				sourcetest.CheckFuzzResult(t, nil, err)
				continue
			}
			sourcetest.CheckFuzzResult(t, []*synclayer.Event{ev}, nil)
			c := ev.Cart.Cart
			if c.Total.Sign() < 0 || c.UpdatedAt.IsZero() || ev.Cart.Abandoned != abandoned {
				t.Fatalf("cart %+v", c)
			}
			for _, it := range c.Items {
				if it.Price.Sign() < 0 || it.Quantity < 0 || it.ProductID == "" {
					t.Fatalf("item %+v", it)
				}
			}
		}
		ev, err := s.subscriberEvent(m, now)
		if err != nil {
			sourcetest.CheckFuzzResult(t, nil, err)
			return
		}
		sourcetest.CheckFuzzResult(t, []*synclayer.Event{ev}, nil)
		// A subscriber is an opt-in unless its consents name no marketing one.
		if c := ev.Customer.EmailConsent; ev.Customer.Email() == "" || c == nil && normalize.IsNull(m["consents"]) ||
			c != nil && (c.State != synclayer.ConsentSubscribed || c.At.IsZero()) {
			t.Fatalf("subscriber %+v", ev.Customer)
		}
	})
}
