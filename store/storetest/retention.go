package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"synclayer"
)

// pruneStore is the part of the store retention uses, beyond Store.
type pruneStore interface {
	synclayer.NotificationStore
	MarkFailedEvents()
	PruneHistory(ctx context.Context, before time.Time, batch int) (events, trace int, err error)
}

// testPruneHistory: pruning in batches smaller than the rows deletes the
// final events and the trace entries older than the cutoff, and nothing
// else: an event still to be read by the notifier (or without a final
// status), each source's newest event, newer events and trace entries,
// and the contact stay; a trace entry whose event was pruned reads the
// same.
func testPruneHistory(t *testing.T, s synclayer.Store) {
	ps, ok := s.(pruneStore)
	if !ok {
		t.Skip("the store cannot prune")
	}
	ctx := context.Background()
	cut := t0
	old := cut.Add(-100 * 24 * time.Hour)
	ps.MarkFailedEvents()
	c := newContact("ann@example.com", "", "shopify", "101")
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })

	add := func(source, key string, status synclayer.EventStatus, at time.Time) *synclayer.Event {
		t.Helper()
		ev := &synclayer.Event{Source: source, DedupeKey: key, Topic: "customers/update", Type: synclayer.EventCustomerUpdated,
			OccurredAt: at, ReceivedAt: at, ContactID: c.ID}
		mustTx(t, s, func(tx synclayer.Tx) error {
			if err := tx.InsertEvent(ctx, ev); err != nil || status == "" {
				return err
			}
			ev.Status = status
			return tx.UpdateEvent(ctx, ev) // a failed one is marked for the notifier
		})
		return ev
	}
	var gone, kept []*synclayer.Event
	finals := []synclayer.EventStatus{synclayer.EventApplied, synclayer.EventUnchanged}
	for i := range 7 {
		gone = append(gone, add("shopify", fmt.Sprint("old-", i), finals[i%2], old.Add(time.Duration(i)*time.Minute)))
	}
	kept = append(kept,
		add("shopify", "unfinished", "", old.Add(time.Second)),
		add("shopify", "failed-unread", synclayer.EventFailed, old.Add(2*time.Second)),
		add("shopify", "new-1", synclayer.EventApplied, cut),
		add("shopify", "new-2", synclayer.EventUnchanged, cut.Add(time.Hour)))
	// woocommerce has been silent since: its newest event stays, for
	// source silence, and only one of the two received at once (as a
	// backfill's events are).
	gone = append(gone, add("woocommerce", "old-1", synclayer.EventApplied, old))
	wooTied := []*synclayer.Event{
		add("woocommerce", "old-2", synclayer.EventApplied, old.Add(time.Hour)),
		add("woocommerce", "old-3", synclayer.EventApplied, old.Add(time.Hour)),
	}

	trace := func(contact string, at time.Time, eventID, summary string) {
		t.Helper()
		mustTx(t, s, func(tx synclayer.Tx) error {
			return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: contact, At: at, Kind: synclayer.TraceEvent, EventID: eventID, Summary: summary})
		})
	}
	for i := range 7 {
		trace(c.ID, old.Add(time.Duration(i)*time.Minute), gone[i].ID, fmt.Sprint("old ", i))
	}
	trace("ct_other", old.Add(time.Hour), "", "old, another contact")
	trace(c.ID, cut, gone[0].ID, "updated from shopify") // its event is pruned
	trace(c.ID, cut.Add(time.Hour), kept[2].ID, "new")

	events, traced, err := ps.PruneHistory(ctx, cut, 3)
	if err != nil || events != len(gone)+1 || traced != 8 {
		t.Fatalf("prune: %d events, %d trace entries, %v; want %d and 8", events, traced, err, len(gone)+1)
	}
	var tiedLeft int
	for _, ev := range wooTied {
		if _, err := s.FindEventByID(ctx, ev.ID); err == nil {
			tiedLeft++
		}
	}
	if tiedLeft != 1 {
		t.Errorf("woocommerce's newest events, received at once: %d left, want 1", tiedLeft)
	}
	for _, ev := range gone {
		if _, err := s.FindEventByID(ctx, ev.ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("event %s (%s, received %s) after the prune: err %v, want ENOTFOUND", ev.DedupeKey, ev.Status, ev.ReceivedAt, err)
		}
	}
	for _, ev := range kept {
		if got, err := s.FindEventByID(ctx, ev.ID); err != nil || got.DedupeKey != ev.DedupeKey {
			t.Errorf("event %s (%q) was pruned: %v", ev.DedupeKey, ev.Status, err)
		}
	}
	if last, err := s.LastEventsReceived(ctx, "woocommerce"); err != nil || !last["woocommerce"].Equal(wooTied[0].ReceivedAt) {
		t.Errorf("woocommerce's last event after the prune: %v, %v; want %s", last, err, wooTied[0].ReceivedAt)
	}
	tr, err := s.Trace(ctx, c.ID)
	if err != nil || len(tr) != 2 || tr[0].Summary != "updated from shopify" || tr[0].EventID != gone[0].ID || tr[1].Summary != "new" {
		t.Errorf("trace after the prune: %v, %v; want the two entries at and after the cutoff, the first naming its pruned event", tr, err)
	}
	if tr, _ := s.Trace(ctx, "ct_other"); len(tr) != 0 {
		t.Errorf("another contact's old trace: %d entries, want none", len(tr))
	}
	got, err := s.FindContactByID(ctx, c.ID)
	if err != nil || got.Email != "ann@example.com" || got.Version != c.Version {
		t.Errorf("contact after the prune: %+v, %v", got, err)
	}

	// Again: nothing more, until the notifier has read the failed event.
	if events, traced, err := ps.PruneHistory(ctx, cut, 3); err != nil || events != 0 || traced != 0 {
		t.Errorf("second prune: %d events, %d trace entries, %v; want none", events, traced, err)
	}
	if _, err := ps.TakeFailedEvents(ctx, 10, func(synclayer.NotificationTx, []*synclayer.FailedEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if events, _, err := ps.PruneHistory(ctx, cut, 3); err != nil || events != 1 {
		t.Errorf("prune once the failed event was read: %d events, %v; want 1", events, err)
	}
	if _, err := s.FindEventByID(ctx, kept[1].ID); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("the read failed event after the prune: err %v, want ENOTFOUND", err)
	}
}

