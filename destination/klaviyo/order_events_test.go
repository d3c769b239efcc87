package klaviyo_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

// commerce is a Klaviyo destination on a spec-validating simulator.
func commerce(t *testing.T, so klaviyosim.Options) (*env, *klaviyo.Destination) {
	t.Helper()
	e := mustEnv(t, so, klaviyo.Config{})
	d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"`+testKey+`","base_url":"`+e.url+`"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return e, d.(*klaviyo.Destination)
}

// orderRunner runs order deliveries as the shared runner does.
type orderRunner struct {
	os    synclayer.OrderSync
	state json.RawMessage
}

func newOrderRunner(t *testing.T) (*env, *orderRunner) {
	t.Helper()
	e, d := commerce(t, klaviyosim.Options{})
	os, err := d.OrderSync(synclayer.SkillConfig{Options: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatalf("OrderSync: %v", err)
	}
	return e, &orderRunner{os: os}
}

func (r *orderRunner) deliver(t *testing.T, o *synclayer.Order, c *synclayer.Contact) (*synclayer.Plan, error) {
	t.Helper()
	plan, err := r.os.Plan(o, c, r.state)
	if err != nil {
		return nil, err
	}
	if _, err := r.os.Apply(context.Background(), o, c, plan); err != nil {
		return plan, err
	}
	r.state = plan.Next
	return plan, nil
}

func (r *orderRunner) mustDeliver(t *testing.T, o *synclayer.Order, c *synclayer.Contact) *synclayer.Plan {
	t.Helper()
	plan, err := r.deliver(t, o, c)
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return plan
}

func buyer() *synclayer.Contact {
	return &synclayer.Contact{ID: "01CONTACT1", Email: "ann@example.com"}
}

func order() *synclayer.Order {
	return &synclayer.Order{ID: "shopify:1001", Source: "shopify", SourceID: "1001", ContactID: "01CONTACT1", Number: "#1001",
		Status: synclayer.OrderPaid, Currency: "EUR", Total: synclayer.MustMoney("409.94"), CreatedAt: t0, UpdatedAt: t0,
		Items: []synclayer.OrderItem{
			{ProductID: "shopify:p1", VariantID: "shopify:v1", SKU: "TEE-M", Name: "Tee", Price: synclayer.MustMoney("19.99"), Quantity: 3},
			{ProductID: "shopify:p2", Name: "Mug", Price: synclayer.MustMoney("349.97"), Quantity: 1},
		}}
}

func TestOrderSync_Placed(t *testing.T) {
	e, r := newOrderRunner(t)
	if plan := r.mustDeliver(t, order(), buyer()); plan.Op != synclayer.PlanCreate || len(plan.Calls) != 3 {
		t.Fatalf("plan %s with %d calls, want create with 3", plan.Op, len(plan.Calls))
	}
	placed := e.sim.EventsNamed(klaviyo.MetricPlacedOrder)
	if len(placed) != 1 {
		t.Fatalf("%d Placed Order events, want 1", len(placed))
	}
	p := placed[0]
	if p.Value != "409.94" || p.ValueCurrency != "EUR" || p.UniqueID != "shopify:1001" || !p.Time.Equal(t0) {
		t.Errorf("Placed Order value %s %s, unique_id %q, time %v", p.Value, p.ValueCurrency, p.UniqueID, p.Time)
	}
	if got := p.PropertyJSON("ItemNames"); got != `["Tee","Mug"]` {
		t.Errorf("ItemNames %s", got)
	}
	if got := p.PropertyJSON("Items"); !strings.Contains(got, `"RowTotal":59.97`) || !strings.Contains(got, `"ItemPrice":19.99`) {
		t.Errorf("Items %s, want exact ItemPrice and RowTotal", got)
	}
	products := e.sim.EventsNamed(klaviyo.MetricOrderedProduct)
	if len(products) != 2 || products[0].Value != "59.97" || products[1].Value != "349.97" {
		t.Fatalf("Ordered Product events %+v, want 2 valued 59.97 and 349.97", products)
	}
	if products[0].UniqueID == products[1].UniqueID {
		t.Errorf("both lines share unique_id %q", products[0].UniqueID)
	}
	prof, ok := e.sim.Profile("ann@example.com")
	if !ok || prof.ExternalID != "01CONTACT1" || prof.EmailConsent != "NEVER_SUBSCRIBED" || e.sim.CallCount("", "/api/profile-subscription") != 0 {
		t.Errorf("profile %+v (found %v): want it made by the event, with external_id and no consent", prof, ok)
	}

	t.Run("RedeliveryAndReplaySendNothing", func(t *testing.T) {
		before := len(e.sim.Calls())
		o := order()
		o.UpdatedAt, o.Version = t0.Add(time.Minute), 7
		plan := r.mustDeliver(t, o, buyer())
		if plan.Op != synclayer.PlanNone || plan.Reason == "" || len(e.sim.Calls()) != before {
			t.Fatalf("plan %s (%q), %d new calls; want none with a reason and no call", plan.Op, plan.Reason, len(e.sim.Calls())-before)
		}
	})
	t.Run("Refund", func(t *testing.T) {
		o := order()
		o.Refunds = []synclayer.Refund{{ID: "r1", OrderID: o.ID, Amount: synclayer.MustMoney("19.99"), CreatedAt: t0.Add(2 * time.Minute)}}
		if plan := r.mustDeliver(t, o, buyer()); len(plan.Calls) != 1 {
			t.Fatalf("%d calls, want one Refunded Order", len(plan.Calls))
		}
		r.mustDeliver(t, o, buyer())
		refunds := e.sim.EventsNamed(klaviyo.MetricRefundedOrder)
		if len(refunds) != 1 || refunds[0].Value != "19.99" || refunds[0].UniqueID != "shopify:1001:refund:r1" {
			t.Fatalf("Refunded Order events %+v, want one of 19.99", refunds)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		o := order()
		o.Status, o.UpdatedAt = synclayer.OrderCancelled, t0.Add(3*time.Minute)
		r.mustDeliver(t, o, buyer())
		o.Deleted = true
		r.mustDeliver(t, o, buyer())
		if n := len(e.sim.EventsNamed(klaviyo.MetricCancelledOrder)); n != 1 {
			t.Fatalf("%d Cancelled Order events, want 1", n)
		}
		if n := len(e.sim.EventsNamed(klaviyo.MetricPlacedOrder)); n != 1 {
			t.Errorf("%d Placed Order events after the cancel, want still 1", n)
		}
	})
}

func TestOrderSync_NotAttributable(t *testing.T) {
	e, r := newOrderRunner(t)
	for name, c := range map[string]*synclayer.Contact{"NoContact": nil, "NoEmail": {ID: "01CONTACT1"}} {
		plan := r.mustDeliver(t, order(), c)
		if plan.Op != synclayer.PlanNone || !strings.Contains(plan.Reason, "email") {
			t.Errorf("%s: plan %s (%q), want none naming the missing email", name, plan.Op, plan.Reason)
		}
	}
	if n := len(e.sim.Calls()); n != 0 {
		t.Fatalf("%d calls, want none", n)
	}
	cancelled := order()
	cancelled.Status = synclayer.OrderCancelled
	if plan := r.mustDeliver(t, cancelled, buyer()); plan.Op != synclayer.PlanNone || len(e.sim.Calls()) != 0 {
		t.Fatalf("an order cancelled before it was sent: plan %s, %d calls", plan.Op, len(e.sim.Calls()))
	}
}

func TestOrderSync_Failures(t *testing.T) {
	t.Run("OutageThenRetryCountsOnce", func(t *testing.T) {
		e, r := newOrderRunner(t)
		e.sim.SetOutage(klaviyosim.Outage500)
		if _, err := r.deliver(t, order(), buyer()); kind(err) != "retryable" {
			t.Fatalf("err %v, want retryable", err)
		}
		e.sim.SetOutage(klaviyosim.OutageNone)
		r.mustDeliver(t, order(), buyer())
		// A lost answer: the same plan applied again.
		plan, _ := r.os.Plan(order(), buyer(), nil)
		if _, err := r.os.Apply(context.Background(), order(), buyer(), plan); err != nil {
			t.Fatal(err)
		}
		if n := len(e.sim.EventsNamed(klaviyo.MetricPlacedOrder)); n != 1 {
			t.Fatalf("%d Placed Order events after a resend, want 1 (deduplicated by unique_id)", n)
		}
	})
	t.Run("TooManyRequestsIsPaced", func(t *testing.T) {
		e, r := newOrderRunner(t)
		e.sim.SetLimit("events", klaviyosim.Limit{Burst: 1, Steady: 100})
		if _, err := r.deliver(t, order(), buyer()); err != nil {
			t.Fatalf("err %v, want the throttled events sent again after their short Retry-After", err)
		}
		throttled := 0
		for _, c := range e.sim.Calls() {
			if c.Status == 429 {
				throttled++
			}
		}
		if throttled == 0 || len(e.sim.Events()) != 3 {
			t.Fatalf("%d throttled, %d events; want some throttled and all 3 recorded", throttled, len(e.sim.Events()))
		}
	})
}

func TestDestination_SkillOptions(t *testing.T) {
	_, d := commerce(t, klaviyosim.Options{})
	for _, opts := range []string{``, `null`, `{}`} {
		if _, err := d.OrderSync(synclayer.SkillConfig{Options: json.RawMessage(opts)}); err != nil {
			t.Errorf("OrderSync(%q): %v", opts, err)
		}
	}
	_, err1 := d.OrderSync(synclayer.SkillConfig{Options: json.RawMessage(`{"store_id":"x"}`)})
	_, err2 := d.ProductSync(synclayer.SkillConfig{Options: json.RawMessage(`{"catalog":"x"}`)})
	_, err3 := d.CartSync(synclayer.SkillConfig{Options: json.RawMessage(`{"metric":"x"}`)})
	for i, c := range []struct {
		err  error
		want string
	}{{err1, "options.store_id"}, {err2, "options.catalog"}, {err3, "options.metric"}} {
		if f := fields(c.err); len(f) != 1 || f[0] != c.want {
			t.Errorf("%d: err %v (fields %v), want one on %s", i, c.err, f, c.want)
		}
	}
}
