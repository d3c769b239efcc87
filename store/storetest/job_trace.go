package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"synclayer"
)

// testOldestPending checks the age the oldest-pending gauge reports: the
// first_seen_at of each queue's oldest pending job, running jobs left out,
// and a retried job keeping its first change's time.
func testOldestPending(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	if got, err := s.OldestPendingJobs(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty queue: %v, %v; want nothing", got, err)
	}
	enqueue(t, s, "ct_1", t0)
	enqueue(t, s, "ct_2", t0.Add(time.Minute))
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, "other", "x", "r", t0.Add(5*time.Minute)) })
	got, err := s.OldestPendingJobs(ctx)
	if err != nil || !got["customer-sync"].Equal(t0) || !got["other"].Equal(t0.Add(5*time.Minute)) || len(got) != 2 {
		t.Fatalf("oldest pending: %v, %v; want customer-sync at t0 and other 5 minutes later", got, err)
	}
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 10, time.Minute, t0.Add(10*time.Minute))
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	if got, _ := s.OldestPendingJobs(ctx); !got["customer-sync"].IsZero() {
		t.Errorf("running jobs counted as pending: %v", got)
	}
	ct1 := jobs[slices.IndexFunc(jobs, func(j *synclayer.Job) bool { return j.RecordKey == "ct_1" })]
	if err := s.RetryJob(ctx, ct1, t0.Add(20*time.Minute), "503", nil, t0.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.OldestPendingJobs(ctx); !got["customer-sync"].Equal(t0) {
		t.Errorf("a retried job's age restarted: %v, want the first change's time %v", got["customer-sync"], t0)
	}
}

func traceParent(i int) string {
	return fmt.Sprintf("00-%032x-%016x-01", i+1, i+1)
}

// testJobTraceParents checks that a job keeps the traceparents of the
// requests it carries: one per distinct request, coalesced changes
// appended up to the cap, and a retry merged into a pending job bringing
// its own.
func testJobTraceParents(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueueIn := func(key, parent string) {
		t.Helper()
		mustTx(t, s, func(tx synclayer.Tx) error {
			return tx.EnqueueJob(synclayer.WithTraceParent(ctx, parent), "customer-sync", "brevo", key, t0)
		})
	}
	enqueue(t, s, "plain", t0)
	enqueueIn("ct_1", traceParent(1))
	enqueueIn("ct_1", traceParent(2))
	enqueueIn("ct_1", traceParent(1)) // the same request again
	for i := range synclayer.MaxJobTraceParents + 2 {
		enqueueIn("burst", traceParent(10+i))
	}
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 10, time.Minute, t0)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	byKey := map[string]*synclayer.Job{}
	for _, j := range jobs {
		byKey[j.RecordKey] = j
	}
	if p := byKey["plain"].TraceParents; p != nil {
		t.Errorf("a job enqueued without a trace has traceparents %v", p)
	}
	if p := byKey["ct_1"].TraceParents; !slices.Equal(p, []string{traceParent(1), traceParent(2)}) {
		t.Errorf("coalesced job's traceparents: %v, want the two requests' in order", p)
	}
	if p := byKey["burst"].TraceParents; len(p) != synclayer.MaxJobTraceParents || p[0] != traceParent(10) {
		t.Errorf("burst job keeps %d traceparents (first %v), want the first %d", len(p), p, synclayer.MaxJobTraceParents)
	}

	enqueueIn("ct_1", traceParent(3)) // a change while the delivery runs
	if err := s.RetryJob(ctx, byKey["ct_1"], t0.Add(time.Minute), "503", nil, t0); err != nil {
		t.Fatal(err)
	}
	pending, err := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobPending, Queue: "customer-sync"})
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending after retry: %d, %v; want the merged job", len(pending), err)
	}
	if p := pending[0].TraceParents; !slices.Equal(p, []string{traceParent(3), traceParent(1), traceParent(2)}) {
		t.Errorf("merged job's traceparents: %v, want the new change's and then the retried job's", p)
	}
}

// testFindJobsBySkill checks the admin API's job filters: a queue alone,
// or every queue of a skill, on every destination and its batch queue,
// and not a skill whose name merely starts the same.
func testFindJobsBySkill(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	for _, q := range []string{"customer-sync", "customer-sync@klaviyo", "customer-sync@klaviyo:batch", "customer-sync-eu", "order-events"} {
		_, dest, _ := synclayer.QueueParts(q)
		mustTx(t, s, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, q, dest, "ct_1", t0) })
	}
	queues := func(f synclayer.JobFilter) []string {
		jobs, err := s.FindJobs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range jobs {
			out = append(out, j.Queue)
		}
		slices.Sort(out)
		return out
	}
	if got, want := queues(synclayer.JobFilter{Skill: "customer-sync"}), []string{"customer-sync", "customer-sync@klaviyo", "customer-sync@klaviyo:batch"}; !slices.Equal(got, want) {
		t.Errorf("skill customer-sync: %v, want %v", got, want)
	}
	if got, want := queues(synclayer.JobFilter{Queue: "customer-sync@klaviyo"}), []string{"customer-sync@klaviyo"}; !slices.Equal(got, want) {
		t.Errorf("queue customer-sync@klaviyo: %v, want %v", got, want)
	}
}
