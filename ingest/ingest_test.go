package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

func event(dedupe, email, sourceID string, at time.Time) *synclayer.Event {
	return &synclayer.Event{Source: "shopify", DedupeKey: dedupe, Topic: "customers/update", Type: synclayer.EventCustomerUpdated, OccurredAt: at,
		Customer: &synclayer.CustomerChange{SourceID: sourceID, Fields: map[string]json.RawMessage{"email": json.RawMessage(fmt.Sprintf("%q", email))}}}
}

func exercise(t *testing.T, s synclayer.Store, groupCommit bool) {
	ctx := context.Background()
	in := ingest.New(ingest.Config{Store: s, ConsentSources: []string{"shopify"}, GroupCommit: groupCommit,
		Routes: []ingest.Route{{Skill: "customer-sync", Destination: "brevo", Sources: []string{"shopify"}}}})
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

	t.Run("ConcurrentCallsShareCommitsSafely", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		applied := map[string]int{}
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Every third delivery is a redelivery of another, and pairs of
				// calls introduce the same new email under two source IDs.
				key := fmt.Sprintf("wh-%d", i-i%3)
				res, err := in.Ingest(ctx, []*synclayer.Event{event(key, fmt.Sprintf("p%d@example.com", i/6), fmt.Sprint(i/3), t0)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if !res[0].Duplicate {
					applied[key]++
				}
			}()
		}
		wg.Wait()
		if len(applied) != 20 {
			t.Errorf("%d distinct deliveries applied, want 20", len(applied))
		}
		for k, n := range applied {
			if n != 1 {
				t.Errorf("delivery %s applied %d times", k, n)
			}
		}
		for i := range 10 {
			list, _ := s.FindContacts(ctx, synclayer.ContactFilter{Email: fmt.Sprintf("p%d@example.com", i)})
			if len(list) != 1 || len(list[0].SourceIDs) != 1 {
				t.Errorf("email p%d: %d contacts, want one (source ids %v)", i, len(list), list)
			}
		}
	})

	t.Run("InvalidEmailIsRecordedAsFailed", func(t *testing.T) {
		res, err := in.Ingest(ctx, []*synclayer.Event{event("bad-1", "nobody@", "x1", t0)})
		if err != nil || res[0].Status != synclayer.EventFailed || res[0].Reason == "" {
			t.Fatalf("result %+v, %v; want failed with a reason", res, err)
		}
		ev, err := s.FindEventByID(ctx, res[0].EventID)
		if err != nil || ev.Status != synclayer.EventFailed || ev.Reason != res[0].Reason {
			t.Errorf("stored event %+v, %v", ev, err)
		}
	})

	t.Run("PhoneNeverJoinsTwoEmails", func(t *testing.T) {
		a := event("ph-1", "a@phone.example", "pa", t0)
		a.Customer.Fields["phone"] = json.RawMessage(`"+14155550123"`)
		b := event("ph-2", "b@phone.example", "pb", t0)
		b.Customer.Fields["phone"] = json.RawMessage(`"+1 415 555 0123"`)
		if _, err := in.Ingest(ctx, []*synclayer.Event{a, b}); err != nil {
			t.Fatal(err)
		}
		for _, e := range []string{"a@phone.example", "b@phone.example"} {
			if list, _ := s.FindContacts(ctx, synclayer.ContactFilter{Email: e}); len(list) != 1 {
				t.Errorf("%s: %d contacts, want its own one", e, len(list))
			}
		}
		onlyPhone := &synclayer.Event{Source: "custom", DedupeKey: "ph-3", Type: synclayer.EventCustomerUpdated, OccurredAt: t0.Add(time.Minute),
			Customer: &synclayer.CustomerChange{Fields: map[string]json.RawMessage{"phone": json.RawMessage(`"+14155550123"`), "firstName": json.RawMessage(`"Pat"`)}}}
		res, err := in.Ingest(ctx, []*synclayer.Event{onlyPhone})
		if err != nil || res[0].ContactID == "" {
			t.Fatalf("phone-only event: %+v, %v", res, err)
		}
		c, _ := s.FindContactByID(ctx, res[0].ContactID)
		if c.Email != "a@phone.example" {
			t.Errorf("a phone-only event matched %q, want the first contact with that phone", c.Email)
		}
	})
}

func TestIngest_SQLite(t *testing.T)   { t.Parallel(); exercise(t, storetest.OpenSQLite(t), true) }
func TestIngest_Postgres(t *testing.T) { t.Parallel(); exercise(t, storetest.OpenPostgres(t), false) }

func TestIngest_PostgresGroupCommit(t *testing.T) {
	t.Parallel()
	exercise(t, storetest.OpenPostgres(t), true)
}
