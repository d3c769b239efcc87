package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// testDeliveries checks that completing, retrying and dead-lettering a job
// each record one attempt, with its latency from the job's first change,
// and that SkillStats sums a window of them per skill.
func testDeliveries(t *testing.T, s synclayer.Store) {
	ss, ok := s.(synclayer.StatsStore)
	if !ok {
		t.Fatalf("%T does not implement synclayer.StatsStore", s)
	}
	ctx := context.Background()
	// 20 contacts delivered with latencies of 1..20 s, one retried then dead.
	for i := 1; i <= 20; i++ {
		enqueue(t, s, fmt.Sprintf("ct_%d", i), t0)
	}
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 20, time.Minute, t0)
	if err != nil || len(jobs) != 20 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	for i, j := range jobs {
		if err := s.CompleteJob(ctx, j, nil, nil, t0.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(t, s, "ct_bad", t0)
	bad, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0)
	if err := s.RetryJob(ctx, bad[0], t0, "503 from brevo", nil, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	bad, _ = s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0.Add(time.Second))
	if err := s.DeadJob(ctx, bad[0], "400 invalid_parameter: SMS", nil, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, "ct_waiting", t0)

	stats, err := ss.SkillStats(ctx, t0, "customer-sync", "idle-skill")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].Skill != "customer-sync" || stats[1].Skill != "idle-skill" {
		t.Fatalf("stats: %+v, want customer-sync and the idle skill asked for", stats)
	}
	cs := stats[0]
	if cs.Delivered != 20 || cs.Retried != 1 || cs.Dead != 1 {
		t.Errorf("counts: %+v, want 20 delivered, 1 retried, 1 dead", cs)
	}
	if cs.AvgLatency != 10500*time.Millisecond || cs.P95Latency != 19*time.Second {
		t.Errorf("latency: avg %s p95 %s, want 10.5s and 19s", cs.AvgLatency, cs.P95Latency)
	}
	if cs.Queue[synclayer.JobPending] != 1 || cs.Queue[synclayer.JobDead] != 1 || cs.Queue[synclayer.JobRunning] != 0 {
		t.Errorf("queue: %v, want 1 pending, 1 dead", cs.Queue)
	}
	if rate, ok := cs.SuccessRate(); !ok || rate != 20.0/21 {
		t.Errorf("success rate %v %v, want 20/21", rate, ok)
	}
	if idle := stats[1]; idle.Attempts() != 0 || idle.Queue[synclayer.JobPending] != 0 {
		t.Errorf("idle skill: %+v", idle)
	}
	if _, ok := stats[1].SuccessRate(); ok {
		t.Error("an idle skill has a success rate")
	}

	// A window after the deliveries holds none of them, but the same queue.
	later, _ := ss.SkillStats(ctx, t0.Add(time.Hour))
	if len(later) != 1 || later[0].Attempts() != 0 || later[0].Queue[synclayer.JobDead] != 1 {
		t.Errorf("later window: %+v", later)
	}

	failed, err := ss.FindDeliveries(ctx, synclayer.DeliveryFilter{Since: t0, Failed: true})
	if err != nil || len(failed) != 2 {
		t.Fatalf("failed deliveries: %+v, %v", failed, err)
	}
	if d := failed[0]; d.Outcome != synclayer.DeliveryDead || d.Reason != "400 invalid_parameter: SMS" || d.RecordKey != "ct_bad" || d.Latency != 2*time.Second {
		t.Errorf("newest failure: %+v", d)
	}
	if failed[1].Outcome != synclayer.DeliveryRetried {
		t.Errorf("older failure: %+v", failed[1])
	}
	if all, _ := ss.FindDeliveries(ctx, synclayer.DeliveryFilter{Since: t0, Limit: 5}); len(all) != 5 {
		t.Errorf("limit 5: %d deliveries", len(all))
	}
}
