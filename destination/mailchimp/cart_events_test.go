package mailchimp_test

import (
	"context"
	"strings"
	"testing"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

func testCart(id string, items ...synclayer.OrderItem) *synclayer.Cart {
	total := synclayer.MustMoney("0.00")
	for _, it := range items {
		for range it.Quantity {
			total = total.Add(it.Price)
		}
	}
	return &synclayer.Cart{ID: id, Source: "shop", ContactID: "c1", Items: items, Total: total, Currency: "EUR",
		RecoveryURL: "https://shop.example/cart/" + id + "/recover", UpdatedAt: t0, ChangedAt: t0}
}

func TestCartSync_Abandoned(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s, err := mailchimp.NewCartSync(e.client, skillConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	c := contact("cy@example.com", synclayer.ConsentUnknown, nil)
	k := testCart("shop:tok1", item("shop:p1", "shop:v1", "12.00", 1), item("shop:p2", "", "3.25", 2))

	summary, sent, err := s.Abandoned(ctx, k, c, "shop:tok1@1", t0)
	if err != nil {
		t.Fatal(err)
	}
	carts := e.sim.Carts(storeID)
	if len(carts) != 1 {
		t.Fatalf("carts = %+v", carts)
	}
	got := carts[0]
	if got.CheckoutURL != k.RecoveryURL || got.OrderTotal != "18.50" || got.CurrencyCode != "EUR" || len(got.Lines) != 2 || got.CustomerID != "c1" {
		t.Fatalf("cart = %+v", got)
	}
	if body, ok := sent.(mailchimp.Cart); !ok || body.Customer == nil || body.Customer.OptInStatus == nil || *body.Customer.OptInStatus {
		t.Fatalf("sent = %#v", sent)
	}
	if !strings.Contains(summary, "POST") || len(e.sim.Products(storeID)) != 2 {
		t.Fatalf("summary %q, products %+v", summary, e.sim.Products(storeID))
	}
	if m := member(t, e, "cy@example.com"); m.Status != "transactional" {
		t.Fatalf("member = %s", m.Status)
	}

	t.Run("AbandonedAgainUpdates", func(t *testing.T) {
		k.Items = k.Items[:1]
		k.Total = synclayer.MustMoney("12.00")
		if _, _, err := s.Abandoned(ctx, k, c, "shop:tok1@2", t0); err != nil {
			t.Fatal(err)
		}
		got := e.sim.Carts(storeID)[0]
		if len(got.Lines) != 1 || got.OrderTotal != "12.00" {
			t.Fatalf("cart = %+v", got)
		}
		if body := lastBody(t, e, "PATCH", "/carts/"); body["customer"] != nil {
			t.Fatalf("PATCH sent a customer: %v", body)
		}
	})
	t.Run("NoEmailNoCall", func(t *testing.T) {
		calls := len(e.sim.Calls())
		summary, sent, err := s.Abandoned(ctx, k, &synclayer.Contact{ID: "c2"}, "k", t0)
		if err != nil || sent != nil || !strings.Contains(summary, "no call") || len(e.sim.Calls()) != calls {
			t.Fatalf("summary %q, %v", summary, err)
		}
	})
	t.Run("OutageIsRetryable", func(t *testing.T) {
		e.sim.SetOutage(mailchimpsim.Outage500)
		defer e.sim.SetOutage(mailchimpsim.OutageNone)
		if _, _, err := s.Abandoned(ctx, testCart("shop:tok2", item("shop:p1", "shop:v1", "1", 1)), c, "k", t0); err == nil || isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
	noOptInTrue(t, e)
}
