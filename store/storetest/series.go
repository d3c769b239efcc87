package storetest

import (
	"context"
	"testing"
	"time"

	"synclayer"
)

// testSkillSeries checks that SkillSeries counts each interval's attempts
// of one skill, with the interval's p95 latency, lists empty intervals
// too, and leaves out attempts before since, at or after until, and of
// other skills.
func testSkillSeries(t *testing.T, s synclayer.Store) {
	ss := s.(synclayer.StatsStore)
	ctx := context.Background()
	end := func(skill, key string, enqueued, at time.Time, outcome synclayer.DeliveryOutcome) {
		t.Helper()
		mustTx(t, s, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, skill, "brevo", key, enqueued) })
		jobs, err := s.ClaimJobs(ctx, skill, 1, time.Hour, at)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim %s: %d jobs, %v", key, len(jobs), err)
		}
		switch outcome {
		case synclayer.DeliveryDelivered:
			err = s.CompleteJob(ctx, jobs[0], nil, nil, at)
		case synclayer.DeliveryRetried:
			err = s.RetryJob(ctx, jobs[0], at.Add(time.Hour), "503 from brevo", nil, at)
		case synclayer.DeliveryDead:
			err = s.DeadJob(ctx, jobs[0], "400 bad", nil, at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(m int, sec int) time.Time {
		return t0.Add(time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
	}
	end("customer-sync", "ct_early", at(-3, 0), at(-1, 0), synclayer.DeliveryDelivered) // before since
	end("customer-sync", "ct_a", at(0, 0), at(0, 1), synclayer.DeliveryDelivered)
	end("customer-sync", "ct_b", at(0, 0), at(0, 3), synclayer.DeliveryDelivered)
	end("order-events", "ord_1", at(1, 0), at(1, 5), synclayer.DeliveryDead) // another skill
	end("customer-sync", "ct_c", at(2, 0), at(2, 10), synclayer.DeliveryRetried)
	end("customer-sync", "ct_d", at(2, 0), at(2, 20), synclayer.DeliveryDead)
	end("customer-sync", "ct_e", at(4, 0), at(4, 30), synclayer.DeliveryDelivered)
	end("customer-sync", "ct_late", at(5, 0), at(5, 0), synclayer.DeliveryDelivered) // at until

	got, err := ss.SkillSeries(ctx, "customer-sync", t0, at(5, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []synclayer.StatsPoint{
		{Start: at(0, 0), Delivered: 2, P95Latency: 3 * time.Second},
		{Start: at(1, 0)},
		{Start: at(2, 0), Retried: 1, Dead: 1},
		{Start: at(3, 0)},
		{Start: at(4, 0), Delivered: 1, P95Latency: 30 * time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("series: %d points, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Delivered != want[i].Delivered || got[i].Retried != want[i].Retried ||
			got[i].Dead != want[i].Dead || got[i].P95Latency != want[i].P95Latency {
			t.Errorf("point %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[2].Failed() != 2 {
		t.Errorf("point 2 failed %d, want 2", got[2].Failed())
	}

	// A window that does not divide into steps ends with a partial interval.
	if got, err := ss.SkillSeries(ctx, "customer-sync", t0, at(4, 30), 2*time.Minute); err != nil || len(got) != 3 || got[2].Delivered != 0 {
		t.Errorf("4m30s in steps of 2m: %+v, %v; want 3 points, the attempt at 4m30s in none", got, err)
	}
	if got, err := ss.SkillSeries(ctx, "idle", t0, at(5, 0), time.Minute); err != nil || len(got) != 5 || got[0].Delivered != 0 {
		t.Errorf("idle skill: %+v, %v; want 5 empty points", got, err)
	}
	if _, err := ss.SkillSeries(ctx, "customer-sync", t0, at(5, 0), 0); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("step 0: %v, want EINVALID", err)
	}
}
