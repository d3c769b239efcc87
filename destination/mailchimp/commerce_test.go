package mailchimp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

const storeID = "sl-store"

func skillConfig(extra map[string]any) synclayer.SkillConfig {
	opt := map[string]any{"store_id": storeID, "audience_id": audience}
	for k, v := range extra {
		opt[k] = v
	}
	return synclayer.SkillConfig{Options: raw(opt)}
}

func newOrderSync(tb testing.TB, e *env) *mailchimp.OrderSync {
	tb.Helper()
	s, err := mailchimp.NewOrderSync(e.client, skillConfig(nil))
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Prepare(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// noOptInTrue fails t if any request the simulator received carried
// opt_in_status true, anywhere in its body.
func noOptInTrue(t *testing.T, e *env) {
	t.Helper()
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "opt_in_status" && e == true || walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	sent := 0
	for _, c := range e.sim.Calls() {
		var body any
		if json.Unmarshal(c.Body, &body) != nil {
			continue
		}
		if walk(body) {
			t.Fatalf("%s %s sent opt_in_status true: %s", c.Method, c.Path, c.Body)
		}
		if strings.Contains(string(c.Body), `"opt_in_status":false`) {
			sent++
		}
	}
	if sent == 0 {
		t.Fatal("no request sent opt_in_status false: the check saw no customer")
	}
}

func TestCommerce_Config(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	for _, tc := range []struct{ name, options, field string }{
		{"NoStore", `{"audience_id":"a"}`, "options.store_id"},
		{"NoAudience", `{"store_id":"s"}`, "options.audience_id"},
		{"UnknownOption", `{"store_id":"s","audience_id":"a","list_id":"x"}`, "options.list_id"},
		{"BadCurrency", `{"store_id":"s","audience_id":"a","currency":"usd"}`, "options.currency"},
		{"WrongType", `{"store_id":5,"audience_id":"a"}`, "options.store_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mailchimp.NewOrderSync(e.client, synclayer.SkillConfig{Options: json.RawMessage(tc.options)})
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func TestCommerce_Prepare(t *testing.T) {
	ctx := context.Background()
	t.Run("StoreCreatedOnce", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		s, _ := mailchimp.NewOrderSync(e.client, skillConfig(map[string]any{"currency": "EUR"}))
		for range 3 {
			if err := s.Prepare(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(e.sim.CallsTo("POST", "/ecommerce/stores")); n != 1 {
			t.Fatalf("store POSTs = %d, want 1", n)
		}
		st, ok := e.sim.Store(storeID)
		if !ok || st.ListID != audience || st.Name != "synclayer store" || st.CurrencyCode != "EUR" {
			t.Fatalf("store = %+v, %v", st, ok)
		}
		// The other skills share the store.
		p, _ := mailchimp.NewProductSync(e.client, skillConfig(nil))
		if err := p.Prepare(ctx); err != nil || len(e.sim.CallsTo("POST", "/ecommerce/stores")) != 1 {
			t.Fatalf("product Prepare: %v", err)
		}
	})
	t.Run("MissingAudienceIsInvalid", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		s, _ := mailchimp.NewCartSync(e.client, synclayer.SkillConfig{Options: raw(map[string]any{"store_id": storeID, "audience_id": "nope"})})
		err := s.Prepare(ctx)
		var fe *synclayer.Error
		if synclayer.ErrorCode(err) != synclayer.EINVALID || !errorsAs(err, &fe) || fe.Field != "options.audience_id" {
			t.Fatalf("err = %v", err)
		}
		if _, ok := e.sim.Store(storeID); ok {
			t.Fatal("a store was created for a missing audience")
		}
	})
	t.Run("StoreOfAnotherAudienceIsInvalid", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		e.sim.AddAudience("other")
		newOrderSync(t, e)
		s, _ := mailchimp.NewOrderSync(e.client, synclayer.SkillConfig{Options: raw(map[string]any{"store_id": storeID, "audience_id": "other"})})
		if err := s.Prepare(ctx); synclayer.ErrorCode(err) != synclayer.EINVALID || !strings.Contains(err.Error(), "options.audience_id") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OutageIsRetryable", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		s, _ := mailchimp.NewOrderSync(e.client, skillConfig(nil))
		e.sim.SetOutage(mailchimpsim.Outage500)
		err := s.Prepare(ctx)
		if err == nil || isPermanent(err) || synclayer.ErrorCode(err) == synclayer.EINVALID {
			t.Fatalf("err = %v, want retryable", err)
		}
	})
}

// TestCommerce_Consent is the danger: an e-commerce customer with
// opt_in_status true subscribes its address to the audience.
func TestCommerce_Consent(t *testing.T) {
	ctx := context.Background()
	t.Run("SimulatorSubscribesOnOptInTrue", func(t *testing.T) {
		// The guard below can fail: the simulator does subscribe.
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		newOrderSync(t, e)
		e.sim.SignUp(audience, "tx@example.com", "transactional")
		yes := true
		err := e.client.CreateOrder(ctx, storeID, mailchimp.Order{ID: "o", Customer: &mailchimp.Customer{ID: "c", EmailAddress: "tx@example.com", OptInStatus: &yes},
			CurrencyCode: "USD", OrderTotal: synclayer.MustMoney("1"), Lines: []mailchimp.Line{}})
		if err != nil {
			t.Fatal(err)
		}
		if m := member(t, e, "tx@example.com"); m.Status != "subscribed" {
			t.Fatalf("status = %s: the simulator does not model opt_in_status", m.Status)
		}
	})
	t.Run("NeverOptInTrueAndStatusesKept", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		os := newOrderSync(t, e)
		cs, _ := mailchimp.NewCartSync(e.client, skillConfig(nil))
		e.sim.SignUp(audience, "gone@example.com", "subscribed")
		e.sim.UnsubscribeInMailchimp(audience, "gone@example.com")
		e.sim.SignUp(audience, "tx@example.com", "transactional")
		for i, email := range []string{"gone@example.com", "tx@example.com", "new@example.com"} {
			c := contact(email, synclayer.ConsentSubscribed, nil) // even a consenting contact
			c.ID = "c" + email
			o := testOrder("o"+email, synclayer.OrderPaid, item("p1", "", "10.00", 1))
			next := deliverOrder(t, os, o, c, nil)
			o.Status = synclayer.OrderRefunded
			o.Refunds = []synclayer.Refund{{ID: "r", Amount: synclayer.MustMoney("10.00"), CreatedAt: t0.Add(time.Hour)}}
			deliverOrder(t, os, o, c, next)
			k := testCart("k"+email, item("p2", "v2", "5.50", int64(i+1)))
			if _, _, err := cs.Abandoned(ctx, k, c, "key", t0); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]string{"gone@example.com": "unsubscribed", "tx@example.com": "transactional", "new@example.com": "transactional"}
		for email, status := range want {
			if m := member(t, e, email); m.Status != status {
				t.Errorf("%s: status = %s, want %s", email, m.Status, status)
			}
		}
		noOptInTrue(t, e)
		if n := len(e.sim.CallsTo("", "/lists/"+audience+"/members")); n != 0 {
			t.Fatalf("the e-commerce skills made %d member calls", n)
		}
	})
}

func TestCommerce_TooManyRequestsRetried(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	newOrderSync(t, e)
	var refused atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/orders") && refused.Add(1) <= 2 {
			w.Header().Set("content-type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"type":"x","title":"Too Many Requests","status":429,"detail":"slow down","instance":"i"}`))
			return
		}
		e.sim.ServeHTTP(w, r)
	}))
	defer front.Close()
	c, _ := mailchimp.New(mailchimp.Config{APIKey: e.key, BaseURL: front.URL + "/3.0", Backoff: time.Millisecond})
	os, _ := mailchimp.NewOrderSync(c, skillConfig(nil))
	deliverOrder(t, os, testOrder("o1", synclayer.OrderPaid, item("p1", "", "3", 1)), contact("a@example.com", synclayer.ConsentUnknown, nil), nil)
	if n := len(e.sim.Orders(storeID)); n != 1 || refused.Load() != 3 {
		t.Fatalf("orders = %d after %d POSTs, want 1 after 2 refused", n, refused.Load())
	}
}
