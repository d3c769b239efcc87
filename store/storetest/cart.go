package storetest

import (
	"context"
	"testing"
	"time"

	"synclayer"
)

func testCarts(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	c := newContact("cart@example.com", "", "shopify", "c1")
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })
	cart := &synclayer.Cart{ID: "shopify:tok1", Source: "shopify", SourceID: "tok1", ContactID: c.ID, Currency: "EUR",
		Items:     []synclayer.OrderItem{{ProductID: "shopify:9", Price: synclayer.MustMoney("19.990"), Quantity: 2}},
		Total:     synclayer.MustMoney("39.980"),
		UpdatedAt: t0, ChangedAt: t0, RecoveryURL: "https://shop.example/r/tok1"}
	other := &synclayer.Cart{ID: "custom:c2", Source: "custom", SourceID: "c2", ContactID: c.ID, Items: []synclayer.OrderItem{},
		Total: synclayer.MustMoney("0"), UpdatedAt: t0.Add(-time.Hour)}
	mustTx(t, s, func(tx synclayer.Tx) error {
		if err := tx.SaveCart(ctx, cart); err != nil {
			return err
		}
		return tx.SaveCart(ctx, other)
	})
	if cart.Version != 1 {
		t.Errorf("saved cart version %d, want 1", cart.Version)
	}
	got, err := s.FindCartByID(ctx, "shopify:tok1")
	if err != nil || !got.SameContent(cart) || got.Total.String() != "39.980" || !got.ChangedAt.Equal(t0) || got.Version != 1 {
		t.Fatalf("FindCartByID: %+v, %v; want the saved cart, amounts exact", got, err)
	}
	if _, err := s.FindCartByID(ctx, "shopify:nope"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("missing cart: err %v, want ENOTFOUND", err)
	}
	mustTx(t, s, func(tx synclayer.Tx) error {
		open, err := tx.FindOpenCartsByContact(ctx, c.ID)
		if err != nil || len(open) != 2 || open[0].ID != "custom:c2" || open[1].ID != "shopify:tok1" {
			t.Errorf("open carts: %+v, %v; want both, oldest update first", open, err)
		}
		cart.ConvertedAt, cart.ConvertedBy = t0.Add(time.Minute), "shopify:1001"
		return tx.SaveCart(ctx, cart)
	})
	mustTx(t, s, func(tx synclayer.Tx) error {
		open, err := tx.FindOpenCartsByContact(ctx, c.ID)
		if err != nil || len(open) != 1 || open[0].ID != "custom:c2" {
			t.Errorf("open carts after a conversion: %+v, %v; want only custom:c2", open, err)
		}
		if none, err := tx.FindOpenCartsByContact(ctx, ""); err != nil || len(none) != 0 {
			t.Errorf("open carts of nobody: %+v, %v; want none", none, err)
		}
		return nil
	})
	if got, _ := s.FindCartByID(ctx, "shopify:tok1"); got == nil || !got.Converted() || got.ConvertedBy != "shopify:1001" || got.Version != 2 {
		t.Errorf("converted cart reads back as %+v", got)
	}
}

// testEnqueueAt: a delayed job is not claimed before its time; a later
// change moves the pending job (one job, new time), never adds a second;
// a job enqueued while one runs waits its own time.
func testEnqueueAt(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	at := func(runAt, now time.Time) {
		t.Helper()
		mustTx(t, s, func(tx synclayer.Tx) error {
			return tx.EnqueueJobAt(ctx, "cart-events", "brevo", "shopify:tok1", runAt, now)
		})
	}
	at(t0.Add(time.Hour), t0)
	if jobs, err := s.ClaimJobs(ctx, "cart-events", 10, time.Minute, t0.Add(59*time.Minute)); err != nil || len(jobs) != 0 {
		t.Fatalf("claimed %d jobs before the wait ended (%v), want 0", len(jobs), err)
	}
	at(t0.Add(90*time.Minute), t0.Add(30*time.Minute)) // the cart changed: a new wait
	pending, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobPending, Queue: "cart-events"})
	if len(pending) != 1 || !pending[0].RunAt.Equal(t0.Add(90*time.Minute)) || !pending[0].FirstSeenAt.Equal(t0.Add(90*time.Minute)) {
		t.Fatalf("pending after a second change: %+v; want one job due (and first seen) at the new time", pending)
	}
	if jobs, _ := s.ClaimJobs(ctx, "cart-events", 10, time.Minute, t0.Add(80*time.Minute)); len(jobs) != 0 {
		t.Fatal("job claimed at its first time, after it was moved later")
	}
	jobs, err := s.ClaimJobs(ctx, "cart-events", 10, time.Minute, t0.Add(90*time.Minute))
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim at the new time: %+v, %v; want the job", jobs, err)
	}
	at(t0.Add(3*time.Hour), t0.Add(91*time.Minute)) // a change while it runs
	if err := s.CompleteJob(ctx, jobs[0], nil, nil, t0.Add(92*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s.ClaimJobs(ctx, "cart-events", 10, time.Minute, t0.Add(2*time.Hour)); len(jobs) != 0 {
		t.Fatal("the change made during the run was claimed before its own wait ended")
	}
	if jobs, _ := s.ClaimJobs(ctx, "cart-events", 10, time.Minute, t0.Add(3*time.Hour)); len(jobs) != 1 {
		t.Fatalf("the change made during the run: %d jobs claimed at its time, want 1", len(jobs))
	}
	// Moving earlier works too: the platform says the cart is abandoned now.
	at(t0.Add(5*time.Hour), t0.Add(3*time.Hour))
	at(t0.Add(3*time.Hour), t0.Add(3*time.Hour))
	if p, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobPending, Queue: "cart-events"}); len(p) != 1 || !p[0].RunAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("pending after moving earlier: %+v", p)
	}
}
