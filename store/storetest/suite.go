package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"synclayer"
)

// Exercise runs the conformance suite against stores made by open.
func Exercise(t *testing.T, open func(testing.TB) synclayer.Store) {
	t.Run("ContactSaveAndFind", func(t *testing.T) { t.Parallel(); testContactSaveAndFind(t, open(t)) })
	t.Run("EventDedupe", func(t *testing.T) { t.Parallel(); testEventDedupe(t, open(t)) })
	t.Run("RollbackLeavesNothing", func(t *testing.T) { t.Parallel(); testRollback(t, open(t)) })
	t.Run("EnqueueCoalesces", func(t *testing.T) { t.Parallel(); testEnqueueCoalesces(t, open(t)) })
	t.Run("ClaimHoldsRecord", func(t *testing.T) { t.Parallel(); testClaimHoldsRecord(t, open(t)) })
	t.Run("ExtendedLeaseIsKept", func(t *testing.T) { t.Parallel(); testExtendLease(t, open(t)) })
	t.Run("DoneJobsArePruned", func(t *testing.T) { t.Parallel(); testDoneJobsPruned(t, open(t)) })
	t.Run("LostLeaseChangesNothing", func(t *testing.T) { t.Parallel(); testLostLease(t, open(t)) })
	t.Run("ExpiredLeaseIsRecovered", func(t *testing.T) { t.Parallel(); testExpiredLease(t, open(t)) })
	t.Run("RetryMergesWithPending", func(t *testing.T) { t.Parallel(); testRetryMerges(t, open(t)) })
	t.Run("OldestPendingJobs", func(t *testing.T) { t.Parallel(); testOldestPending(t, open(t)) })
	t.Run("FindJobsBySkill", func(t *testing.T) { t.Parallel(); testFindJobsBySkill(t, open(t)) })
	t.Run("JobTraceParents", func(t *testing.T) { t.Parallel(); testJobTraceParents(t, open(t)) })
	t.Run("DeadLetterRequeueAndDelete", func(t *testing.T) { t.Parallel(); testDeadLetter(t, open(t)) })
	t.Run("DeadLettersRequeuedInPages", func(t *testing.T) { t.Parallel(); testRequeueDeadJobs(t, open(t)) })
	t.Run("ReplayQueuesEachContactOnce", func(t *testing.T) { t.Parallel(); testReplay(t, open(t)) })
	t.Run("ConcurrentClaimersNeverShareARecord", func(t *testing.T) { t.Parallel(); testConcurrentClaim(t, open(t)) })
	t.Run("LockMakesOneContactPerEmail", func(t *testing.T) { t.Parallel(); testLockOneContact(t, open(t)) })
	t.Run("CompleteRecordsSyncStateAndTrace", func(t *testing.T) { t.Parallel(); testComplete(t, open(t)) })
	t.Run("CompleteManyInOneTransaction", func(t *testing.T) { t.Parallel(); testCompleteMany(t, open(t)) })
	t.Run("KeyCreateFindRevoke", func(t *testing.T) { t.Parallel(); testKeys(t, open(t)) })
	t.Run("DeliveriesAndStats", func(t *testing.T) { t.Parallel(); testDeliveries(t, open(t)) })
	t.Run("SkillSeries", func(t *testing.T) { t.Parallel(); testSkillSeries(t, open(t)) })
	t.Run("ContactSearch", func(t *testing.T) { t.Parallel(); testContactSearch(t, open(t)) })
	t.Run("Connections", func(t *testing.T) { t.Parallel(); testConnections(t, open(t)) })
	t.Run("NotificationOutbox", func(t *testing.T) { t.Parallel(); testNotificationOutbox(t, open(t)) })
	t.Run("HealthFigures", func(t *testing.T) { t.Parallel(); testHealthFigures(t, open(t)) })
	t.Run("ConfigVersions", func(t *testing.T) { t.Parallel(); testConfigVersions(t, open(t)) })
	t.Run("Instances", func(t *testing.T) { t.Parallel(); testInstances(t, open(t)) })
	t.Run("OrdersAndRefunds", func(t *testing.T) { t.Parallel(); testOrders(t, open(t)) })
	t.Run("ProductsAndCategories", func(t *testing.T) { t.Parallel(); testProducts(t, open(t)) })
	t.Run("BatchImports", func(t *testing.T) { t.Parallel(); testBatch(t, open(t)) })
	t.Run("Carts", func(t *testing.T) { t.Parallel(); testCarts(t, open(t)) })
	t.Run("EnqueueAtMovesThePendingJob", func(t *testing.T) { t.Parallel(); testEnqueueAt(t, open(t)) })
	t.Run("WorkflowActions", func(t *testing.T) { t.Parallel(); testWorkflowActions(t, open(t)) })
	t.Run("TokensRoundTrip", func(t *testing.T) { t.Parallel(); testTokens(t, open(t)) })
	t.Run("ContactForDelivery", func(t *testing.T) { t.Parallel(); testContactForDelivery(t, open(t)) })
	t.Run("SharedKeysClaimOnce", func(t *testing.T) { t.Parallel(); testSharedKeys(t, open(t)) })
	t.Run("PruneHistory", func(t *testing.T) { t.Parallel(); testPruneHistory(t, open(t)) })
	t.Run("WindowKeysExpire", func(t *testing.T) { t.Parallel(); testWindowKeysExpire(t, open(t)) })
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func mustTx(t *testing.T, s synclayer.Store, fn func(synclayer.Tx) error) {
	t.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func newContact(email, phone, source, sourceID string) *synclayer.Contact {
	c := &synclayer.Contact{SourceIDs: map[string]string{source: sourceID}, UpdatedAt: t0}
	ch := &synclayer.CustomerChange{SourceID: sourceID, Fields: map[string]json.RawMessage{}}
	if email != "" {
		ch.Fields["email"] = json.RawMessage(fmt.Sprintf("%q", email))
	}
	if phone != "" {
		ch.Fields["phone"] = json.RawMessage(fmt.Sprintf("%q", phone))
	}
	synclayer.Merge(c, ch, synclayer.MergeContext{Source: source, At: t0})
	return c
}

func testContactSaveAndFind(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	c := newContact("ann@example.com", "+14155550100", "shopify", "101")
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })
	if c.ID == "" || c.Version != 1 {
		t.Fatalf("saved contact has ID %q version %d, want an ID and version 1", c.ID, c.Version)
	}
	mustTx(t, s, func(tx synclayer.Tx) error {
		for name, find := range map[string]func() (*synclayer.Contact, error){
			"source id": func() (*synclayer.Contact, error) { return tx.FindContactBySourceID(ctx, "shopify", "101") },
			"email":     func() (*synclayer.Contact, error) { return tx.FindContactByEmail(ctx, "ann@example.com") },
			"phone":     func() (*synclayer.Contact, error) { return tx.FindContactByPhone(ctx, "+14155550100") },
		} {
			got, err := find()
			if err != nil || got.ID != c.ID {
				t.Errorf("find by %s: got %v, %v; want %s", name, got, err, c.ID)
			}
		}
		if _, err := tx.FindContactBySourceID(ctx, "shopify", "999"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("find missing source id: err %v, want ENOTFOUND", err)
		}
		bySource, byEmail, byPhone, err := tx.FindContactsByIdentity(ctx, "shopify", "101", "ann@example.com", "+14155550100")
		if err != nil || bySource == nil || byEmail == nil || byPhone == nil || bySource.ID != c.ID || byEmail.ID != c.ID || byPhone.Email != "ann@example.com" {
			t.Errorf("find by identity: %v %v %v, %v; want %s three times", bySource, byEmail, byPhone, err, c.ID)
		}
		for _, miss := range [][4]string{{"shopify", "999", "bob@example.com", "+14155550199"}, {"shopify", "", "", ""}, {"woocommerce", "101", "", ""}} {
			bySource, byEmail, byPhone, err := tx.FindContactsByIdentity(ctx, miss[0], miss[1], miss[2], miss[3])
			if err != nil || bySource != nil || byEmail != nil || byPhone != nil {
				t.Errorf("find by identity %q: %v %v %v, %v; want no match", miss, bySource, byEmail, byPhone, err)
			}
		}
		return nil
	})
	got, err := s.FindContactByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "ann@example.com" || string(got.Value("phone")) != `"+14155550100"` || got.SourceIDs["shopify"] != "101" {
		t.Errorf("round trip lost data: %+v", got)
	}
	if _, err := s.FindContactByID(ctx, "ct_missing"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("missing contact: err %v, want ENOTFOUND", err)
	}
	list, err := s.FindContacts(ctx, synclayer.ContactFilter{Email: "ann@example.com"})
	if err != nil || len(list) != 1 {
		t.Errorf("FindContacts by email: %d, %v; want 1", len(list), err)
	}
}

