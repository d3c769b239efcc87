package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// replayStore is the part of the store replay uses, beyond Store.
type replayStore interface {
	CountReplay(ctx context.Context, f synclayer.ReplayFilter) (events, failed, contacts int, err error)
	EnqueueReplay(ctx context.Context, f synclayer.ReplayFilter, queue, destination string, now time.Time) (int, error)
}

// testReplay: the customer events of a window and sources are counted,
// and their contacts queued once each, coalescing with a pending job.
func testReplay(t *testing.T, s synclayer.Store) {
	rs, ok := s.(replayStore)
	if !ok {
		t.Skip("the store cannot replay")
	}
	ctx := context.Background()
	add := func(source, key, contact string, status synclayer.EventStatus, typ synclayer.EventType, at time.Time) {
		ev := &synclayer.Event{Source: source, DedupeKey: key, Topic: "t", Type: typ, OccurredAt: at, ReceivedAt: at, Status: status, ContactID: contact}
		mustTx(t, s, func(tx synclayer.Tx) error { return tx.InsertEvent(ctx, ev) })
	}
	add("shopify", "1", "ct_a", synclayer.EventApplied, synclayer.EventCustomerCreated, t0)
	add("shopify", "2", "ct_a", synclayer.EventUnchanged, synclayer.EventCustomerUpdated, t0.Add(time.Minute))
	add("custom", "3", "ct_b", synclayer.EventApplied, synclayer.EventCustomerUpdated, t0.Add(2*time.Minute))
	add("shopify", "4", "", synclayer.EventFailed, synclayer.EventCustomerCreated, t0.Add(3*time.Minute))
	add("shopify", "5", "ct_c", synclayer.EventApplied, synclayer.EventCustomerUpdated, t0.Add(time.Hour)) // after the window
	add("shopify", "6", "ct_d", synclayer.EventApplied, "order_created", t0)                               // not a customer event

	window := synclayer.ReplayFilter{Since: t0, Until: t0.Add(10 * time.Minute)}
	events, failed, contacts, err := rs.CountReplay(ctx, window)
	if err != nil || events != 4 || failed != 1 || contacts != 2 {
		t.Errorf("count: %d events, %d failed, %d contacts, %v; want 4, 1, 2", events, failed, contacts, err)
	}
	shopify := window
	shopify.Sources = []string{"shopify", "manual"}
	if events, _, contacts, _ := rs.CountReplay(ctx, shopify); events != 3 || contacts != 1 {
		t.Errorf("count of shopify: %d events, %d contacts; want 3, 1", events, contacts)
	}
	enqueue(t, s, "ct_b", t0) // already pending: coalesces
	n, err := rs.EnqueueReplay(ctx, window, "customer-sync", "brevo", t0.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("enqueue: %d, %v; want 2", n, err)
	}
	jobs, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobPending, Queue: "customer-sync"})
	var keys []string
	for _, j := range jobs {
		keys = append(keys, j.RecordKey)
	}
	if len(jobs) != 2 {
		t.Errorf("pending after the replay: %v, want ct_a and ct_b once each", keys)
	}
}

// testRequeueDeadJobs: every dead job of a skill is requeued, past one
// page, and a record with a pending job keeps only that one.
func testRequeueDeadJobs(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	const n = 520 // more than one page
	mustTx(t, s, func(tx synclayer.Tx) error {
		for i := range n {
			if err := tx.EnqueueJob(ctx, "customer-sync", "brevo", fmt.Sprint("ct_", i), t0); err != nil {
				return err
			}
		}
		return tx.EnqueueJob(ctx, "other", "brevo", "ct_x", t0)
	})
	for _, skill := range []string{"customer-sync", "other"} {
		for {
			jobs, err := s.ClaimJobs(ctx, skill, 100, time.Minute, t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) == 0 {
				break
			}
			for _, j := range jobs {
				if err := s.DeadJob(ctx, j, "400", nil, t0); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	enqueue(t, s, "ct_0", t0) // a pending job for a dead record
	got, err := s.RequeueDeadJobs(ctx, "customer-sync", t0.Add(time.Second))
	if err != nil || got != n {
		t.Fatalf("requeue: %d, %v; want %d", got, err, n)
	}
	pending, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobPending, Queue: "customer-sync", Limit: 1000})
	dead, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead})
	if len(pending) != n || len(dead) != 1 || dead[0].Queue != "other" {
		t.Errorf("after: %d pending, dead %+v; want %d pending and other's job still dead", len(pending), dead, n)
	}
	if got, err := s.RequeueDeadJobs(ctx, "", t0.Add(2*time.Second)); err != nil || got != 1 {
		t.Errorf("requeue all: %d, %v; want 1", got, err)
	}
}
