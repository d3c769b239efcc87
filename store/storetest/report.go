package storetest

import (
	"context"
	"testing"
	"time"

	"synclayer"
)

type reportStore interface {
	synclayer.ReportStore
	synclayer.NotificationStore
	MarkFailedEvents()
	RollUpDeliveries(ctx context.Context, now time.Time) error
}

// testHealthFigures checks the health report's figures: deliveries from
// the table and from daily roll-ups that outlive it, dead-letter and
// ingest reasons, tallies, the queue and each source's last event; that a
// failed event reaches the notifier once when marked; and that a key is
// added once.
func testHealthFigures(t *testing.T, s synclayer.Store) {
	rs, ok := s.(reportStore)
	if !ok {
		t.Fatalf("%T does not implement the report store", s)
	}
	ctx := context.Background()
	deliver := func(key string, at time.Time, dead bool) {
		t.Helper()
		enqueue(t, s, key, at.Add(-time.Second))
		jobs, err := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, at)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim %s: %v %v", key, jobs, err)
		}
		if dead {
			err = s.DeadJob(ctx, jobs[0], `400 invalid_parameter: "x@y" refused`, nil, at)
		} else {
			err = s.CompleteJob(ctx, jobs[0], nil, nil, at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	dayA := t0.Add(-3 * 24 * time.Hour)
	deliver("ct_a1", dayA, false)
	deliver("ct_a2", dayA, false)
	deliver("ct_a3", dayA, true)
	deliver("ct_b1", t0.Add(-time.Hour), false)
	enqueue(t, s, "ct_waiting", t0.Add(-2*time.Hour))

	rs.MarkFailedEvents()
	mustTx(t, s, func(tx synclayer.Tx) error {
		ev := &synclayer.Event{Source: "shopify", DedupeKey: "bad-1", Topic: "customers/create", Type: synclayer.EventCustomerCreated,
			OccurredAt: dayA, ReceivedAt: dayA, Customer: &synclayer.CustomerChange{SourceID: "1501"}}
		if err := tx.InsertEvent(ctx, ev); err != nil {
			return err
		}
		ev.Status, ev.Reason = synclayer.EventFailed, "invalid email: it has no @"
		if err := tx.UpdateEvent(ctx, ev); err != nil {
			return err
		}
		if err := tx.AddTally(ctx, synclayer.TallyMerge, "woocommerce", dayA); err != nil {
			return err
		}
		if err := tx.AddTally(ctx, synclayer.TallyOptOut, "shopify", dayA); err != nil {
			return err
		}
		return tx.AddTally(ctx, synclayer.TallyOptOut, "shopify", t0)
	})
	var taken []*synclayer.FailedEvent
	for range 2 {
		if _, err := rs.TakeFailedEvents(ctx, 10, func(_ synclayer.NotificationTx, evs []*synclayer.FailedEvent) error {
			taken = append(taken, evs...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(taken) != 1 || taken[0].SourceRecordID != "1501" || taken[0].Source != "shopify" || taken[0].Reason == "" {
		t.Fatalf("failed events taken: %+v, want the one, once", taken)
	}

	from := t0.Add(-6 * 24 * time.Hour).Truncate(24 * time.Hour)
	check := func(name string, to, now time.Time, delivered int) {
		t.Helper()
		f, err := rs.HealthFigures(ctx, from, to, now, []string{"shopify", "custom"})
		if err != nil {
			t.Fatal(err)
		}
		st := f.Skills["customer-sync"]
		if st == nil || st.Delivered != delivered || st.Dead != 1 || st.Pending != 1 || !st.OldestPending.Equal(t0.Add(-2*time.Hour)) {
			t.Fatalf("%s: customer-sync figures %+v, want %d delivered, 1 dead, 1 pending", name, st, delivered)
		}
		var ingest, dead int
		for _, fc := range f.Failures {
			switch fc.Stage {
			case "ingest":
				ingest += fc.Count
			case "delivery":
				dead += fc.Count
			}
		}
		if ingest != 1 || dead != 1 {
			t.Errorf("%s: failures %+v, want 1 at ingest and 1 dead letter", name, f.Failures)
		}
		if f.Tallies[synclayer.TallyMerge]["woocommerce"] != 1 || f.Tallies[synclayer.TallyOptOut]["shopify"] != 2 {
			t.Errorf("%s: tallies %+v", name, f.Tallies)
		}
		if len(f.Sources) != 2 || !f.Sources[0].LastReceivedAt.Equal(dayA) || f.Sources[0].Events != 1 || !f.Sources[1].LastReceivedAt.IsZero() {
			t.Errorf("%s: sources %+v", name, f.Sources)
		}
	}
	check("today from the table", t0, t0, 3)
	// The next day t0's day is rolled up; 20 days on, the attempts of
	// both days are no longer kept, but their roll-ups are.
	if err := rs.RollUpDeliveries(ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(20 * 24 * time.Hour)
	check("from the roll-ups", later, later, 3)

	if err := rs.NotificationTx(ctx, func(tx synclayer.NotificationTx) error {
		for i, want := range []bool{true, false} {
			added, err := tx.AddKey(ctx, "report:weekly:2026-W44", t0)
			if err != nil || added != want {
				t.Errorf("AddKey #%d: %v %v, want %v", i, added, err, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
