package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

func testExtendLease(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 1, 10*time.Second, t0)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v, %v", jobs, err)
	}
	// A slow delivery renews its lease, so it is not taken over...
	if err := s.ExtendLease(ctx, jobs[0], t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimJobs(ctx, "customer-sync", 1, 10*time.Second, t0.Add(20*time.Second)); len(got) != 0 {
		t.Fatal("a job under a renewed lease was handed out")
	}
	// ...but once it stops renewing, the job is recovered, and the old
	// holder learns it lost the lease.
	again, err := s.ClaimJobs(ctx, "customer-sync", 1, 10*time.Second, t0.Add(31*time.Second))
	if err != nil || len(again) != 1 {
		t.Fatalf("expired renewed lease not recovered: %v, %v", again, err)
	}
	if err := s.ExtendLease(ctx, jobs[0], t0.Add(60*time.Second)); synclayer.ErrorCode(err) != synclayer.ECONFLICT {
		t.Errorf("renewing a lost lease: %v, want ECONFLICT", err)
	}
}

func testLostLease(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	stale, _ := s.ClaimJobs(ctx, "customer-sync", 1, 10*time.Second, t0)
	// The worker stalls past its lease and another recovers the job.
	fresh, _ := s.ClaimJobs(ctx, "customer-sync", 1, 10*time.Second, t0.Add(11*time.Second))
	if len(stale) != 1 || len(fresh) != 1 {
		t.Fatalf("claims: %v then %v", stale, fresh)
	}
	if err := s.DeadJob(ctx, stale[0], "late failure", nil, t0.Add(12*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryJob(ctx, stale[0], t0.Add(time.Hour), "late retry", nil, t0.Add(12*time.Second)); err != nil {
		t.Fatal(err)
	}
	running, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobRunning})
	if len(running) != 1 || running[0].LastError == "late failure" || running[0].LastError == "late retry" {
		t.Fatalf("the stalled worker overwrote the new holder's job: %+v", running)
	}
	if err := s.CompleteJob(ctx, fresh[0], nil, nil, t0.Add(13*time.Second)); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.CountJobs(ctx); counts[synclayer.JobDone] != 1 || counts[synclayer.JobDead] != 0 || counts[synclayer.JobPending] != 0 {
		t.Errorf("job counts %v, want the one job done", counts)
	}
}

func testDoneJobsPruned(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	for i := range 3 {
		enqueue(t, s, fmt.Sprintf("ct_%d", i), t0)
	}
	jobs, _ := s.ClaimJobs(ctx, "customer-sync", 3, time.Minute, t0)
	for _, j := range jobs {
		if err := s.CompleteJob(ctx, j, nil, nil, t0); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(t, s, "ct_new", t0.Add(8*24*time.Hour))
	recent, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0.Add(8*24*time.Hour))
	if err := s.CompleteJob(ctx, recent[0], nil, nil, t0.Add(8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A claim a week later prunes the old done jobs and keeps the recent one.
	if _, err := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0.Add(8*24*time.Hour+2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.CountJobs(ctx); counts[synclayer.JobDone] != 1 {
		t.Errorf("%d done jobs after pruning, want only the recent one", counts[synclayer.JobDone])
	}
}
