package mailchimp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/skill"
	"synclayer/store/storetest"
)

// taggedContacts are n new contacts without consent, each with two tags,
// as Shopify customers carry them.
func taggedContacts(n int) []*synclayer.Contact {
	var out []*synclayer.Contact
	for i := range n {
		c := contact(fmt.Sprintf("t%03d@example.com", i), synclayer.ConsentUnknown,
			map[string]any{"firstName": fmt.Sprintf("T%d", i), "tags": wantTags(i)})
		c.ID = fmt.Sprintf("c%03d", i)
		out = append(out, c)
	}
	return out
}

func wantTags(i int) []string { return []string{"shopify", fmt.Sprintf("tier-%d", i%3)} }

// batchesBy splits the simulator's batches into member-PUT batches and
// tag batches, failing t on a batch that mixes them.
func batchesBy(t *testing.T, e *env) (puts, tags []mailchimpsim.BatchInfo) {
	t.Helper()
	for _, b := range e.sim.Batches() {
		var put, tag int
		for _, op := range b.Operations {
			switch {
			case op.Method == "PUT" && !strings.HasSuffix(op.Path, "/tags"):
				put++
			case op.Method == "POST" && strings.HasSuffix(op.Path, "/tags"):
				tag++
			default:
				t.Fatalf("batch %s has operation %s %s", b.ID, op.Method, op.Path)
			}
		}
		switch {
		case put > 0 && tag > 0:
			t.Fatalf("batch %s mixes %d PUTs and %d tag POSTs", b.ID, put, tag)
		case put > 0:
			puts = append(puts, b)
		default:
			tags = append(tags, b)
		}
	}
	return puts, tags
}

// checkTagged fails t unless every contact's member exists with exactly
// its tags, each once.
func checkTagged(t *testing.T, e *env, contacts []*synclayer.Contact) {
	t.Helper()
	for i, c := range contacts {
		m := member(t, e, c.Email)
		got := slices.Sorted(slices.Values(m.Tags))
		if want := slices.Sorted(slices.Values(wantTags(i))); !slices.Equal(got, want) || m.Status != "transactional" {
			t.Fatalf("member %s: status %s, tags %v, want transactional with %v", c.Email, m.Status, m.Tags, want)
		}
	}
}

// TestContactSync_Batch_TaggedTwoPhases: 300 tagged new contacts are
// rows, and go in two batch calls, the member PUTs and then the tag
// POSTs, with no per-contact request; every member ends with its tags.
func TestContactSync_Batch_TaggedTwoPhases(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	cs.SetBatchPoll(time.Millisecond, 5*time.Millisecond)
	contacts := taggedContacts(300)
	rows := batchOf(t, cs, contacts, nil)
	var first map[string]any
	json.Unmarshal(rows[0], &first)
	if _, ok := first["tags"]; !ok || first["status"] != nil || first["status_if_new"] != "transactional" {
		t.Fatalf("row = %s, want the PUT body and its tags", rows[0])
	}
	before := len(e.sim.Calls())
	id, err := cs.SendBatch(context.Background(), "", rows)
	if err != nil || id == "" {
		t.Fatalf("send: id %q, err %v", id, err)
	}
	refused, _ := waitBatch(t, cs, id)
	if len(refused) != 0 {
		t.Fatalf("refused = %v", refused)
	}
	puts, tags := batchesBy(t, e)
	if len(puts) != 1 || len(tags) != 1 || len(puts[0].Operations) != 300 || len(tags[0].Operations) != 300 {
		t.Fatalf("%d PUT batches and %d tag batches, want one of 300 each", len(puts), len(tags))
	}
	if puts[0].Status != "finished" || e.sim.Batches()[0].ID != puts[0].ID {
		t.Fatal("the tags batch was submitted before the member batch finished")
	}
	for i, op := range tags[0].Operations {
		if op.OperationID == nil || *op.OperationID != fmt.Sprint(i) || !strings.Contains(op.Path, mailchimp.SubscriberHash(contacts[i].Email)) ||
			!strings.Contains(op.Body, `"is_syncing":true`) {
			t.Fatalf("tag operation %d = %+v", i, op)
		}
	}
	checkTagged(t, e, contacts)
	for _, c := range e.sim.Calls()[before:] {
		if strings.HasPrefix(c.Path, "/lists/") {
			t.Fatalf("a per-contact request: %s %s", c.Method, c.Path)
		}
	}
	if v := e.sim.Violations(); len(v) > 0 {
		t.Fatalf("spec violations: %v", v)
	}
}