// testWindowKeysExpire: the keys that give one instance a window
// (poll:, reconcile:, reconcile-source:, prune:) and the failure keys are
// pruned once older than the deliveries' retention, as keys are added;
// a report key, which says a report went out, is kept.
func testWindowKeysExpire(t *testing.T, s synclayer.Store) {
	ns, ok := s.(synclayer.NotificationStore)
	if !ok {
		t.Skip("the store keeps no notification keys")
	}
	ctx := context.Background()
	// The store prunes as a key is added at a time whose microseconds are
	// a multiple of 1,024: the second add below.
	old := time.UnixMicro(1796000000000000 - 1796000000000000%1024 + 1)
	now := time.UnixMicro(old.UnixMicro() - 1 + 30*24*3600*1_000_000 - (30*24*3600*1_000_000)%1024)
	keys := []string{"poll:magento:1796000000", "reconcile:brevo:1796000000", "reconcile-source:shopify:1796000000", "prune:1796000000", "fail:1:ab", "report:weekly:2026-W44"}
	add := func(key string, at time.Time) bool {
		t.Helper()
		var added bool
		if err := ns.NotificationTx(ctx, func(tx synclayer.NotificationTx) (err error) {
			added, err = tx.AddKey(ctx, key, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return added
	}
	for _, k := range keys {
		if !add(k, old) {
			t.Fatalf("AddKey(%s) the first time: not added", k)
		}
	}
	if now.UnixMicro()%1024 != 0 || !add("poll:magento:now", now) {
		t.Fatalf("the pruning add at %d was not added", now.UnixMicro())
	}
	for _, k := range keys {
		again := add(k, now.Add(time.Microsecond))
		if want := k != "report:weekly:2026-W44"; again != want {
			t.Errorf("AddKey(%s) after 30 days: added %v, want %v (pruned: %v)", k, again, want, want)
		}
	}
}
