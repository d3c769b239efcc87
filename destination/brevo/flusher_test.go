package brevo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
	"synclayer/skill"
	"synclayer/store/storetest"
)

func sim(t *testing.T) (*brevosim.Server, *brevo.Client) {
	t.Helper()
	s := brevosim.New(brevosim.Options{APIKey: "k", Validate: brevospec.Load(t).Validate, OtherHourlyLimit: 100, HourlyWindow: time.Minute})
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		for _, v := range s.Violations() {
			t.Errorf("request violates Brevo's spec: %s", v)
		}
	})
	return s, brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"})
}

// TestFlusher_CommerceLimits queues more orders and products than one
// batch call takes: they go out in calls of at most 1,000 orders and 100
// products, and a second flush finds nothing changed.
func TestFlusher_CommerceLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	s, client := sim(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		for i := range 1201 {
			o := &synclayer.Order{ID: fmt.Sprintf("shopify:%d", i), Source: "shopify", SourceID: fmt.Sprint(i), Status: synclayer.OrderPaid,
				Total: synclayer.MustMoney("10.00"), CreatedAt: now, UpdatedAt: now}
			if err := tx.SaveOrder(ctx, o); err != nil {
				return err
			}
			if err := tx.EnqueueJob(ctx, synclayer.BatchQueue(skill.OrderEventsName), "brevo", o.ID, now); err != nil {
				return err
			}
		}
		for i := range 150 {
			p := &synclayer.Product{ID: fmt.Sprintf("shopify:p%d", i), Name: fmt.Sprintf("P%d", i), Price: synclayer.MustMoney("2.50")}
			if err := tx.SaveProduct(ctx, p); err != nil {
				return err
			}
			if err := tx.EnqueueJob(ctx, synclayer.BatchQueue(skill.ProductCatalogName), "brevo", p.ID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	orders := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.OrderEventsName, Orders: &brevo.OrderEvents{Store: db, Client: client}, MaxSize: -1, Historical: true})
	products := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.ProductCatalogName, Products: &brevo.ProductCatalog{Store: db, Client: client}, MaxSize: -1})
	for _, f := range []*brevo.Flusher{orders, products} {
		st, err := f.Drain(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Failed != 0 || st.Batched == 0 {
			t.Errorf("%s: %+v", f.Queue(), st)
		}
	}
	if got := len(s.Orders()); got != 1201 {
		t.Errorf("%d orders in Brevo, want 1201", got)
	}
	if n := s.CallCount("POST", "/orders/status/batch"); n != 2 {
		t.Errorf("%d order batch calls, want 2 (1,000 and 201)", n)
	}
	if got, n := len(s.Products()), s.CallCount("POST", "/products/batch"); got != 150 || n != 2 {
		t.Errorf("%d products in %d calls, want 150 in 2", got, n)
	}
	if o, _ := s.OrderByID("shopify:7"); !o.Historical || o.Amount != "10.00" {
		t.Errorf("order %+v", o)
	}
	// Everything is recorded as sent: queueing it all again sends nothing.
	calls := len(s.Calls())
	for _, q := range []string{"orders", "products"} {
		sk := map[string]string{"orders": skill.OrderEventsName, "products": skill.ProductCatalogName}[q]
		if _, err := db.EnqueueAll(ctx, q, synclayer.BatchQueue(sk), "brevo", now); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []*brevo.Flusher{orders, products} {
		st, err := f.Drain(ctx, nil)
		if err != nil || st.Batched != 0 || st.Unchanged == 0 {
			t.Errorf("second drain of %s: %+v, %v", f.Queue(), st, err)
		}
	}
	if extra := len(s.Calls()) - calls; extra != 0 {
		t.Errorf("%d calls for records Brevo already holds", extra)
	}
}

// seedContacts saves n subscribed contacts c0@example.com… with a job
// each on customer-sync's batch queue, and returns their IDs.
func seedContacts(t *testing.T, db synclayer.Store, n int, now time.Time) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		for i := range n {
			c := &synclayer.Contact{CreatedAt: now, UpdatedAt: now}
			synclayer.Merge(c, &synclayer.CustomerChange{
				Fields:       map[string]json.RawMessage{synclayer.FieldEmail: json.RawMessage(fmt.Sprintf(`"c%d@example.com"`, i))},
				EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: now},
			}, synclayer.MergeContext{Source: "shopify", At: now})
			if err := tx.SaveContact(ctx, c); err != nil {
				return err
			}
			ids = append(ids, c.ID)
			if err := tx.EnqueueJob(ctx, synclayer.BatchQueue(skill.CustomerSyncName), "brevo", c.ID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestFlusher_RefusedImportIsDeadLettered refuses the whole import with a
// 400: retrying cannot fix a list that does not exist, so its contacts are
// dead-lettered at once with Brevo's message, not retried with backoff.
func TestFlusher_RefusedImportIsDeadLettered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":"invalid_parameter","message":"List ID(s) 5 do not exist"}`)
	}))
	t.Cleanup(hs.Close)
	client := brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"})
	now := time.Now()
	seedContacts(t, db, 3, now)
	f := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.CustomerSyncName,
		Contacts: &brevo.ContactSync{Store: db, Client: client, ListID: 5, FieldMapping: map[string]string{"email": "email"}}, ImportListID: 9})
	st, err := f.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 3 || st.Calls != 0 {
		t.Errorf("stats %+v, want 3 failed and no accepted call", st)
	}
	dead, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 3 {
		t.Fatalf("%d dead jobs, want 3", len(dead))
	}
	for _, j := range dead {
		if !strings.Contains(j.LastError, "List ID(s) 5 do not exist") {
			t.Errorf("job %s: last error %q lacks Brevo's message", j.RecordKey, j.LastError)
		}
	}
	if n, _ := db.CountPending(ctx, f.Queue()); n != 0 {
		t.Errorf("%d jobs still pending or running: a refused import must not be retried", n)
	}
}

