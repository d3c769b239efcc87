package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// testCompleteMany completes a batch as the queue's group completion
// does: every job done, each sync state, delivery row and trace entry
// written, and a job whose lease was taken over left to its new holder.
func testCompleteMany(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	for i := range 5 {
		enqueue(t, s, fmt.Sprintf("ct_%d", i), t0)
	}
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 5, time.Minute, t0)
	if err != nil || len(jobs) != 5 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	stale := *jobs[4]
	stale.LeaseUntil = stale.LeaseUntil.Add(-time.Second) // a lease this claim no longer holds
	var done []synclayer.Completion
	for i, j := range append(jobs[:4], &stale) {
		d := synclayer.Completion{Job: j}
		if i != 1 { // one delivery with no state to save and no trace
			d.State = &synclayer.SyncState{RecordKey: j.RecordKey, Destination: "brevo", RemoteID: fmt.Sprint("r", i), State: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
			d.Trace = &synclayer.TraceEntry{ContactID: j.RecordKey, At: t0, Kind: synclayer.TraceDelivery, Summary: fmt.Sprint("sent ", i)}
		}
		done = append(done, d)
	}
	if err := s.CompleteJobs(ctx, done, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.CountJobs(ctx); counts[synclayer.JobDone] != 4 || counts[synclayer.JobRunning] != 1 {
		t.Errorf("job counts %v, want 4 done and the taken-over one still running", counts)
	}
	for i, d := range done {
		st, err := s.FindSyncState(ctx, d.Job.RecordKey, "brevo")
		switch {
		case i == 1 && synclayer.ErrorCode(err) != synclayer.ENOTFOUND:
			t.Errorf("%s: sync state %+v, %v; want none", d.Job.RecordKey, st, err)
		case i != 1 && (err != nil || st.RemoteID != fmt.Sprint("r", i) || string(st.State) != fmt.Sprintf(`{"n":%d}`, i)):
			t.Errorf("%s: sync state %+v, %v", d.Job.RecordKey, st, err)
		}
		trace, _ := s.Trace(ctx, d.Job.RecordKey)
		if want := boolInt(i != 1); len(trace) != want || want == 1 && trace[0].Summary != fmt.Sprint("sent ", i) {
			t.Errorf("%s: trace %+v, want %d entries", d.Job.RecordKey, trace, want)
		}
	}
	stats, err := s.(synclayer.StatsStore).SkillStats(ctx, t0)
	if err != nil || len(stats) != 1 || stats[0].Delivered != 5 {
		t.Errorf("stats %+v, %v; want 5 delivered attempts", stats, err)
	}

	// Two completions of one record (a stalled worker's and its
	// successor's) in one batch: both apply, the later state last.
	enqueue(t, s, "ct_9", t0)
	first, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Second, t0)
	second, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Second, t0.Add(2*time.Second))
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("claims: %v then %v", first, second)
	}
	st := func(v string) *synclayer.SyncState {
		return &synclayer.SyncState{RecordKey: "ct_9", Destination: "brevo", State: json.RawMessage(v)}
	}
	if err := s.CompleteJobs(ctx, []synclayer.Completion{{Job: first[0], State: st(`{"v":1}`)}, {Job: second[0], State: st(`{"v":2}`)}}, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindSyncState(ctx, "ct_9", "brevo"); err != nil || string(got.State) != `{"v":2}` {
		t.Errorf("sync state after two completions of one record: %+v, %v", got, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
