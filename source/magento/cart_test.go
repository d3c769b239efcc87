package magento_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/magento/magentosim"
	"synclayer/source/sourcetest"
)

// TestCarts_Fixtures lists each quote under testdata/carts (quote.json, a
// CartInterface as GET /V1/carts/search returns it) from magentosim and
// compares the events with want.json: an active cart with an email is a
// cart_updated with its items, the sum of price × qty as the total (a
// quote carries no totals) and the quote currency; a guest's cart before
// the shopper gave an email is no event; an inactive quote is a
// completion alone, never a cart to call abandoned.
func TestCarts_Fixtures(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "carts", "*"))
	if len(dirs) < 3 {
		t.Fatalf("cart fixtures %v", dirs)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var quote map[string]any
			if err := json.Unmarshal(sourcetest.MustRead(t, filepath.Join(dir, "quote.json")), &quote); err != nil {
				t.Fatal(err)
			}
			sim, src := startSim(t)
			sim.Put(magentosim.Carts, quote)
			page, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCarts})
			if err != nil || len(page.Failed) > 0 || page.More || page.Next == "" {
				t.Fatalf("page %+v, err %v", page, err)
			}
			for _, e := range page.Events {
				sourcetest.CheckCommerce(t, e)
			}
			sourcetest.CheckGolden(t, filepath.Join(dir, "want.json"), page.Events, nil, *update)
		})
	}
	t.Run("meaning", func(t *testing.T) {
		sim, src := startSim(t)
		for _, n := range []string{"cart-active", "cart-guest-no-email", "cart-converted"} {
			var quote map[string]any
			_ = json.Unmarshal(sourcetest.MustRead(t, filepath.Join("testdata", "carts", n, "quote.json")), &quote)
			sim.Put(magentosim.Carts, quote)
		}
		page, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCarts})
		if err != nil || len(page.Events) != 2 || len(page.Failed) != 0 {
			t.Fatalf("events %v failed %v err %v, want the active and the converted cart", page.Events, page.Failed, err)
		}
		byID := map[string]*synclayer.Event{}
		for _, e := range page.Events {
			byID[e.Cart.SourceID] = e
		}
		active, converted := byID["812"], byID["814"]
		if active == nil || converted == nil {
			t.Fatalf("events %v", page.Events)
		}
		c := active.Cart.Cart
		if active.Type != synclayer.EventCartUpdated || active.DedupeKey != "magento:cart:812:2026-11-20T10:42:00Z" || active.Cart.Completed ||
			c.Total.String() != "138.5" || c.Currency != "EUR" || len(c.Items) != 2 || c.RecoveryURL != "" ||
			active.Cart.Customer.Email() != "ann.lee@example.com" || active.Cart.Customer.SourceID != "41" {
			t.Errorf("active cart %+v %+v", active, c)
		}
		if it := c.Items[0]; it.SKU != "MH01-M-Black" || it.ProductID != "MH01-M-Black" || it.Quantity != 2 || it.Price.String() != "52" || it.Name != "Chaz Kangeroo Hoodie" {
			t.Errorf("item %+v", it)
		}
		cc := converted.Cart
		if converted.Type != synclayer.EventCheckoutCompleted || !cc.Completed || cc.Cart != nil || cc.OrderID != "" ||
			!cc.CompletedAt.Equal(time.Date(2026, 11, 20, 9, 31, 12, 0, time.UTC)) || cc.Customer.Email() != "bo.guest@example.com" || cc.Customer.SourceID != "" {
			t.Errorf("converted cart %+v", cc)
		}
	})
}

func quote(id int, email string, updated string, active bool) map[string]any {
	q := map[string]any{"id": id, "created_at": "2026-11-20 09:00:00", "updated_at": updated, "is_active": active, "customer_is_guest": email == "",
		"customer": map[string]any{"email": nil}, "currency": map[string]any{"quote_currency_code": "USD"},
		"items": []any{map[string]any{"item_id": id * 10, "sku": "S", "name": "Sock", "qty": 3, "price": "2.50", "product_type": "simple", "quote_id": fmt.Sprint(id)}}}
	if email != "" {
		q["customer"] = map[string]any{"id": id, "email": email}
	}
	return q
}