// TestContactSync_Batch_PutFailedGetsNoTags: a row whose PUT fails in
// the member batch gets no tag operation and is refused, with its PUT's
// error, so the flusher sends it again realtime as before.
func TestContactSync_Batch_PutFailedGetsNoTags(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	cs.SetBatchPoll(time.Millisecond, 5*time.Millisecond)
	contacts := taggedContacts(6)
	rows := batchOf(t, cs, contacts, nil)
	var bad map[string]any
	json.Unmarshal(rows[4], &bad)
	bad["merge_fields"] = map[string]any{"NOPE": "x"}
	rows[4] = raw(bad)
	id, err := cs.SendBatch(context.Background(), "", rows)
	if err != nil {
		t.Fatal(err)
	}
	refused, _ := waitBatch(t, cs, id)
	if len(refused) != 1 || !strings.Contains(refused[4], "PUT") || !strings.Contains(refused[4], "Invalid Resource") {
		t.Fatalf("refused = %v", refused)
	}
	_, tags := batchesBy(t, e)
	if len(tags) != 1 || len(tags[0].Operations) != 5 {
		t.Fatalf("tag batches %+v, want one of 5 operations", tags)
	}
	for _, op := range tags[0].Operations {
		if *op.OperationID == "4" || strings.Contains(op.Path, mailchimp.SubscriberHash(contacts[4].Email)) {
			t.Fatalf("the row whose PUT failed got a tag operation: %+v", op)
		}
	}
	if _, ok := e.sim.MemberOf(audience, contacts[4].Email); ok {
		t.Fatal("the refused row was applied")
	}
	t.Run("CheckedAfterARestart", func(t *testing.T) {
		// Another ContactSync (a restart) reads the job ID alone.
		other := newSync(t, e, false)
		done, refused, err := other.CheckBatch(context.Background(), id)
		if err != nil || !done || len(refused) != 1 || refused[4] == "" {
			t.Fatalf("done %v, refused %v, err %v", done, refused, err)
		}
	})
}

// TestContactFlusher_MailchimpTagged drives the shared flusher: 300
// tagged contacts and one whose PUT Mailchimp refuses (a permanently
// deleted address) go in one member batch and one tags batch; the
// refused one gets no tag operation and is sent realtime, where its own
// error dead-letters it as before. Then a stop between the phases and a
// rerun: each member ends tagged once.
func TestContactFlusher_MailchimpTagged(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	cs.SetBatchPoll(time.Millisecond, 5*time.Millisecond)
	// The forgotten address: delivered, then permanently deleted, by a
	// ContactSync the store does not hear of.
	hard := newSync(t, e, true)
	gone := contact("gone@example.com", synclayer.ConsentNone, map[string]any{"tags": []string{"x"}})
	_, st := deliver(t, hard, gone, nil)
	gone.Deleted = true
	deliver(t, hard, gone, st)

	db := storetest.OpenSQLite(t)
	const queue = "customer-sync@mailchimp"
	enqueue := func(contacts []*synclayer.Contact) (ids []string) {
		now := time.Now()
		for _, c := range contacts {
			k := &synclayer.Contact{}
			fields := map[string]json.RawMessage{}
			for name, f := range c.Fields {
				fields[name] = f.Value
			}
			synclayer.Merge(k, &synclayer.CustomerChange{SourceID: c.ID, Fields: fields}, synclayer.MergeContext{Source: "shopify", At: now})
			if err := db.Tx(ctx, func(tx synclayer.Tx) error {
				if err := tx.SaveContact(ctx, k); err != nil {
					return err
				}
				return tx.EnqueueJob(ctx, synclayer.BatchQueue(queue), "mailchimp", k.ID, now)
			}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, k.ID)
		}
		return ids
	}
	contacts := taggedContacts(300)
	gone.Deleted, gone.ID = false, "gone"
	goneID := enqueue(append(slices.Clone(contacts), gone))[300]

	f := &skill.ContactFlusher{Store: db, Destination: "mailchimp", Batcher: cs, RealtimeQueue: queue,
		PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond, MaxAge: time.Hour, Lease: 300 * time.Millisecond}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	before := len(e.sim.Calls())
	stats, err := f.Drain(dctx, nil)
	if err != nil {
		t.Fatalf("drain: %v (%+v)", err, stats)
	}
	puts, tags := batchesBy(t, e)
	if len(puts) != 1 || len(tags) != 1 || len(puts[0].Operations) != 301 || len(tags[0].Operations) != 300 {
		t.Fatalf("%d PUT batches (the last of %d), %d tag batches; want one of 301, one of 300 tags",
			len(puts), len(puts[len(puts)-1].Operations), len(tags))
	}
	for _, op := range tags[0].Operations {
		if strings.Contains(op.Path, mailchimp.SubscriberHash(gone.Email)) {
			t.Fatal("the refused row got a tag operation")
		}
	}
	checkTagged(t, e, contacts)
	dead, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Limit: 10})
	if err != nil || len(dead) != 1 || dead[0].RecordKey != goneID || !strings.Contains(dead[0].LastError, "Forgotten") {
		t.Fatalf("dead jobs %+v (%v), want only the refused contact's, dead-lettered by its realtime attempt", dead, err)
	}
	if stats.Batched != 301 || stats.Calls != 1 {
		t.Errorf("stats %+v", stats)
	}
	perContact := 0
	for _, c := range e.sim.Calls()[before:] {
		if strings.HasPrefix(c.Path, "/lists/") {
			perContact++ // the refused contact's realtime attempt only
		}
	}
	if perContact > 3 {
		t.Errorf("%d per-contact requests; want only the refused contact's realtime attempt", perContact)
	}

	t.Run("StopBetweenPhases", func(t *testing.T) {
		more := taggedContacts(350)[300:]
		ids := enqueue(more)
		e.sim.HoldBatches(true)
		sctx, stop := context.WithTimeout(ctx, 200*time.Millisecond)
		defer stop()
		if _, err := f.Drain(sctx, nil); err == nil {
			t.Fatal("the drain did not stop")
		}
		_, tags := batchesBy(t, e)
		if len(tags) != 1 {
			t.Fatal("a tags batch went out before its member batch finished")
		}
		// Mailchimp runs the member batch after all; the rerun sends it
		// again, then the tags.
		e.sim.FinishBatches()
		e.sim.HoldBatches(false)
		time.Sleep(f.Lease + 50*time.Millisecond)
		if _, err := f.Drain(dctx, nil); err != nil {
			t.Fatal(err)
		}
		puts, tags := batchesBy(t, e)
		if len(puts) != 3 || len(tags) != 2 || len(tags[1].Operations) != 50 {
			t.Fatalf("%d PUT batches, %d tag batches; want 3 and 2 (of 50)", len(puts), len(tags))
		}
		for i, c := range more {
			m := member(t, e, c.Email)
			if want := slices.Sorted(slices.Values(wantTags(300 + i))); !slices.Equal(slices.Sorted(slices.Values(m.Tags)), want) {
				t.Fatalf("member %s tags %v, want %v once each", c.Email, m.Tags, want)
			}
			if _, err := db.FindSyncState(ctx, ids[i], "mailchimp"); err != nil {
				t.Fatalf("contact %s has no sync state after the rerun: %v", ids[i], err)
			}
		}
	})
	if v := e.sim.Violations(); len(v) > 0 {
		t.Fatalf("spec violations: %v", v)
	}
}

