package store_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/store"
	"synclayer/store/storetest"
)

// seed stores two contacts, one delivered to Brevo, and returns the
// delivered one's ID.
func seed(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	var id string
	err := db.Tx(ctx, func(tx synclayer.Tx) error {
		for _, email := range []string{"kept@example.com", "other@example.com"} {
			c := &synclayer.Contact{Email: email, SourceIDs: map[string]string{"shopify": email}, Fields: map[string]synclayer.Field{},
				CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.SaveContact(ctx, c); err != nil {
				return err
			}
			if id == "" {
				id = c.ID
			}
		}
		return tx.EnqueueJob(ctx, "customer-sync", "brevo", id, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := db.ClaimJobs(ctx, "customer-sync", 1, time.Minute, now)
	st := &synclayer.SyncState{RecordKey: id, Destination: "brevo", RemoteID: id, State: json.RawMessage(`{"email":"kept@example.com","inList":true}`)}
	if err := db.CompleteJob(ctx, jobs[0], st, nil, now); err != nil {
		t.Fatal(err)
	}
	return id
}

func checkSnapshot(t *testing.T, snap *store.DB, id string, wantOther bool) {
	t.Helper()
	ctx := context.Background()
	c, err := snap.FindContactByID(ctx, id)
	if err != nil || c.Email != "kept@example.com" {
		t.Fatalf("contact in the copy: %+v, %v", c, err)
	}
	st, err := snap.FindSyncState(ctx, id, "brevo")
	if err != nil || string(st.State) != `{"email":"kept@example.com","inList":true}` {
		t.Errorf("sync state in the copy: %+v, %v", st, err)
	}
	others, _ := snap.FindContacts(ctx, synclayer.ContactFilter{Email: "other@example.com"})
	if (len(others) == 1) != wantOther {
		t.Errorf("other contact copied: %d, want %v", len(others), wantOther)
	}
	// The copy takes writes; the tests below check that the source did not.
	if err := snap.Tx(ctx, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, "customer-sync", "brevo", "ct_x", time.Now()) }); err != nil {
		t.Errorf("write to the copy: %v", err)
	}
}

func TestSnapshot_SQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live, err := store.Open(context.Background(), "sqlite", filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	id := seed(t, live)
	before, _ := os.ReadFile(filepath.Join(dir, "live.db"))

	snap, missing, err := store.Snapshot(context.Background(), "sqlite", filepath.Join(dir, "live.db"), filepath.Join(dir, "copy.db"), store.ContactKeys{})
	if err != nil || missing {
		t.Fatalf("snapshot: %v, missing %v", err, missing)
	}
	defer snap.Close()
	checkSnapshot(t, snap, id, true)
	if counts, _ := live.CountJobs(context.Background()); counts[synclayer.JobPending] != 0 {
		t.Errorf("the copy's write reached the live store: %v", counts)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "live.db")); string(after) != string(before) {
		t.Errorf("the live database file changed")
	}

	t.Run("Missing", func(t *testing.T) {
		snap, missing, err := store.Snapshot(context.Background(), "sqlite", filepath.Join(dir, "none.db"), filepath.Join(dir, "empty.db"), store.ContactKeys{})
		if err != nil || !missing {
			t.Fatalf("snapshot of nothing: %v, missing %v", err, missing)
		}
		snap.Close()
		if _, err := os.Stat(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
			t.Errorf("the snapshot created the live file: %v", err)
		}
	})
}

func TestSnapshot_Postgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewPostgresDatabase(t)
	live, err := store.Open(context.Background(), "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	id := seed(t, live)
	snap, _, err := store.Snapshot(context.Background(), "postgres", dsn, filepath.Join(t.TempDir(), "copy.db"),
		store.ContactKeys{Emails: []string{"kept@example.com"}, SourceIDs: [][2]string{{"shopify", "nobody@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	checkSnapshot(t, snap, id, false)
	if counts, _ := live.CountJobs(context.Background()); counts[synclayer.JobPending] != 0 {
		t.Errorf("the copy's write reached the live store: %v", counts)
	}
}
