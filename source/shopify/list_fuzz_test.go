package shopify

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"synclayer"
)

// FuzzListedNode feeds the three node conversions what an Admin API
// answer (or a bulk operation's line) could hold: each returns an event
// with an id and a time, or an EINVALID error naming the record; none
// panics.
func FuzzListedNode(f *testing.F) {
	for _, seed := range []string{
		`{"id":"gid://shopify/Customer/1","legacyResourceId":"1","email":"a@example.com","updatedAt":"2024-01-01T00:00:00Z","tags":["a"],"numberOfOrders":"3","amountSpent":{"amount":"1.5"},"emailMarketingConsent":{"marketingState":"SUBSCRIBED"},"defaultAddress":{"company":"C"}}`,
		`{"legacyResourceId":"2","name":"#1","currencyCode":"EUR","totalPriceSet":{"shopMoney":{"amount":"3.00"}},"updatedAt":"2024-01-01T00:00:00Z","lineItems":{"edges":[{"node":{"id":"gid://shopify/LineItem/5","quantity":1,"originalUnitPriceSet":{"shopMoney":{"amount":"3.00"}}}}],"pageInfo":{"hasNextPage":false}},"refunds":[{"legacyResourceId":"9","transactions":{"edges":[{"node":{"kind":"REFUND","status":"SUCCESS","amountSet":{"shopMoney":{"amount":"1"}}}}]}}]}`,
		`{"legacyResourceId":"3","title":"T","handle":"t","updatedAt":"2024-01-01T00:00:00Z","featuredImage":{"url":"https://x/y.png"},"variants":{"edges":[{"node":{"legacyResourceId":"4","price":"1.00","image":{"id":"gid://shopify/ProductImage/8","url":"u"}}}]}}`,
		`{"amountSpent":"1","defaultAddress":[],"emailMarketingConsent":{"marketingState":7}}`,
		`{"totalPriceSet":{"shopMoney":[]},"lineItems":"x","refunds":{}}`,
		`{"variants":{"edges":[{"node":null}]},"featuredImage":"x"}`,
		`[]`, `null`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	s := &Source{admin: &Admin{shop: "demo.myshopify.com"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		for _, l := range []*listing{&customerListing, &orderListing, &productListing} {
			ev, err := l.convert(s, raw, time.Unix(0, 0))
			if err != nil {
				var se *synclayer.Error
				if !errors.As(err, &se) || se.Code != synclayer.EINVALID {
					t.Fatalf("%s: error %v is not EINVALID", l.kind, err)
				}
				continue
			}
			if ev.DedupeKey == "" || ev.OccurredAt.IsZero() {
				t.Fatalf("%s: event without a key or a time: %+v", l.kind, ev)
			}
		}
	})
}
