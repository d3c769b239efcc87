package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

func enqueueOn(t *testing.T, s synclayer.Store, queue, key string, at time.Time) {
	t.Helper()
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.EnqueueJob(context.Background(), queue, "brevo", key, at) })
}

// testBatch checks the batch path's store: checkpoints, an import's jobs
// held until it completes (sync states, deliveries, trace) or fails (back
// in the queue, merged with a newer change), and EnqueueAll.
func testBatch(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	q := synclayer.BatchQueue("customer-sync")

	t.Run("Checkpoint", func(t *testing.T) {
		if _, err := s.FindCheckpoint(ctx, "backfill:x"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Fatalf("missing checkpoint: %v, want ENOTFOUND", err)
		}
		for _, pos := range []int64{1000, 2000} {
			if err := s.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: "backfill:x", Position: pos, Detail: json.RawMessage(`{"read":1}`), UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		cp, err := s.FindCheckpoint(ctx, "backfill:x")
		if err != nil || cp.Position != 2000 || string(cp.Detail) != `{"read":1}` || !cp.UpdatedAt.Equal(t0) {
			t.Fatalf("checkpoint %+v, %v", cp, err)
		}
		if err := s.DeleteCheckpoint(ctx, "backfill:x"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCheckpoint(ctx, "backfill:x"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("deleted checkpoint: %v", err)
		}
	})

	claimAll := func(t *testing.T, n int) []*synclayer.Job {
		t.Helper()
		jobs, err := s.ClaimJobs(ctx, q, n, time.Minute, t0)
		if err != nil || len(jobs) != n {
			t.Fatalf("claimed %d jobs, want %d (%v)", len(jobs), n, err)
		}
		return jobs
	}
	items := func(jobs []*synclayer.Job) []synclayer.ImportItem {
		var out []synclayer.ImportItem
		for _, j := range jobs {
			out = append(out, synclayer.NewImportItem(j,
				&synclayer.SyncState{RecordKey: j.RecordKey, Destination: "brevo", RemoteID: j.RecordKey, State: json.RawMessage(`{"inList":true}`)}, j.RecordKey))
		}
		return out
	}

	t.Run("CompleteImport", func(t *testing.T) {
		const n = 1200 // more than one insert's worth of items
		for i := range n {
			enqueueOn(t, s, q, fmt.Sprintf("ct_c%d", i), t0)
		}
		jobs := claimAll(t, n)
		imp := &synclayer.Import{Skill: "customer-sync", Queue: q, ProcessID: "77", Summary: "imported", CreatedAt: t0, CheckAt: t0.Add(time.Second)}
		if err := s.AddImport(ctx, imp, items(jobs), t0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// The hold outlives the claim's lease: nobody recovers the jobs.
		if again, _ := s.ClaimJobs(ctx, q, 10, time.Minute, t0.Add(time.Hour)); len(again) != 0 {
			t.Fatalf("an import's jobs were claimed again: %d", len(again))
		}
		if err := s.DelayImport(ctx, imp.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		pending, err := s.FindImports(ctx, "customer-sync")
		if err != nil || len(pending) != 1 || pending[0].ProcessID != "77" || pending[0].Items != n || pending[0].Checks != 1 || !pending[0].CheckAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("pending imports %+v, %v", pending, err)
		}
		if left, _ := s.CountPending(ctx, q); left != n {
			t.Errorf("CountPending %d, want %d running", left, n)
		}
		if err := s.CompleteImport(ctx, imp.ID, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteImport(ctx, imp.ID, t0.Add(2*time.Minute)); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("completing twice: %v, want ENOTFOUND", err)
		}
		st, err := s.FindSyncState(ctx, "ct_c7", "brevo")
		if err != nil || string(st.State) != `{"inList":true}` {
			t.Errorf("sync state %+v, %v", st, err)
		}
		if tr, _ := s.Trace(ctx, "ct_c1199"); len(tr) != 1 || tr[0].Summary != "imported" || tr[0].Kind != synclayer.TraceDelivery {
			t.Errorf("trace %+v", tr)
		}
		if left, _ := s.CountPending(ctx, q); left != 0 {
			t.Errorf("%d jobs left after the import completed", left)
		}
		if done, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDone, Queue: q, Limit: 1000}); len(done) != 1000 {
			t.Errorf("%d done jobs listed, want 1000 (the listing's cap)", len(done))
		}
		if imps, _ := s.FindImports(ctx, "customer-sync"); len(imps) != 0 {
			t.Errorf("imports left: %+v", imps)
		}
	})

	t.Run("DetachImport", func(t *testing.T) {
		for i := range 3 {
			enqueueOn(t, s, q, fmt.Sprintf("ct_d%d", i), t0)
		}
		jobs := claimAll(t, 3)
		imp := &synclayer.Import{Skill: "customer-sync", Queue: q, ProcessID: "job-9", Summary: "imported", CreatedAt: t0, CheckAt: t0}
		if err := s.AddImport(ctx, imp, items(jobs), t0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		refused, err := s.DetachImport(ctx, imp.ID, []int64{jobs[1].ID}, "refused", t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteImport(ctx, imp.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.FailImport(ctx, refused, "the destination refused the row", t0.Add(time.Minute), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		for i, j := range jobs {
			st, _ := s.FindSyncState(ctx, j.RecordKey, "brevo")
			if i == 1 && st != nil {
				t.Errorf("the refused row got a sync state: %+v", st)
			}
			if i != 1 && st == nil {
				t.Errorf("row %d of the applied import got no sync state", i)
			}
		}
		again, err := s.ClaimJobs(ctx, q, 10, time.Minute, t0.Add(2*time.Minute))
		if err != nil || len(again) != 1 || again[0].RecordKey != jobs[1].RecordKey || again[0].LastError != "the destination refused the row" {
			t.Fatalf("after settling: %+v (%v), want only the refused row back with its reason", again, err)
		}
		if _, err := s.DetachImport(ctx, imp.ID, nil, "x", t0); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("detaching from a settled import: %v, want not found", err)
		}
		_ = s.CompleteJob(ctx, again[0], nil, nil, t0.Add(2*time.Minute))
	})

	t.Run("NewerStateWins", func(t *testing.T) {
		enqueueOn(t, s, q, "ct_n1", t0)
		jobs := claimAll(t, 1)
		imp := &synclayer.Import{Skill: "customer-sync", Queue: q, ProcessID: "79", Summary: "x", CreatedAt: t0, CheckAt: t0}
		if err := s.AddImport(ctx, imp, items(jobs), t0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// A realtime delivery (an opt-out) records its state while the
		// import runs.
		opted := &synclayer.SyncState{RecordKey: "ct_n1", Destination: "brevo", RemoteID: "ct_n1", State: json.RawMessage(`{"emailBlacklisted":true}`)}
		if err := s.SaveSyncState(ctx, opted, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteImport(ctx, imp.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.FindSyncState(ctx, "ct_n1", "brevo"); st == nil || string(st.State) != `{"emailBlacklisted":true}` {
			t.Errorf("the import overwrote a newer sync state: %+v", st)
		}
		again, err := s.ClaimJobs(ctx, "customer-sync", 10, time.Minute, t0.Add(time.Minute))
		if err != nil || len(again) != 1 || again[0].RecordKey != "ct_n1" || again[0].Attempts < 2 {
			t.Fatalf("realtime jobs %+v (%v): want ct_n1 queued as a retry, so it reads Brevo back", again, err)
		}
	})

	t.Run("CompleteImportWithoutState", func(t *testing.T) {
		enqueueOn(t, s, q, "ct_w1", t0)
		jobs := claimAll(t, 1)
		imp := &synclayer.Import{Skill: "customer-sync", Queue: q, ProcessID: "80", Summary: "imported, some skipped", CreatedAt: t0, CheckAt: t0}
		if err := s.AddImport(ctx, imp, items(jobs), t0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteImportWithoutState(ctx, imp.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if st, err := s.FindSyncState(ctx, "ct_w1", "brevo"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("sync state %+v, %v: want none", st, err)
		}
		if left, _ := s.CountPending(ctx, q); left != 0 {
			t.Errorf("%d jobs left", left)
		}
		if tr, _ := s.Trace(ctx, "ct_w1"); len(tr) != 1 || tr[0].Summary != "imported, some skipped" {
			t.Errorf("trace %+v", tr)
		}
	})

	t.Run("DeadImport", func(t *testing.T) {
		enqueueOn(t, s, q, "ct_d1", t0)
		enqueueOn(t, s, q, "ct_d2", t0)
		jobs := claimAll(t, 2)
		imp := &synclayer.Import{Skill: "customer-sync", Queue: q, ProcessID: "refused", Summary: "refused", CreatedAt: t0, CheckAt: t0}
		if err := s.AddImport(ctx, imp, items(jobs), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeadImport(ctx, imp.ID, "brevo: POST /contacts/import: 400 invalid_parameter: List ID(s) 5 do not exist", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		dead, err := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Queue: q})
		if err != nil || len(dead) != 2 || dead[0].LastError != "brevo: POST /contacts/import: 400 invalid_parameter: List ID(s) 5 do not exist" {
			t.Fatalf("dead jobs %+v, %v: want both, with Brevo's message", dead, err)
		}
		if tr, _ := s.Trace(ctx, "ct_d1"); len(tr) != 1 || tr[0].Kind != synclayer.TraceDelivery {
			t.Errorf("trace %+v", tr)
		}
		if st, err := s.FindSyncState(ctx, "ct_d1", "brevo"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("a dead-lettered record got a sync state: %+v, %v", st, err)
		}
		if err := s.DeadImport(ctx, imp.ID, "x", t0.Add(time.Second)); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("dead-lettering twice: %v, want ENOTFOUND", err)
		}
		for _, j := range dead {
			if err := s.DeleteDeadJob(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("FailImportRequeues", func(t *testing.T) {
		for _, k := range []string{"ct_f1", "ct_f2"} {
			enqueueOn(t, s, q, k, t0)
		}
		jobs := claimAll(t, 2)
		imp := &synclayer.Import{Skill: "customer-sync", Queue: q, ProcessID: "78", Summary: "x", CreatedAt: t0, CheckAt: t0}
		if err := s.AddImport(ctx, imp, items(jobs), t0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		enqueueOn(t, s, q, "ct_f2", t0.Add(time.Second)) // a newer change meanwhile
		runAt := t0.Add(10 * time.Minute)
		if err := s.FailImport(ctx, imp.ID, "process 78 failed", runAt, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindSyncState(ctx, "ct_f1", "brevo"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("a failed import wrote a sync state: %v", err)
		}
		if early, _ := s.ClaimJobs(ctx, q, 10, time.Minute, runAt.Add(-time.Second)); len(early) != 0 {
			t.Errorf("claimed %d jobs before their retry time", len(early))
		}
		again, err := s.ClaimJobs(ctx, q, 10, time.Minute, runAt)
		if err != nil || len(again) != 2 {
			t.Fatalf("claimed %d jobs after the failure, want one per record (2): %v", len(again), err)
		}
		for _, j := range again {
			if j.LastError != "process 78 failed" {
				t.Errorf("job %s: last error %q", j.RecordKey, j.LastError)
			}
		}
		if err := s.FailImport(ctx, imp.ID, "x", runAt, runAt); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("failing twice: %v, want ENOTFOUND", err)
		}
	})

	t.Run("EnqueueAll", func(t *testing.T) {
		for _, e := range []string{"a@example.com", "b@example.com"} {
			c := newContact(e, "", "shopify", e)
			mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })
		}
		rq := synclayer.BatchQueue("resync-test")
		for range 2 { // twice: the second coalesces
			if _, err := s.EnqueueAll(ctx, "contacts", rq, "brevo", t0); err != nil {
				t.Fatal(err)
			}
		}
		if left, _ := s.CountPending(ctx, rq); left < 2 {
			t.Errorf("%d jobs queued for the contacts, want one per contact", left)
		}
		jobs, _ := s.ClaimJobs(ctx, rq, 1000, time.Minute, t0)
		seen := map[string]bool{}
		for _, j := range jobs {
			if seen[j.RecordKey] {
				t.Errorf("contact %s queued twice", j.RecordKey)
			}
			seen[j.RecordKey] = true
		}
		if _, err := s.EnqueueAll(ctx, "carts", rq, "brevo", t0); synclayer.ErrorCode(err) != synclayer.EINVALID {
			t.Errorf("unknown kind: %v, want EINVALID", err)
		}
	})
}
