package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// testConnections checks what the dashboard's connections page reads:
// when each source last sent an event, failed events counted over a
// window, and rejections summed per source with the newest reason.
func testConnections(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	event := func(source, key string, at time.Time, status synclayer.EventStatus) {
		t.Helper()
		mustTx(t, s, func(tx synclayer.Tx) error {
			return tx.InsertEvent(ctx, &synclayer.Event{Source: source, DedupeKey: key, Topic: "customers/update",
				Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: at, Status: status, Payload: []byte(`{}`)})
		})
	}
	event("shopify", "a", t0, synclayer.EventFailed)
	event("shopify", "b", t0.Add(time.Minute), "")
	event("custom", "c", t0.Add(2*time.Minute), synclayer.EventFailed)
	event("custom", "d", t0.Add(-time.Hour), synclayer.EventFailed)

	last, err := s.LastEventsReceived(ctx, "shopify", "custom", "woocommerce")
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 2 || !last["shopify"].Equal(t0.Add(time.Minute)) || !last["custom"].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("last events: %v, want shopify at +1m, custom at +2m, no woocommerce", last)
	}
	if n, err := s.CountEvents(ctx, synclayer.EventFilter{Status: synclayer.EventFailed, Since: t0}); err != nil || n != 2 {
		t.Errorf("failed events since t0: %d, %v; want 2", n, err)
	}
	if list, err := s.FindEvents(ctx, synclayer.EventFilter{Status: synclayer.EventFailed, Since: t0}); err != nil || len(list) != 2 {
		t.Errorf("failed events since t0 listed: %d, %v; want 2", len(list), err)
	}

	rs, ok := s.(synclayer.RejectionStore)
	if !ok {
		t.Fatalf("%T does not implement synclayer.RejectionStore", s)
	}
	reject := func(source string, at time.Time, msg string) {
		t.Helper()
		if err := rs.RecordRejection(ctx, &synclayer.Rejection{Source: source, ReceivedAt: at, Status: 401, Code: "unauthorized", Message: msg}, 1000); err != nil {
			t.Fatal(err)
		}
	}
	reject("custom", t0.Add(-time.Hour), "old")
	for i := range 3 {
		reject("shopify", t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("bad signature %d", i))
	}
	sums, err := rs.SummarizeRejections(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || sums[0].Source != "shopify" || sums[0].Count != 3 || sums[0].Last.Message != "bad signature 2" ||
		!sums[0].Last.ReceivedAt.Equal(t0.Add(2*time.Minute)) || sums[0].Last.Status != 401 {
		t.Errorf("rejections since t0: %+v", sums)
	}
	if sums, _ := rs.SummarizeRejections(ctx, t0.Add(-2*time.Hour)); len(sums) != 2 || sums[0].Source != "custom" || sums[0].Count != 1 {
		t.Errorf("rejections since t0-2h: %d sources, want custom then shopify", len(sums))
	}
}