// TestFlusher_OptOutDuringImportWins opts a contact out, through the
// realtime path, while the import that carries it is on its way to Brevo:
// completing the import keeps the opt-out's sync state and queues the
// contact on the realtime queue, which then takes it out of the list the
// import added it to.
func TestFlusher_OptOutDuringImportWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	s := brevosim.New(brevosim.Options{APIKey: "k", Validate: brevospec.Load(t).Validate})
	var client *brevo.Client
	var rt *skill.CustomerSync
	var ids []string
	var optedOut atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/contacts/import") && optedOut.CompareAndSwap(false, true) {
			// The opt-out arrives and the realtime worker delivers it
			// before Brevo answers the import.
			optOut(t, db, rt, ids[1])
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	client = brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"})
	// The realtime worker has a client of its own, as in a running server.
	rt = &skill.CustomerSync{Store: db, Destination: "brevo", Sync: &brevo.ContactSync{Client: brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"}), ListID: 5, FieldMapping: map[string]string{"email": "email"}}}
	ids = seedContacts(t, db, 3, time.Now().Add(-time.Hour))
	f := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.CustomerSyncName,
		Contacts: &brevo.ContactSync{Store: db, Client: client, ListID: 5, FieldMapping: map[string]string{"email": "email"}}, ImportListID: 9, PollMin: time.Millisecond})
	if _, err := f.Drain(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The import applied after the opt-out and put c1 in list 5; the
	// realtime queue must hold c1 again, to take it out.
	jobs, err := db.ClaimJobs(ctx, skill.CustomerSyncName, 10, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].RecordKey != ids[1] {
		t.Fatalf("realtime jobs %+v, want one for c1", jobs)
	}
	state, trace, err := rt.Handle(ctx, jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteJob(ctx, jobs[0], state, trace, time.Now()); err != nil {
		t.Fatal(err)
	}
	c, ok := s.ContactByEmail("c1@example.com")
	if !ok || !c.EmailBlacklisted || slices.Contains(c.ListIDs, 5) {
		t.Errorf("opted-out c1 in Brevo: %+v, want blocklisted and in no list", c)
	}
	if c, _ := s.ContactByEmail("c2@example.com"); !slices.Contains(c.ListIDs, 5) {
		t.Errorf("c2 in Brevo: %+v, want in list 5", c)
	}
}

// optOut unsubscribes contact id and delivers it as the realtime worker
// would: a job on the realtime queue, Handle, CompleteJob.
func optOut(t *testing.T, db synclayer.Store, rt *skill.CustomerSync, id string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		c, err := tx.FindContactByID(ctx, id)
		if err != nil {
			return err
		}
		synclayer.Merge(c, &synclayer.CustomerChange{EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: now}},
			synclayer.MergeContext{Source: "shopify", At: now})
		c.UpdatedAt = now
		if err := tx.SaveContact(ctx, c); err != nil {
			return err
		}
		return tx.EnqueueJob(ctx, skill.CustomerSyncName, "brevo", id, now)
	})
	if err != nil {
		t.Error(err)
		return
	}
	jobs, err := db.ClaimJobs(ctx, skill.CustomerSyncName, 1, time.Minute, now)
	if err != nil || len(jobs) != 1 {
		t.Errorf("claim the opt-out: %v, %d jobs", err, len(jobs))
		return
	}
	state, trace, err := rt.Handle(ctx, jobs[0])
	if err == nil {
		err = db.CompleteJob(ctx, jobs[0], state, trace, time.Now())
	}
	if err != nil {
		t.Errorf("deliver the opt-out: %v", err)
	}
}