// TestList_Carts: carts are listed from /V1/carts/search with the
// customers' keyset cursor, two a page, carts sharing a second across a
// page boundary each read once; a guest's cart without an email is passed
// over (no event, not failed) and the cursor moves past it; the next poll
// reads a cart changed since, and a cart that became an order, as a
// completion.
func TestList_Carts(t *testing.T) {
	sim, src := startSim(t)
	for id := 1; id <= 5; id++ {
		sim.Put(magentosim.Carts, quote(id, fmt.Sprintf("q%d@example.com", id), "2026-11-20 10:00:00", true))
	}
	sim.Put(magentosim.Carts, quote(6, "", "2026-11-20 10:00:01", true)) // a guest, no email yet
	sim.Put(magentosim.Carts, quote(7, "q7@example.com", "2026-11-20 10:00:02", true))
	keys, cursor := listAll(t, src, synclayer.ListCarts, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), "", 2)
	want := "[magento:cart:1:2026-11-20T10:00:00Z magento:cart:2:2026-11-20T10:00:00Z magento:cart:3:2026-11-20T10:00:00Z " +
		"magento:cart:4:2026-11-20T10:00:00Z magento:cart:5:2026-11-20T10:00:00Z magento:cart:7:2026-11-20T10:00:02Z]"
	if fmt.Sprint(keys) != want {
		t.Errorf("read\n%v\nwant\n%v", keys, want)
	}
	for _, r := range sim.Requests() {
		q := r.URL.Query()
		if r.URL.Path != "/rest/default/V1/carts/search" || q.Get("searchCriteria[sortOrders][0][field]") == "" || q.Get("searchCriteria[currentPage]") != "1" {
			t.Errorf("request %s?%s", r.URL.Path, r.URL.RawQuery)
		}
	}

	sim.Touch(magentosim.Carts, 2, map[string]any{"updated_at": "2026-11-20 10:05:00", "is_active": false, "reserved_order_id": "000000009"})
	sim.Touch(magentosim.Carts, 6, map[string]any{"updated_at": "2026-11-20 10:06:00", "billing_address": map[string]any{"email": "guest6@example.com"}})
	page, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCarts, Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	read := unique(keys)
	var got []string
	for _, e := range page.Events {
		if read[e.DedupeKey] > 0 {
			continue // the last seconds read again (Settle): the same keys, duplicates
		}
		got = append(got, fmt.Sprintf("%s %s %v", e.DedupeKey, e.Type, e.Cart.Customer.Email()))
	}
	if fmt.Sprint(got) != "[magento:cart:2:2026-11-20T10:05:00Z checkout_completed q2@example.com magento:cart:6:2026-11-20T10:06:00Z cart_updated guest6@example.com]" {
		t.Errorf("next poll %v", got)
	}
}

// TestCarts_Kinds: a source with the REST API lists carts too.
func TestCarts_Kinds(t *testing.T) {
	_, src := startSim(t)
	if k := strings.Join(src.ListKinds(), ","); k != "customers,orders,products,carts" {
		t.Errorf("ListKinds %s", k)
	}
	if _, err := os.Stat(filepath.Join("testdata", "carts", "cart-active", "want.json")); err != nil {
		t.Error(err)
	}
}

// TestOrder_QuoteID: a listed order names the quote it was placed from
// (quote_id), so it converts that cart by its id; quote_id 0 or missing
// names none.
func TestOrder_QuoteID(t *testing.T) {
	sim, src := startSim(t)
	for id, q := range map[int]any{300: 812, 301: 0, 302: nil} {
		sim.Put(magentosim.Orders, map[string]any{"entity_id": id, "grand_total": "1", "order_currency_code": "EUR", "quote_id": q,
			"updated_at": fmt.Sprintf("2026-11-20 10:00:%02d", id-300)})
	}
	page, err := src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListOrders})
	if err != nil || len(page.Events) != 3 {
		t.Fatalf("%v %v", page.Events, err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Order.SourceID+"→"+e.Order.Order.CartID)
	}
	if fmt.Sprint(got) != "[300→812 301→ 302→]" {
		t.Errorf("orders' carts %v", got)
	}
}
