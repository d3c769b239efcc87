package shopify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify/shopifysim"
)

// TestList_Bulk: a full listing of 20,000 customers, above the default
// bulk_threshold, runs one bulk operation and reads its file a page at a
// time; a restarted process reads on from the cursor in the same file,
// and when the file's URL has expired it starts another operation and
// reads it from the top, the customers it brings again being the same
// events (same DedupeKey).
func TestList_Bulk(t *testing.T) {
	t.Parallel()
	const n = 20000
	sim, srv, src := mustOpenLister(t, shopifysim.Options{}, "")
	sim.SeedCustomers(n, seedFrom)
	ctx := context.Background()

	req := synclayer.ListRequest{Kind: synclayer.ListCustomers}
	keys := map[string]int{}
	var mid string
	for i := 0; i < 30; i++ {
		p, err := src.List(ctx, req)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if i == 0 && (p.Total != n || len(p.Events) != 250) {
			t.Errorf("first page: Total %d, %d events; want %d and 250", p.Total, len(p.Events), n)
		}
		if !p.More || len(p.Failed) > 0 {
			t.Fatalf("page %d: More %v, Failed %v", i, p.More, p.Failed)
		}
		for _, e := range p.Events {
			keys[e.DedupeKey]++
		}
		req.Cursor = p.Next
	}
	mid = req.Cursor
	if sim.BulkOperations() != 1 {
		t.Fatalf("%d bulk operations, want 1", sim.BulkOperations())
	}

	// A restarted backfill: another source, the same cursor.
	rest, next := listAll(t, openLister(t, srv, ""), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: mid})
	for _, e := range rest {
		keys[e.DedupeKey]++
	}
	if len(keys) != n {
		t.Errorf("%d customers listed, want %d", len(keys), n)
	}
	for k, c := range keys {
		if c != 1 {
			t.Errorf("%s listed %d times", k, c)
		}
	}
	if sim.BulkOperations() != 1 {
		t.Errorf("the resumed backfill started a bulk operation (%d in all)", sim.BulkOperations())
	}
	ranged, pages := false, 0
	for _, c := range sim.Calls() {
		if !strings.Contains(c.Path, "/bulk-results/") {
			continue
		}
		pages++
		if c.Header.Get("X-Shopify-Access-Token") != "" {
			t.Fatal("the bulk results were fetched with the access token")
		}
		ranged = ranged || strings.HasPrefix(c.Header.Get("Range"), "bytes=") && c.Header.Get("Range") != "bytes=0-"
	}
	if !ranged || pages != n/250 {
		t.Errorf("%d downloads, ranged %v; want %d, each from its page's offset", pages, ranged, n/250)
	}

	t.Run("ExpiredURLStartsAgain", func(t *testing.T) {
		sim.ExpireBulkResults()
		again, _ := listAll(t, openLister(t, srv, ""), synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: mid})
		if sim.BulkOperations() != 2 {
			t.Errorf("%d bulk operations, want a second one", sim.BulkOperations())
		}
		if len(again) != n {
			t.Errorf("%d events from the new operation, want all %d", len(again), n)
		}
		for _, e := range again {
			if keys[e.DedupeKey] != 1 {
				t.Fatalf("%s: not an event of the first operation; the same customer must dedupe", e.DedupeKey)
			}
		}
	})

	t.Run("FinishedCursorListsWhatChangedSince", func(t *testing.T) {
		sim.UpdateCustomer("1000010", func(c *shopifysim.Customer) { c.LastName = "Changed" })
		events, _ := listAll(t, src, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: next})
		if len(events) != 1 || events[0].Customer.SourceID != "1000010" {
			t.Errorf("after the bulk listing: %d events, want customer 1000010's change", len(events))
		}
		if sim.BulkOperations() != 2 {
			t.Error("listing the changes since ran a bulk operation")
		}
	})

	t.Run("ThresholdSetting", func(t *testing.T) {
		small, _, s := mustOpenLister(t, shopifysim.Options{}, `"bulk_threshold": 50`)
		small.SeedCustomers(60, seedFrom)
		events, _ := listAll(t, s, synclayer.ListRequest{Kind: synclayer.ListCustomers})
		if len(events) != 60 || small.BulkOperations() != 1 {
			t.Errorf("60 customers over bulk_threshold 50: %d events, %d operations; want 60 and 1", len(events), small.BulkOperations())
		}
		// A listing since a time pages, whatever the count.
		if _, err := s.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers, Since: seedFrom}); err != nil || small.BulkOperations() != 1 {
			t.Errorf("since: %v, %d operations", err, small.BulkOperations())
		}
	})
}

// TestList_BulkRunning: a List call waits for a running operation to
// complete, polling it, before it reads the first page; a backfill killed
// while it ran picks the same operation up instead of starting another;
// another bulk query of the app's makes it wait (Throttled).
func TestList_BulkRunning(t *testing.T) {
	t.Parallel()
	sim, srv, src := mustOpenLister(t, shopifysim.Options{BulkDuration: 2 * time.Second}, `"bulk_threshold": 5`)
	sim.SeedCustomers(10, seedFrom)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List killed while the operation runs: %v", err)
	}
	events, _ := listAll(t, openLister(t, srv, `"bulk_threshold": 5`), synclayer.ListRequest{Kind: synclayer.ListCustomers})
	if len(events) != 10 || sim.BulkOperations() != 1 {
		t.Errorf("restarted: %d events, %d operations; want 10 from the first operation", len(events), sim.BulkOperations())
	}

	t.Run("AnotherQueryOfTheApp", func(t *testing.T) {
		b, _ := json.Marshal(map[string]any{"query": `mutation r($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id } userErrors { message code } } }`,
			"variables": map[string]any{"query": `{ customers { edges { node { id } } } }`}})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/api/2025-10/graphql.json", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Access-Token", adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, err = src.List(context.Background(), synclayer.ListRequest{Kind: synclayer.ListCustomers})
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || !ra.Throttled || !strings.Contains(err.Error(), "another bulk query") {
			t.Errorf("while another bulk query runs: %v, want Throttled", err)
		}
	})
}
