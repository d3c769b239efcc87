package backfill_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/backfill"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

// scriptedLister stands in for a platform's API: customers 0 to n-1 in
// pages of size, the cursor being the next index, after the errors
// script holds.
type scriptedLister struct {
	n, size int
	bad     int // the record that cannot be read, -1 none
	mu      sync.Mutex
	asked   []string // the cursors asked, in order
	script  []error  // errors to answer the next requests with
}

func (s *scriptedLister) Name() string { return "shop" }
func (s *scriptedLister) Parse(http.Header, []byte, time.Time) ([]*synclayer.Event, error) {
	return nil, nil
}

func (s *scriptedLister) ListKinds() []string { return []string{synclayer.ListCustomers} }

func (s *scriptedLister) List(_ context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, req.Cursor)
	if len(s.script) > 0 {
		err := s.script[0]
		s.script = s.script[1:]
		return synclayer.ListPage{}, err
	}
	from := 0
	if req.Cursor != "" {
		from, _ = strconv.Atoi(req.Cursor)
	}
	page := synclayer.ListPage{Total: s.n - from} // what is left, as Magento counts
	to := min(from+s.size, s.n)
	for i := from; i < to; i++ {
		if i == s.bad {
			page.Failed = append(page.Failed, synclayer.FieldErrorf("email", "customer %d: is not a string", i))
			continue
		}
		email, _ := json.Marshal(fmt.Sprintf("c%d@example.com", i))
		at := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
		page.Events = append(page.Events, &synclayer.Event{Source: "scripted", DedupeKey: fmt.Sprintf("scripted:customers:%d:%s", i, at.Format(time.RFC3339)),
			Topic: "customers/update", Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: time.Now(),
			Customer: &synclayer.CustomerChange{SourceID: strconv.Itoa(i), Fields: map[string]json.RawMessage{synclayer.FieldEmail: email}}})
	}
	page.Next, page.More = strconv.Itoa(to), to < s.n
	return page, nil
}

// TestAPILoader_Resume kills a listing after its third page is committed
// and runs it again: the second run asks for the fourth page first, the
// counts cover every record once, a rate limit and a 500 are waited out,
// an unreadable record is counted failed with its reason, and a rerun of
// the finished listing starts over, loading nothing twice.
func TestAPILoader_Resume(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t)
	q := synclayer.BatchQueue("customer-sync")
	in := ingest.New(ingest.Config{Store: db, Routes: []ingest.Route{{Skill: q, Destination: "brevo", Sources: []string{"shop"}}}})
	lister := &scriptedLister{n: 1050, size: 100, bad: 123}
	load := func(ctx context.Context, progress func(done, total int)) (backfill.Counts, backfill.APIResume, error) {
		l := &backfill.APILoader{Store: db, Ingester: in, Lister: lister, Source: "shop", Kinds: []string{synclayer.ListCustomers},
			Checkpoint: "backfill:customer-sync:api:shop", RetryWait: time.Millisecond,
			Progress: func(kind string, c backfill.Counts, done, total int) {
				if total != 1050 {
					t.Errorf("progress of %s: total %d, want the first page's 1050", kind, total)
				}
				if progress != nil {
					progress(done, total)
				}
			}}
		return l.Load(ctx)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, r, err := load(ctx, func(done, _ int) {
		if done == 300 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || c.Read != 300 || r.Pages != 0 {
		t.Fatalf("killed run: %+v, %+v, %v; want 300 read and context.Canceled", c, r, err)
	}

	lister.mu.Lock()
	lister.asked = nil
	lister.script = []error{synclayer.Throttled(errors.New("429"), time.Millisecond), errors.New("500 Internal Server Error")}
	lister.mu.Unlock()
	c, r, err = load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pages != 3 || r.Kind != synclayer.ListCustomers {
		t.Errorf("resumed at %+v, want after page 3 of customers", r)
	}
	if got := strings.Join(lister.asked[:4], ","); got != "300,300,300,400" {
		t.Errorf("cursors asked %s, want page 4 (300) asked three times (429, 500, then the page), then page 5", got)
	}
	if c.Read != 1050 || c.Written != 1049 || c.Failed != 1 || c.Skipped != 0 {
		t.Errorf("counts %+v, want read 1050, written 1049, failed 1", c)
	}
	if len(c.Failures) != 1 || !strings.Contains(c.Failures[0].Reason, "customer 123") {
		t.Errorf("failures %+v, want customer 123's reason", c.Failures)
	}
	if n, _ := db.CountPending(context.Background(), q); n != 1049 {
		t.Errorf("%d jobs on the batch queue, want one per customer (1049)", n)
	}

	// Finished: a rerun lists from the start, and every record is a duplicate.
	lister.mu.Lock()
	lister.asked = nil
	lister.mu.Unlock()
	c, r, err = load(context.Background(), nil)
	if err != nil || r.Finished.IsZero() || r.Pages != 0 || lister.asked[0] != "" {
		t.Fatalf("rerun: %+v, %v; want it to start over from a finished checkpoint", r, err)
	}
	if c.Read != 1050 || c.Written != 0 || c.Skipped != 1049 {
		t.Errorf("rerun counts %+v, want every record skipped", c)
	}

	// A permanent error stops at once.
	lister.mu.Lock()
	lister.asked = nil
	lister.script = []error{synclayer.Permanent(synclayer.FieldErrorf("access_token", "was refused"))}
	lister.mu.Unlock()
	l := &backfill.APILoader{Store: db, Ingester: in, Lister: lister, Source: "shop", Kinds: []string{synclayer.ListCustomers},
		Checkpoint: "backfill:customer-sync:api:other", RetryWait: time.Millisecond}
	if _, _, err := l.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "access_token") || len(lister.asked) != 1 {
		t.Errorf("permanent error: %v after %d requests, want it returned after one", err, len(lister.asked))
	}
}
