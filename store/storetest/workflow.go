package storetest

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"synclayer"
)

// testWorkflowActions: an action row is stored once per rule, action and
// trigger key, however many transactions try, and its job and done marker
// work as any other record's.
func testWorkflowActions(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	row := func(rule string, action int, key string) *synclayer.WorkflowAction {
		return &synclayer.WorkflowAction{Rule: rule, Action: action, Kind: "slack", Fingerprint: "fp-" + rule, TriggerType: synclayer.EventOrderCreated,
			TriggerKey: key, EventID: "ev_1", ContactID: "ct_1", View: json.RawMessage(`{"order":{"id":"shopify:1","total":500.5}}`), CreatedAt: t0}
	}
	first := row("high-value-order", 0, "shopify:1")
	var added bool
	mustTx(t, s, func(tx synclayer.Tx) (err error) {
		added, err = tx.AddWorkflowAction(ctx, first)
		if err == nil && added {
			err = tx.EnqueueJob(ctx, synclayer.WorkflowSkill, "slack", strconv.FormatInt(first.ID, 10), t0)
		}
		return err
	})
	if !added || first.ID == 0 {
		t.Fatalf("first insert: added %v, id %d; want a new row", added, first.ID)
	}

	// The same trigger again, from two transactions at once: nothing new.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again := row("high-value-order", 0, "shopify:1")
			err := s.Tx(ctx, func(tx synclayer.Tx) error {
				ok, err := tx.AddWorkflowAction(ctx, again)
				if ok {
					t.Errorf("a repeated trigger stored a second row %d", again.ID)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Another action of the rule, another rule, another key, another
	// trigger type with the same key (the rule's trigger was changed):
	// each new.
	otherType := row("high-value-order", 0, "shopify:1")
	otherType.TriggerType = synclayer.EventOrderCancelled
	for _, r := range []*synclayer.WorkflowAction{row("high-value-order", 1, "shopify:1"), row("vip", 0, "shopify:1"), row("high-value-order", 0, "shopify:2"), otherType} {
		mustTx(t, s, func(tx synclayer.Tx) (err error) {
			if added, err = tx.AddWorkflowAction(ctx, r); err == nil && !added {
				t.Errorf("row %s/%d/%s was refused", r.Rule, r.Action, r.TriggerKey)
			}
			return err
		})
	}

	got, err := s.FindWorkflowAction(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != first.Rule || got.Kind != "slack" || got.Fingerprint != "fp-high-value-order" || got.TriggerKey != "shopify:1" || got.ContactID != "ct_1" || got.EventID != "ev_1" ||
		got.TriggerType != synclayer.EventOrderCreated || !got.CreatedAt.Equal(t0) || string(got.View) != string(first.View) {
		t.Errorf("stored row %+v, want %+v", got, first)
	}
	if _, err := s.FindWorkflowAction(ctx, first.ID+100); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("missing row: err %v, want ENOTFOUND", err)
	}
	list, err := s.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: "high-value-order"})
	if err != nil || len(list) != 4 || list[0].ID < list[3].ID {
		t.Errorf("rows of high-value-order: %d (%v), want 4, newest first", len(list), err)
	}
	if list, _ := s.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{Rule: "high-value-order", TriggerKey: "shopify:1"}); len(list) != 3 {
		t.Errorf("rows of high-value-order for shopify:1: %d, want 3", len(list))
	}
	if list, _ := s.FindWorkflowActions(ctx, synclayer.WorkflowActionFilter{ContactID: "ct_2"}); len(list) != 0 {
		t.Errorf("rows of another contact: %d, want 0", len(list))
	}
	// The round-robin turn: rows of the rule's action config before one.
	for _, tt := range []struct {
		before int64
		want   int
	}{{first.ID, 0}, {list[0].ID, 3}, {list[0].ID + 1, 4}} {
		if n, err := s.CountWorkflowActions(ctx, "high-value-order", "fp-high-value-order", tt.before); err != nil || n != tt.want {
			t.Errorf("CountWorkflowActions before %d = %d (%v), want %d", tt.before, n, err, tt.want)
		}
	}
	if n, _ := s.CountWorkflowActions(ctx, "high-value-order", "fp-other", list[0].ID+1); n != 0 {
		t.Errorf("CountWorkflowActions of another config = %d, want 0", n)
	}

	// One job for the row; completing it with its done marker keeps both.
	jobs, err := s.ClaimJobs(ctx, synclayer.WorkflowSkill, 10, 30e9, t0)
	if err != nil || len(jobs) != 1 || jobs[0].RecordKey != strconv.FormatInt(first.ID, 10) {
		t.Fatalf("claimed %v (%v), want the one job of row %d", jobs, err, first.ID)
	}
	done := &synclayer.SyncState{RecordKey: jobs[0].RecordKey, Destination: synclayer.WorkflowSkill, State: json.RawMessage(`{"done":true}`)}
	if err := s.CompleteJob(ctx, jobs[0], done, nil, t0); err != nil {
		t.Fatal(err)
	}
	if st, err := s.FindSyncState(ctx, jobs[0].RecordKey, synclayer.WorkflowSkill); err != nil || string(st.State) != `{"done":true}` {
		t.Errorf("done marker: %v, %v", st, err)
	}
}
