package storetest

import (
	"context"
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