// TestFlusher_ImportThatSkippedRowsRecordsNoState imports a contact whose
// email Brevo finds invalid beside a valid one: the completed process
// only counts what it skipped, so no contact of that import may be
// recorded as delivered, or a resync would never send the skipped one.
func TestFlusher_ImportThatSkippedRowsRecordsNoState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	s, client := sim(t)
	ids := seedContacts(t, db, 2, time.Now())
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		c, err := tx.FindContactByID(ctx, ids[1])
		if err != nil {
			return err
		}
		// synclayer takes it; Brevo wants a dot in the domain.
		synclayer.Merge(c, &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: json.RawMessage(`"c1@localhost"`)}},
			synclayer.MergeContext{Source: "shopify", At: time.Now()})
		return tx.SaveContact(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	f := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.CustomerSyncName,
		Contacts: &brevo.ContactSync{Store: db, Client: client, ListID: 5, FieldMapping: map[string]string{"email": "email"}}, ImportListID: 9, PollMin: time.Millisecond})
	if _, err := f.Drain(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if imps := s.Imports(); len(imps) != 1 || imps[0].InvalidEmails != 1 {
		t.Fatalf("imports %+v, want one that skipped an invalid email", imps)
	}
	for _, id := range ids {
		if st, err := db.FindSyncState(ctx, id, "brevo"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("%s recorded as delivered after an import that skipped rows: %+v, %v", id, st, err)
		}
	}
	if n, _ := db.CountPending(ctx, f.Queue()); n != 0 {
		t.Errorf("%d jobs left: the import is still done", n)
	}
}

// TestFlusher_CheckSettlesLeftoverBatchWithoutBrevo leaves behind a batch
// done at the call, as a crash between recording and settling it would:
// Check puts its jobs back without asking Brevo about a process that
// cannot exist, which would fail every later check.
func TestFlusher_CheckSettlesLeftoverBatchWithoutBrevo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Check called Brevo: %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
	}))
	t.Cleanup(hs.Close)
	client := brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"})
	now := time.Now()
	seedContacts(t, db, 2, now)
	q := synclayer.BatchQueue(skill.CustomerSyncName)
	jobs, err := db.ClaimJobs(ctx, q, 10, time.Minute, now)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claim: %d, %v", len(jobs), err)
	}
	var items []synclayer.ImportItem
	for _, j := range jobs {
		items = append(items, synclayer.NewImportItem(j, nil, j.RecordKey))
	}
	for _, id := range []string{"at-call:none", "refused"} {
		imp := &synclayer.Import{Skill: skill.CustomerSyncName, Queue: q, ProcessID: id, Summary: "x", CreatedAt: now, CheckAt: now}
		if err := db.AddImport(ctx, imp, items[:1], now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		items = items[1:]
	}
	f := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.CustomerSyncName,
		Contacts: &brevo.ContactSync{Store: db, Client: client, ListID: 5, FieldMapping: map[string]string{"email": "email"}}, ImportListID: 9})
	pending, err := f.Check(ctx)
	if err != nil || pending != 0 {
		t.Fatalf("Check: %d pending, %v; want the leftovers settled", pending, err)
	}
	again, err := db.ClaimJobs(ctx, q, 10, time.Minute, now.Add(time.Hour))
	if err != nil || len(again) != 2 {
		t.Errorf("%d jobs back in the queue (%v), want 2", len(again), err)
	}
}

// TestFlusher_RetryWindowEnds fails a contact's realtime delivery with a
// 5xx a day after its change: like the realtime queue, the flusher
// dead-letters it rather than retrying it for ever.
func TestFlusher_RetryWindowEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(hs.Close)
	client := brevo.New(brevo.Config{APIKey: "k", BaseURL: hs.URL + "/v3"})
	now := time.Now()
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		c := &synclayer.Contact{CreatedAt: now, UpdatedAt: now}
		synclayer.Merge(c, &synclayer.CustomerChange{
			Fields:       map[string]json.RawMessage{synclayer.FieldEmail: json.RawMessage(`"ann@example.com"`)},
			EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentNone, At: now},
		}, synclayer.MergeContext{Source: "shopify", At: now})
		if err := tx.SaveContact(ctx, c); err != nil {
			return err
		}
		return tx.EnqueueJob(ctx, synclayer.BatchQueue(skill.CustomerSyncName), "brevo", c.ID, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	// No marketing consent and no import list: the contact goes realtime.
	f := brevo.NewFlusher(brevo.FlusherConfig{Store: db, Client: client, Skill: skill.CustomerSyncName,
		Contacts: &brevo.ContactSync{Store: db, Client: client, ListID: 5, FieldMapping: map[string]string{"email": "email"}},
		Now:      func() time.Time { return now.Add(25 * time.Hour) }})
	if _, err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dead, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead})
	if err != nil || len(dead) != 1 || !strings.Contains(dead[0].LastError, "retry window of 24h0m0s ended") {
		t.Errorf("dead jobs %+v (%v): want the contact dead-lettered after its retry window", dead, err)
	}
}
