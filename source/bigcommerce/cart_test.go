package bigcommerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/bigcommerce/bigcommercesim"
	"synclayer/source/sourcetest"
)

const cartID = "09346904-4175-44fd-be53-f7e598531b6c"

// TestParse_Carts: store/cart/created and updated are notifications of
// the cart (read back), store/cart/abandoned one read with the word that
// it is abandoned; store/cart/converted completes the cart with its
// order and store/cart/deleted ends it, both without a read (the cart is
// gone); store/cart/lineItem/* is acknowledged and gives nothing.
func TestParse_Carts(t *testing.T) {
	src := open(t, "https://api.bigcommerce.com", nil)
	parse := func(t *testing.T, name string, body []byte) []*synclayer.Event {
		t.Helper()
		if body == nil {
			body = fixture(t, name)
		}
		evs, err := src.Parse(bigcommercesim.Sign(clientSecret, "msg_"+name, now, body), body, now)
		if err != nil {
			t.Fatalf("Parse(%s): %v", name, err)
		}
		for _, ev := range evs {
			sourcetest.CheckCommerce(t, ev)
		}
		return evs
	}
	for _, scope := range []string{"store/cart/created", "store/cart/updated"} {
		evs := parse(t, scope, bigcommercesim.Callback("abc123", scope, "cart", cartID, now.Unix()))
		if len(evs) != 1 || evs[0].Fetch == nil || *evs[0].Fetch != (synclayer.FetchRef{Kind: "cart", ID: cartID}) {
			t.Fatalf("%s = %+v", scope, evs)
		}
	}
	evs := parse(t, "cart-abandoned", nil)
	if len(evs) != 1 || evs[0].Fetch == nil || *evs[0].Fetch != (synclayer.FetchRef{Kind: "cart-abandoned", ID: cartID}) {
		t.Fatalf("abandoned = %+v", evs)
	}
	evs = parse(t, "cart-converted", nil)
	if len(evs) != 1 || evs[0].Fetch != nil || evs[0].Type != synclayer.EventCheckoutCompleted || evs[0].Cart == nil {
		t.Fatalf("converted = %+v", evs)
	}
	if cc := evs[0].Cart; !cc.Completed || cc.OrderID != "252" || cc.SourceID != cartID || cc.Cart != nil || !cc.CompletedAt.Equal(time.Unix(1561482670, 0)) {
		t.Fatalf("converted cart change = %+v", cc)
	}
	evs = parse(t, "cart-deleted", nil)
	if len(evs) != 1 || evs[0].Fetch != nil || evs[0].Type != synclayer.EventCartUpdated || evs[0].Cart == nil || evs[0].Cart.Cart == nil {
		t.Fatalf("deleted = %+v", evs)
	}
	if c := evs[0].Cart.Cart; len(c.Items) != 0 || c.Total.Sign() != 0 || evs[0].Cart.Completed || !c.UpdatedAt.Equal(time.Unix(1561482670, 0)) {
		t.Fatalf("a deleted cart is not ended (emptied): %+v", c)
	}
	if evs := parse(t, "cart-lineitem-ignored", nil); len(evs) != 0 {
		t.Fatalf("lineItem = %+v", evs)
	}
	if evs := parse(t, "abandoned-line-item", bigcommercesim.Callback("abc123", "store/cart/abandoned", "cart_line_item", "li-1", now.Unix())); len(evs) != 0 {
		t.Fatalf("an abandoned callback of a line item = %+v", evs)
	}
	body := bigcommercesim.Callback("abc123", "store/cart/created", "order", cartID, now.Unix())
	if _, err := src.Parse(bigcommercesim.Sign(clientSecret, "m", now, body), body, now); code(err) != synclayer.EINVALID || !strings.Contains(err.Error(), "data.type") {
		t.Fatalf("a cart scope naming an order: %v", err)
	}
}

func cartSim(t *testing.T) (*bigcommercesim.Server, synclayer.Fetcher) {
	t.Helper()
	var get struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(fixture(t, "cart-get"), &get); err != nil {
		t.Fatal(err)
	}
	delete(get.Data, "redirect_urls") // the simulator adds them when asked
	sim := bigcommercesim.New("abc123", "bc-token")
	sim.AddCart(get.Data)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return sim, open(t, hs.URL, nil).(synclayer.Fetcher)
}

