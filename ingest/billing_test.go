package ingest_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"synclayer"
	"synclayer/store/storetest"
)

func subEvent(status string, at time.Time, email string) *synclayer.Event {
	cust := &synclayer.CustomerChange{SourceID: "cus_1"}
	if email != "" {
		cust = byEmail(email)
		cust.SourceID = "cus_1"
	}
	return &synclayer.Event{Source: "stripe", DedupeKey: fmt.Sprint("s-", dedupe.Add(1)), Topic: "customer.subscription.updated",
		Type: synclayer.EventSubscriptionUpdated, OccurredAt: at, Billing: &synclayer.BillingChange{At: at, Customer: cust,
			Subscription: &synclayer.Subscription{SourceID: "sub_1", CustomerID: "cus_1", Status: status, Plan: "Pro", Currency: "USD",
				MRR: synclayer.MustMoney("29.00"), StartedAt: c0}}}
}

// TestSubscriptions: a subscription first reported before anyone has its
// customer is kept unlinked, and linked by the first report naming the
// customer's email; subscription_started fires once, a stale report
// fires nothing, and subscription_cancelled fires once when it ends;
// the contact's billing fields follow.
func TestSubscriptions(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := triggerIngester(s, rec)
	ann := mustIngest(t, in, event("c-1", "ann@example.com", "77", c0))
	rec.take()

	r := mustIngest(t, in, subEvent(synclayer.SubscriptionIncomplete, c0.Add(minute), ""))
	if r.ContactID != "" || r.Status != synclayer.EventApplied {
		t.Fatalf("unlinked subscription: %+v", r)
	}
	r = mustIngest(t, in, subEvent(synclayer.SubscriptionActive, c0.Add(2*minute), "ann@example.com"))
	got := rec.take()
	if r.ContactID != ann.ContactID || !slices.Equal(types(got), []string{"subscription_started stripe:sub_1:started"}) {
		t.Fatalf("activation: contact %s, fired %q", r.ContactID, types(got))
	}
	c, _ := s.FindContactByID(t.Context(), ann.ContactID)
	if string(c.Value(synclayer.FieldSubscriptionStatus)) != `"active"` || string(c.Value(synclayer.FieldMRR)) != "29.00" || c.SourceIDs["stripe"] != "cus_1" {
		t.Errorf("contact after activation: status %s, mrr %s, stripe id %q", c.Value(synclayer.FieldSubscriptionStatus), c.Value(synclayer.FieldMRR), c.SourceIDs["stripe"])
	}
	if r := mustIngest(t, in, subEvent(synclayer.SubscriptionCanceled, c0.Add(90*time.Second), "")); r.Status != synclayer.EventUnchanged || len(rec.take()) != 0 {
		t.Errorf("stale cancellation: %+v", r)
	}
	mustIngest(t, in, subEvent(synclayer.SubscriptionPastDue, c0.Add(3*minute), ""))
	if got := rec.take(); len(got) != 0 {
		t.Errorf("past_due fired %q, want nothing (still started)", types(got))
	}
	mustIngest(t, in, subEvent(synclayer.SubscriptionCanceled, c0.Add(4*minute), ""))
	mustIngest(t, in, subEvent(synclayer.SubscriptionCanceled, c0.Add(5*minute), ""))
	if got := types(rec.take()); !slices.Equal(got, []string{"subscription_cancelled stripe:sub_1:cancelled"}) {
		t.Errorf("cancellation reported twice fired %q, want one subscription_cancelled", got)
	}
	c, _ = s.FindContactByID(t.Context(), ann.ContactID)
	if string(c.Value(synclayer.FieldSubscriptionStatus)) != `"canceled"` || string(c.Value(synclayer.FieldMRR)) != "0" {
		t.Errorf("contact after cancellation: status %s, mrr %s; want canceled, 0", c.Value(synclayer.FieldSubscriptionStatus), c.Value(synclayer.FieldMRR))
	}
}

func paymentEvent(id, orderID, amount, refunded, status string, at time.Time) *synclayer.Event {
	p := &synclayer.Payment{SourceID: id, CustomerID: "cus_1", Status: status, Amount: synclayer.MustMoney(amount), Currency: "USD", OrderID: orderID, CreatedAt: at}
	if refunded != "" {
		p.Refunded = synclayer.MustMoney(refunded)
	}
	cust := byEmail("cy@example.com")
	cust.SourceID = "cus_1"
	return &synclayer.Event{Source: "stripe", DedupeKey: fmt.Sprint("p-", dedupe.Add(1)), Topic: "invoice.paid", Type: synclayer.EventPaymentUpdated,
		OccurredAt: at, Billing: &synclayer.BillingChange{At: at, Customer: cust, Payment: p}}
}

// TestPayments_TotalsCountOnce: a store's order and the Stripe payment
// that paid for it (metadata order_id) count once in the contact's
// totals; a payment for no order held (a subscription invoice) counts as
// a purchase of its own; its refund lowers what was spent.
func TestPayments_TotalsCountOnce(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	in := triggerIngester(s, &recorder{})
	ctx := t.Context()
	mustIngest(t, in, orderEvent("shopify", synclayer.EventOrderCreated, shopifyOrder("1001", "paid", "100.00", c0, "78", "cy@example.com"), c0))
	r := mustIngest(t, in, paymentEvent("pi_1", "1001", "100.00", "", synclayer.PaymentSucceeded, c0.Add(minute)))
	mustIngest(t, in, paymentEvent("in_1", "", "29.00", "", synclayer.PaymentSucceeded, c0.Add(2*minute)))
	totals := func() (string, string) {
		c, err := s.FindContactByID(ctx, r.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Value(synclayer.FieldTotalOrders)), string(c.Value(synclayer.FieldTotalSpent))
	}
	if n, spent := totals(); n != "2" || spent != "129.00" {
		t.Errorf("totals %s orders, %s spent; want 2 and 129.00 (the order once, the invoice)", n, spent)
	}
	mustIngest(t, in, paymentEvent("in_1", "", "29.00", "9.00", synclayer.PaymentRefunded, c0.Add(3*minute)))
	if n, spent := totals(); n != "2" || spent != "120.00" {
		t.Errorf("after a partial refund: %s orders, %s spent; want 2 and 120.00", n, spent)
	}
}