func testEventDedupe(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	ev := func() *synclayer.Event {
		return &synclayer.Event{Source: "shopify", DedupeKey: "shop|customers/update|abc", Topic: "customers/update",
			Type: synclayer.EventCustomerUpdated, OccurredAt: t0, ReceivedAt: t0, Payload: []byte(`{"id":1}`)}
	}
	first := ev()
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.InsertEvent(ctx, first) })
	var afterConflict *synclayer.Contact
	mustTx(t, s, func(tx synclayer.Tx) error {
		err := tx.InsertEvent(ctx, ev())
		if synclayer.ErrorCode(err) != synclayer.ECONFLICT {
			t.Errorf("second insert: err %v, want ECONFLICT", err)
		}
		// The transaction must stay usable after the conflict.
		afterConflict = newContact("dup@example.com", "", "shopify", "1")
		return tx.SaveContact(ctx, afterConflict)
	})
	if _, err := s.FindContactByID(ctx, afterConflict.ID); err != nil {
		t.Errorf("write after a duplicate event was lost: %v", err)
	}
	got, err := s.FindEventByID(ctx, first.ID)
	if err != nil || string(got.Payload) != `{"id":1}` || got.Type != synclayer.EventCustomerUpdated {
		t.Errorf("event round trip: %+v, %v", got, err)
	}
}