// TestContactSync_Batch_TagFailureIsRefused: a member permanently deleted
// between the phases has its tag POST answered 404 in the tags batch;
// CheckBatch refuses that row (sent again realtime) and only it.
func TestContactSync_Batch_TagFailureIsRefused(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	cs.SetBatchPoll(time.Millisecond, 5*time.Millisecond)
	contacts := taggedContacts(3)
	rows := batchOf(t, cs, contacts, nil)
	e.sim.HoldBatches(true)
	type sent struct {
		id  string
		err error
	}
	out := make(chan sent, 1)
	go func() {
		id, err := cs.SendBatch(context.Background(), "", rows)
		out <- sent{id, err}
	}()
	for len(e.sim.Batches()) == 0 {
		time.Sleep(time.Millisecond)
	}
	e.sim.FinishBatches() // the member batch runs; the tags batch is not sent yet
	if err := e.client.DeleteMemberPermanent(context.Background(), audience, mailchimp.SubscriberHash(contacts[1].Email)); err != nil {
		t.Fatal(err)
	}
	r := <-out
	if r.err != nil {
		t.Fatal(r.err)
	}
	e.sim.HoldBatches(false)
	refused, _ := waitBatch(t, cs, r.id)
	if len(refused) != 1 || !strings.Contains(refused[1], "POST /lists/{list_id}/members/{subscriber_hash}/tags") {
		t.Fatalf("refused = %v", refused)
	}
	if m := member(t, e, contacts[2].Email); len(m.Tags) != 2 {
		t.Fatalf("member 2 = %+v", m)
	}
}

// TestContactSync_Batch_TagsOnlyRows: members Mailchimp holds whose tags
// alone change are tags-only rows: no PUT, one tag POST each in the tags
// batch, beside new tagged contacts' PUTs and tags.
func TestContactSync_Batch_TagsOnlyRows(t *testing.T) {
	e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
	cs := newSync(t, e, false)
	cs.SetBatchPoll(time.Millisecond, 5*time.Millisecond)
	contacts := taggedContacts(5)
	prev := make([]json.RawMessage, 5)
	for i := range 3 {
		c := contact(contacts[i].Email, synclayer.ConsentUnknown, map[string]any{"firstName": fmt.Sprintf("T%d", i), "tags": []string{"old"}})
		_, prev[i] = deliver(t, cs, c, nil)
	}
	rows := batchOf(t, cs, contacts, prev)
	id, err := cs.SendBatch(context.Background(), "", rows)
	if err != nil {
		t.Fatal(err)
	}
	if refused, _ := waitBatch(t, cs, id); len(refused) != 0 {
		t.Fatalf("refused = %v", refused)
	}
	puts, tags := batchesBy(t, e)
	if len(puts) != 1 || len(puts[0].Operations) != 2 || *puts[0].Operations[0].OperationID != "3" || len(tags) != 1 || len(tags[0].Operations) != 5 {
		t.Fatalf("PUT batches %+v, tag batches %+v; want one PUT batch of rows 3 and 4, one tags batch of 5", puts, tags)
	}
	checkTagged(t, e, contacts)
}
