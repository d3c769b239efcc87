package mailchimp_test

import (
	"context"
	"encoding/json"
	"net/http"
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

func newCartSync(t *testing.T, e *env) *mailchimp.CartSync {
	t.Helper()
	s, err := mailchimp.NewCartSync(e.client, skillConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// mirror calls CartChanged and fails t on an error.
func mirror(t *testing.T, s *mailchimp.CartSync, k *synclayer.Cart, c *synclayer.Contact, held json.RawMessage) (string, json.RawMessage, any) {
	t.Helper()
	summary, next, sent, err := s.CartChanged(context.Background(), k, c, held)
	if err != nil {
		t.Fatal(err)
	}
	return summary, next, sent
}

func onlyCart(t *testing.T, e *env) mailchimpsim.Cart {
	t.Helper()
	carts := e.sim.Carts(storeID)
	if len(carts) != 1 {
		t.Fatalf("Mailchimp holds %d carts, want 1: %+v", len(carts), carts)
	}
	return carts[0]
}

// TestCartSync_Mirror follows one cart through its life in Mailchimp: it
// is created on its first save, updated on the next (one cart, the
// latest lines), left alone when it arrives unchanged, and deleted once
// it converts.
func TestCartSync_Mirror(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newCartSync(t, e)
	c := contact("cy@example.com", synclayer.ConsentUnknown, nil)
	k := testCart("shop:tok1", item("shop:p1", "shop:v1", "12.00", 1), item("shop:p2", "", "3.25", 2))

	summary, held, sent := mirror(t, s, k, c, nil)
	got := onlyCart(t, e)
	if got.CheckoutURL != k.RecoveryURL || got.OrderTotal != "18.50" || got.CurrencyCode != "EUR" || len(got.Lines) != 2 || got.CustomerID != "c1" {
		t.Fatalf("created cart = %+v", got)
	}
	if body, ok := sent.(mailchimp.Cart); !ok || body.Customer == nil || body.Customer.OptInStatus == nil || *body.Customer.OptInStatus {
		t.Fatalf("sent = %#v, want the cart with opt_in_status false", sent)
	}
	if !strings.Contains(summary, "POST") || len(e.sim.Products(storeID)) != 2 || held == nil {
		t.Fatalf("summary %q, products %+v, held %s", summary, e.sim.Products(storeID), held)
	}
	// A buyer without consent is held transactional: Mailchimp's own
	// status rules decide what its automation may send them.
	if m := member(t, e, "cy@example.com"); m.Status != "transactional" {
		t.Fatalf("member = %s", m.Status)
	}

	t.Run("SavedAgainUpdates", func(t *testing.T) {
		k.Items = k.Items[:1]
		k.Total = synclayer.MustMoney("12.00")
		calls := len(e.sim.Calls())
		summary, next, _ := mirror(t, s, k, c, held)
		got := onlyCart(t, e)
		if len(got.Lines) != 1 || got.Lines[0].ProductID != "shop:p1" || got.OrderTotal != "12.00" {
			t.Fatalf("cart = %+v", got)
		}
		if body := lastBody(t, e, "PATCH", "/carts/"); body["customer"] != nil {
			t.Fatalf("PATCH sent a customer: %v", body)
		}
		if n := len(e.sim.CallsTo(http.MethodGet, "/ecommerce/stores/"+storeID+"/products")); n > 2 {
			t.Errorf("the products made sure of before were read again: %d reads", n)
		}
		if !strings.Contains(summary, "PATCH") || !strings.Contains(summary, "line 2 removed") {
			t.Errorf("summary %q", summary)
		}
		if len(e.sim.Calls())-calls != 2 { // the PATCH and the line's DELETE
			t.Errorf("%d calls for an update, want 2: %+v", len(e.sim.Calls())-calls, e.sim.Calls()[calls:])
		}
		held = next
	})
	t.Run("UnchangedSendsNothing", func(t *testing.T) {
		calls := len(e.sim.Calls())
		summary, next, sent := mirror(t, s, k, c, held)
		if len(e.sim.Calls()) != calls || sent != nil || string(next) != string(held) || !strings.Contains(summary, "no call") {
			t.Fatalf("summary %q, sent %v, calls %+v", summary, sent, e.sim.Calls()[calls:])
		}
	})
	t.Run("NoEmailNoCall", func(t *testing.T) {
		other := testCart("shop:tok9", item("shop:p1", "shop:v1", "1.00", 1))
		calls := len(e.sim.Calls())
		summary, next, sent := mirror(t, s, other, &synclayer.Contact{ID: "c2"}, nil)
		if sent != nil || next != nil || !strings.Contains(summary, "no call") || len(e.sim.Calls()) != calls {
			t.Fatalf("summary %q, next %s", summary, next)
		}
	})
	t.Run("ConvertedIsDeleted", func(t *testing.T) {
		summary, err := s.CartClosed(ctx, k, "the cart was converted by shop:1001", held)
		if err != nil || !strings.Contains(summary, "DELETE") || !strings.Contains(summary, "204") {
			t.Fatalf("summary %q, %v", summary, err)
		}
		if carts := e.sim.Carts(storeID); len(carts) != 0 {
			t.Fatalf("Mailchimp still holds %+v", carts)
		}
		// Gone already (a retry after a lost answer, or deleted inside
		// Mailchimp): done.
		summary, err = s.CartClosed(ctx, k, "again", held)
		if err != nil || !strings.Contains(summary, "404") {
			t.Fatalf("second delete: %q, %v", summary, err)
		}
	})
	noOptInTrue(t, e)
}

// TestCartSync_Mended: what Mailchimp says about its own copy overrides
// the state synclayer kept.
func TestCartSync_Mended(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newCartSync(t, e)
	c := contact("cy@example.com", synclayer.ConsentUnknown, nil)
	k := testCart("shop:tok1", item("shop:p1", "shop:v1", "12.00", 1), item("shop:p2", "", "3.25", 2))
	_, held, _ := mirror(t, s, k, c, nil)

	t.Run("StateLost", func(t *testing.T) { // a POST of a cart Mailchimp holds becomes an update
		k.Items = k.Items[:1]
		k.Total = synclayer.MustMoney("12.00")
		summary, _, _ := mirror(t, s, k, c, nil)
		if got := onlyCart(t, e); len(got.Lines) != 1 || got.OrderTotal != "12.00" || !strings.Contains(summary, "holds the cart already") {
			t.Fatalf("%q: %+v", summary, got)
		}
	})
	t.Run("DeletedInsideMailchimp", func(t *testing.T) {
		if _, err := s.CartClosed(ctx, k, "test", held); err != nil {
			t.Fatal(err)
		}
		k.Total = synclayer.MustMoney("24.00")
		k.Items[0].Quantity = 2
		summary, next, _ := mirror(t, s, k, c, held)
		if got := onlyCart(t, e); got.OrderTotal != "24.00" || !strings.Contains(summary, "created again") {
			t.Fatalf("%q: %+v", summary, got)
		}
		held = next
	})
	t.Run("ChangedHands", func(t *testing.T) {
		d := contact("dee@example.com", synclayer.ConsentUnknown, nil)
		d.ID = "c2"
		summary, _, _ := mirror(t, s, k, d, held)
		if got := onlyCart(t, e); got.CustomerID != "c2" || !strings.Contains(summary, "DELETE") {
			t.Fatalf("%q: %+v", summary, got)
		}
	})
	t.Run("OutageIsRetryable", func(t *testing.T) {
		e.sim.SetOutage(mailchimpsim.Outage500)
		defer e.sim.SetOutage(mailchimpsim.OutageNone)
		if _, _, _, err := s.CartChanged(ctx, testCart("shop:tok2", item("shop:p1", "shop:v1", "1", 1)), c, nil); err == nil || isPermanent(err) {
			t.Fatalf("CartChanged: %v", err)
		}
		if _, err := s.CartClosed(ctx, k, "test", held); err == nil || isPermanent(err) {
			t.Fatalf("CartClosed: %v", err)
		}
	})
	noOptInTrue(t, e)
}

// TestCartSync_NoAbandonmentPush: synclayer's judgement sends Mailchimp
// nothing, in a dry run or for real; the dry run of a change shows the
// cart's POST.
func TestCartSync_NoAbandonmentPush(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newCartSync(t, e)
	c := contact("cy@example.com", synclayer.ConsentUnknown, nil)
	k := testCart("shop:tok1", item("shop:p1", "shop:v1", "12.00", 1))
	calls := len(e.sim.Calls())
	summary, sent, err := s.Abandoned(context.Background(), k, c, "shop:tok1@1", t0)
	if err != nil || sent != nil || !strings.Contains(summary, "no call") || len(e.sim.Calls()) != calls {
		t.Fatalf("Abandoned: %q, %v, %v", summary, sent, err)
	}
	if planned, err := s.PlanAbandoned(k, c, "shop:tok1@1", t0); err != nil || len(planned) != 0 {
		t.Fatalf("PlanAbandoned: %+v, %v", planned, err)
	}
	planned, err := s.PlanStarted(k, c, "started:shop:tok1")
	if err != nil || len(planned) != 2 || planned[0].Method != "PUT" || planned[1].Method != "POST" || planned[1].Path != "/ecommerce/stores/"+storeID+"/carts" {
		t.Fatalf("PlanStarted: %+v, %v", planned, err)
	}
	if body := planned[1].Body.(mailchimp.Cart); body.Customer == nil || *body.Customer.OptInStatus || body.CheckoutURL != k.RecoveryURL {
		t.Fatalf("planned body %+v", body)
	}
	if len(e.sim.Calls()) != calls {
		t.Fatalf("a dry run called Mailchimp: %+v", e.sim.Calls()[calls:])
	}
}

// TestCartSync_PlanMatchesMirror: a dry run says what CartChanged and
// CartClosed then send to the cart (the variants are made sure of by
// calls that depend on what Mailchimp holds, which a dry run cannot read),
// through the cart's whole life: created, changed, unchanged, handed to
// another buyer, converted.
func TestCartSync_PlanMatchesMirror(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	s := newCartSync(t, e)
	c := contact("cy@example.com", synclayer.ConsentUnknown, nil)
	k := testCart("shop:tok1", item("shop:p1", "shop:v1", "12.00", 1), item("shop:p2", "", "3.25", 2))
	var held json.RawMessage
	sent := func(from int) []string {
		var out []string
		for _, call := range e.sim.Calls()[from:] {
			if call.Method != http.MethodGet && strings.Contains(call.Path, "/carts") {
				out = append(out, call.Method+" "+call.Path)
			}
		}
		return out
	}
	planned := func(calls []synclayer.PlannedCall) []string {
		var out []string
		for _, p := range calls {
			if strings.Contains(p.Path, "/carts") {
				out = append(out, p.Method+" "+p.Path)
			}
		}
		return out
	}
	step := func(name string, k *synclayer.Cart, c *synclayer.Contact) {
		t.Helper()
		plan, err := s.PlanChanged(k, c, held)
		if err != nil {
			t.Fatalf("%s: PlanChanged: %v", name, err)
		}
		from := len(e.sim.Calls())
		_, held, _ = mirror(t, s, k, c, held)
		if got, want := sent(from), planned(plan); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: planned\n  %s\nsent\n  %s", name, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
		}
	}
	step("created", k, c)
	k.Items, k.Total = k.Items[:1], synclayer.MustMoney("12.00")
	step("a line removed", k, c)
	step("unchanged", k, c)
	other := contact("dee@example.com", synclayer.ConsentUnknown, nil)
	other.ID = "c2"
	k.ContactID = "c2"
	step("handed to another buyer", k, other)

	plan := s.PlanClosed(k, held)
	from := len(e.sim.Calls())
	if _, err := s.CartClosed(ctx, k, "converted", held); err != nil {
		t.Fatal(err)
	}
	if got, want := sent(from), planned(plan); strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) != 1 {
		t.Errorf("closed: planned %v, sent %v", want, got)
	}
	if got := s.PlanClosed(k, nil); got != nil {
		t.Errorf("closing a cart Mailchimp does not hold plans %v, want nothing", planned(got))
	}
}