func testRollback(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	c := newContact("gone@example.com", "", "custom", "x")
	err := s.Tx(ctx, func(tx synclayer.Tx) error {
		if err := tx.SaveContact(ctx, c); err != nil {
			return err
		}
		if err := tx.EnqueueJob(ctx, "customer-sync", "brevo", c.ID, t0); err != nil {
			return err
		}
		return fmt.Errorf("boom")
	})
	if err == nil {
		t.Fatal("Tx returned nil for a failing fn")
	}
	if _, err := s.FindContactByID(ctx, c.ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("rolled-back contact is visible: %v", err)
	}
	if counts, _ := s.CountJobs(ctx); counts[synclayer.JobPending] != 0 {
		t.Errorf("rolled-back job is visible: %v", counts)
	}
}

func enqueue(t *testing.T, s synclayer.Store, key string, at time.Time) {
	t.Helper()
	mustTx(t, s, func(tx synclayer.Tx) error {
		return tx.EnqueueJob(context.Background(), "customer-sync", "brevo", key, at)
	})
}

func testEnqueueCoalesces(t *testing.T, s synclayer.Store) {
	for i := range 3 {
		enqueue(t, s, "ct_1", t0.Add(time.Duration(i)*time.Second))
	}
	enqueue(t, s, "ct_2", t0)
	jobs, err := s.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobPending})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("pending jobs: %d, %v; want 2 (one per record)", len(jobs), err)
	}
	for _, j := range jobs {
		if !j.FirstSeenAt.Equal(t0) {
			t.Errorf("job %s first seen at %v, want the first change's time %v", j.RecordKey, j.FirstSeenAt, t0)
		}
	}
}

func testClaimHoldsRecord(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 10, time.Minute, t0)
	if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 || jobs[0].State != synclayer.JobRunning {
		t.Fatalf("claim: %+v, %v; want one running job with attempt 1", jobs, err)
	}
	enqueue(t, s, "ct_1", t0.Add(time.Second)) // a change while the first delivery runs
	again, err := s.ClaimJobs(ctx, "customer-sync", 10, time.Minute, t0.Add(2*time.Second))
	if err != nil || len(again) != 0 {
		t.Fatalf("claimed %d jobs for a record under a live lease, want 0 (%v)", len(again), err)
	}
	if err := s.CompleteJob(ctx, jobs[0], nil, nil, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	next, err := s.ClaimJobs(ctx, "customer-sync", 10, time.Minute, t0.Add(4*time.Second))
	if err != nil || len(next) != 1 || next[0].RecordKey != "ct_1" {
		t.Fatalf("the change made during delivery was not delivered after it: %+v, %v", next, err)
	}
}

func testExpiredLease(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	if _, err := s.ClaimJobs(ctx, "customer-sync", 1, 30*time.Second, t0); err != nil {
		t.Fatal(err)
	}
	// The worker dies. Before the lease ends nobody gets the job...
	if jobs, _ := s.ClaimJobs(ctx, "customer-sync", 1, 30*time.Second, t0.Add(20*time.Second)); len(jobs) != 0 {
		t.Fatalf("job handed out under a live lease")
	}
	// ...and after it the next claim recovers it.
	jobs, err := s.ClaimJobs(ctx, "customer-sync", 1, 30*time.Second, t0.Add(31*time.Second))
	if err != nil || len(jobs) != 1 || jobs[0].Attempts != 2 {
		t.Fatalf("expired lease not recovered: %+v, %v", jobs, err)
	}
}