// TestFetch_Cart: a cart read back is the canonical cart: the buyer by
// email and customer id, the line items at their sale price, cart_amount
// and currency; its DedupeKey has its updated_time. Read for
// store/cart/abandoned it is another event, abandoned, with the recovery
// URL (redirect_urls.cart_url, asked for on that read only: each is
// single-use); a shopper's cart that refuses redirect URLs is read
// without.
func TestFetch_Cart(t *testing.T) {
	_, f := cartSim(t)
	ctx := context.Background()
	evs, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "cart", ID: cartID})
	if err != nil || len(evs) != 1 || evs[0].Cart == nil || evs[0].Cart.Cart == nil {
		t.Fatalf("Fetch cart = %+v, %v", evs, err)
	}
	sourcetest.CheckCommerce(t, evs[0])
	ev, cc := evs[0], evs[0].Cart
	c := cc.Cart
	if c.SourceID != cartID || c.Total.String() != "109.5" || c.Currency != "USD" || len(c.Items) != 1 || cc.Abandoned || cc.Completed ||
		c.RecoveryURL != "" || !c.UpdatedAt.Equal(time.Date(2026, 11, 20, 10, 4, 0, 0, time.UTC)) {
		t.Fatalf("cart = %+v", c)
	}
	if it := c.Items[0]; it.ProductID != "77" || it.VariantID != "78" || it.SKU != "MUG" || it.Name != "Mug" || it.Price.String() != "54.75" || it.Quantity != 2 {
		t.Fatalf("item = %+v", it)
	}
	if cc.Customer == nil || cc.Customer.SourceID != "32" || cc.Customer.Email() != "ann@example.com" {
		t.Fatalf("buyer = %+v", cc.Customer)
	}
	if ev.DedupeKey != "bigcommerce:cart:"+cartID+":2026-11-20T10:04:00Z" || ev.Type != synclayer.EventCartUpdated || !ev.OccurredAt.Equal(c.UpdatedAt) {
		t.Fatalf("event %s %s %v", ev.DedupeKey, ev.Type, ev.OccurredAt)
	}
	evs, err = f.Fetch(ctx, synclayer.FetchRef{Kind: "cart-abandoned", ID: cartID})
	if err != nil || len(evs) != 1 || !evs[0].Cart.Abandoned || evs[0].DedupeKey == ev.DedupeKey || evs[0].Type != synclayer.EventCartAbandoned ||
		!strings.Contains(evs[0].Cart.Cart.RecoveryURL, "cart.php?action=load&id="+cartID) {
		t.Fatalf("Fetch abandoned cart = %+v, %v", evs, err)
	}
}

// TestFetch_CartFromStorefront: a shopper's cart, which refuses redirect
// URLs, is still read for store/cart/abandoned, without one.
func TestFetch_CartFromStorefront(t *testing.T) {
	sim, f := cartSim(t)
	var get struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(fixture(t, "cart-get"), &get)
	delete(get.Data, "redirect_urls")
	get.Data["storefront"] = true
	sim.AddCart(get.Data)
	evs, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: "cart-abandoned", ID: cartID})
	if err != nil || len(evs) != 1 || !evs[0].Cart.Abandoned || evs[0].Cart.Cart.RecoveryURL != "" || len(evs[0].Cart.Cart.Items) != 1 {
		t.Fatalf("a storefront cart abandoned = %+v, %v", evs, err)
	}
}

// TestFetch_CartGone: a cart that answers 404 (converted, deleted or
// expired before it was read) is skipped with a note, not dead-lettered:
// not a PermanentError, and no event.
func TestFetch_CartGone(t *testing.T) {
	sim, f := cartSim(t)
	sim.DeleteCart(cartID)
	for _, kind := range []string{"cart", "cart-abandoned"} {
		evs, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: kind, ID: cartID})
		var skip *synclayer.FetchSkipped
		var perm *synclayer.PermanentError
		if len(evs) != 0 || !errors.As(err, &skip) || errors.As(err, &perm) || skip.SourceID != cartID || !strings.Contains(skip.Note, "404") {
			t.Fatalf("%s gone: %+v, %v", kind, evs, err)
		}
	}
	// A 500 is still retried, not skipped.
	sim.FailNext(1)
	var skip *synclayer.FetchSkipped
	if _, err := f.Fetch(context.Background(), synclayer.FetchRef{Kind: "cart", ID: cartID}); err == nil || errors.As(err, &skip) {
		t.Fatalf("a 500: %v", err)
	}
}
