package storetest

import (
	"context"
	"testing"

	"synclayer"
)

// testContactForDelivery: the one-read delivery lookup answers the same
// contact FindContactByID does, the sync state of the destination asked
// for (and of no other), nil before the first delivery, and ENOTFOUND for
// a contact that does not exist.
func testContactForDelivery(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	c := &synclayer.Contact{Email: "del@example.com", CreatedAt: t0, UpdatedAt: t0}
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })
	got, st, err := s.FindContactForDelivery(ctx, c.ID, "brevo")
	if err != nil || got.ID != c.ID || got.Email != "del@example.com" || st != nil {
		t.Fatalf("before any delivery: %+v, %+v, %v; want the contact and no state", got, st, err)
	}
	if err := s.SaveSyncState(ctx, &synclayer.SyncState{RecordKey: c.ID, Destination: "klaviyo", RemoteID: "k1", State: []byte(`{"k":1}`)}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSyncState(ctx, &synclayer.SyncState{RecordKey: c.ID, Destination: "brevo", RemoteID: "b1", State: []byte(`{"b":2}`)}, t0); err != nil {
		t.Fatal(err)
	}
	_, st, err = s.FindContactForDelivery(ctx, c.ID, "brevo")
	if err != nil || st == nil || st.RemoteID != "b1" || string(st.State) != `{"b":2}` || !st.UpdatedAt.Equal(t0) {
		t.Fatalf("brevo's state = %+v, %v; want b1 {\"b\":2} at t0", st, err)
	}
	if _, _, err := s.FindContactForDelivery(ctx, "ct_missing", "brevo"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Fatalf("missing contact: %v, want ENOTFOUND", err)
	}
}