func testRetryMerges(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	jobs, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0)
	enqueue(t, s, "ct_1", t0.Add(time.Second))
	if err := s.RetryJob(ctx, jobs[0], t0.Add(time.Minute), "503 from brevo", nil, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	pending, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobPending})
	if len(pending) != 1 {
		t.Fatalf("pending jobs after retry: %d, want 1", len(pending))
	}
	p := pending[0]
	if !p.RunAt.Equal(t0.Add(time.Minute)) || p.Attempts != 1 || p.LastError != "503 from brevo" || !p.FirstSeenAt.Equal(t0) {
		t.Errorf("merged job lost the retry schedule or history: %+v", p)
	}
	if got, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0.Add(30*time.Second)); len(got) != 0 {
		t.Error("job ran before its backoff ended")
	}
}

func testDeadLetter(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	jobs, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0)
	if err := s.DeadJob(ctx, jobs[0], "400 invalid_parameter: SMS", nil, t0); err != nil {
		t.Fatal(err)
	}
	dead, _ := s.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead})
	if len(dead) != 1 || dead[0].LastError != "400 invalid_parameter: SMS" {
		t.Fatalf("dead-letter list: %+v", dead)
	}
	if err := s.RequeueDeadJob(ctx, dead[0].ID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	again, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0.Add(2*time.Second))
	if len(again) != 1 || again[0].Attempts != 1 {
		t.Fatalf("requeued job: %+v, want claimable with a fresh retry budget", again)
	}
	_ = s.DeadJob(ctx, again[0], "still bad", nil, t0)
	if err := s.DeleteDeadJob(ctx, again[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDeadJob(ctx, again[0].ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("deleting twice: %v, want ENOTFOUND", err)
	}
	if err := s.RequeueDeadJob(ctx, 424242, t0); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("requeue missing: %v, want ENOTFOUND", err)
	}
}

func testConcurrentClaim(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	const records = 40
	for i := range records {
		enqueue(t, s, fmt.Sprintf("ct_%d", i), t0)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := s.ClaimJobs(ctx, "customer-sync", 3, time.Minute, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					seen[j.RecordKey]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != records {
		t.Errorf("claimed %d records, want %d", len(seen), records)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("record %s claimed %d times", k, n)
		}
	}
}

func testLockOneContact(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Tx(ctx, func(tx synclayer.Tx) error {
				if err := tx.Lock(ctx, "email:same@example.com"); err != nil {
					return err
				}
				if _, err := tx.FindContactByEmail(ctx, "same@example.com"); err == nil {
					return nil
				}
				return tx.SaveContact(ctx, newContact("same@example.com", "", "shopify", fmt.Sprint(i)))
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list, _ := s.FindContacts(ctx, synclayer.ContactFilter{Email: "same@example.com"})
	if len(list) != 1 {
		t.Errorf("%d contacts for one email, want 1", len(list))
	}
}

func testComplete(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	enqueue(t, s, "ct_1", t0)
	jobs, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0)
	st := &synclayer.SyncState{RecordKey: "ct_1", Destination: "brevo", RemoteID: "42", State: json.RawMessage(`{"a":1}`)}
	tr := &synclayer.TraceEntry{ContactID: "ct_1", At: t0, Kind: synclayer.TraceDelivery, Summary: "POST /contacts → 201"}
	if err := s.CompleteJob(ctx, jobs[0], st, tr, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSyncState(ctx, "ct_1", "brevo")
	if err != nil || got.RemoteID != "42" || string(got.State) != `{"a":1}` {
		t.Errorf("sync state: %+v, %v", got, err)
	}
	trace, _ := s.Trace(ctx, "ct_1")
	if len(trace) != 1 || trace[0].Summary != tr.Summary {
		t.Errorf("trace: %+v", trace)
	}
	if counts, _ := s.CountJobs(ctx); counts[synclayer.JobDone] != 1 || counts[synclayer.JobRunning] != 0 {
		t.Errorf("job counts after complete: %v", counts)
	}
	if _, err := s.FindSyncState(ctx, "ct_2", "brevo"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("missing sync state: %v, want ENOTFOUND", err)
	}
}
