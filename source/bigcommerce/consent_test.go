package bigcommerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/bigcommerce"
	"synclayer/source/bigcommerce/bigcommercesim"
	"synclayer/store"
	"synclayer/store/storetest"
)

// TestConsent: a newsletter subscriber is an email opt-in as of its
// date_modified; its deletion is an opt-out as of the callback, of the
// email read for it; a deletion of a subscriber never read, or of one
// whose email subscribed again, says nothing; a customer record carries
// no consent (absent is unknown, never unsubscribed).
func TestConsent(t *testing.T) {
	var get struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(fixture(t, "subscriber-get"), &get); err != nil {
		t.Fatal(err)
	}
	sim := bigcommercesim.New("abc123", "bc-token")
	sim.AddSubscriber(get.Data)
	sim.AddCustomer(map[string]any{"id": 32, "email": "ann@example.com", "first_name": "Ann", "date_created": "2026-11-20T10:00:00Z",
		"date_modified": "2026-11-21T10:00:00Z", "accepts_product_review_abandoned_cart_emails": true})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	src := open(t, hs.URL, nil)
	f := src.(synclayer.Fetcher)
	ctx := context.Background()
	parse := func(body []byte) *synclayer.FetchRef {
		t.Helper()
		evs, err := src.Parse(bigcommercesim.Sign(clientSecret, "msg_"+string(body[len(body)-12:]), now, body), body, now)
		if err != nil || len(evs) != 1 || evs[0].Fetch == nil {
			t.Fatalf("Parse = %+v, %v", evs, err)
		}
		return evs[0].Fetch
	}

	t.Run("Subscribed", func(t *testing.T) {
		ref := parse(bigcommercesim.Callback("abc123", "store/subscriber/created", "subscriber", 5, now.Unix()))
		if *ref != (synclayer.FetchRef{Kind: "subscriber", ID: "5"}) {
			t.Fatalf("ref %+v", ref)
		}
		evs, err := f.Fetch(ctx, *ref)
		if err != nil || len(evs) != 1 || evs[0].Customer == nil {
			t.Fatalf("Fetch = %+v, %v", evs, err)
		}
		ch := evs[0].Customer
		at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
		if ch.Email() != "ann@example.com" || ch.EmailConsent == nil || ch.EmailConsent.State != synclayer.ConsentSubscribed || !ch.EmailConsent.At.Equal(at) ||
			ch.SourceID != "" || evs[0].DedupeKey != "bigcommerce:subscriber:5:2026-11-20T09:30:00Z" {
			t.Fatalf("subscriber = %+v %+v (%s)", ch, ch.EmailConsent, evs[0].DedupeKey)
		}
	})
	t.Run("AbandonedCartConsentIsNotMarketing", func(t *testing.T) {
		sim.AddSubscriber(map[string]any{"id": 9, "email": "cart-only@example.com", "date_modified": "2026-11-20T09:30:00Z",
			"consents": []any{"abandoned_cart"}})
		evs, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "subscriber", ID: "9"})
		if err != nil || len(evs) != 1 || evs[0].Customer.EmailConsent != nil {
			t.Fatalf("an abandoned-cart consent read as marketing: %+v, %v", evs, err)
		}
		sim.DeleteSubscriber(9)
		var skip *synclayer.FetchSkipped
		if evs, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "subscriber-deleted", ID: "9@1561482670"}); len(evs) != 0 || !errors.As(err, &skip) {
			t.Fatalf("its deletion: %+v, %v; want no opt-out", evs, err)
		}
		sim.AddSubscriber(map[string]any{"id": 10, "email": "both@example.com", "date_modified": "2026-11-20T09:30:00Z",
			"consents": []any{"abandoned_cart", "marketing_newsletter"}})
		if evs, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "subscriber", ID: "10"}); err != nil || evs[0].Customer.EmailConsent == nil {
			t.Fatalf("a marketing consent not read: %+v, %v", evs, err)
		}
	})
	t.Run("AbsentIsUnknown", func(t *testing.T) {
		evs, err := f.Fetch(ctx, synclayer.FetchRef{Kind: "customer", ID: "32"})
		if err != nil || len(evs) != 1 || evs[0].Customer.EmailConsent != nil {
			t.Fatalf("a customer record said something of consent: %+v, %v", evs, err)
		}
	})
	t.Run("ResubscribedIsNoOptOut", func(t *testing.T) {
		sim.DeleteSubscriber(5)
		sim.AddSubscriber(map[string]any{"id": 6, "email": "ann@example.com", "date_created": "2026-11-22T09:00:00Z", "date_modified": "2026-11-22T09:00:00Z"})
		ref := parse(bigcommercesim.Callback("abc123", "store/subscriber/deleted", "subscriber", 5, now.Unix()-1))
		var skip *synclayer.FetchSkipped
		if evs, err := f.Fetch(ctx, *ref); len(evs) != 0 || !errors.As(err, &skip) || !strings.Contains(skip.Note, "still subscribed") {
			t.Fatalf("deleted while subscribed again: %+v, %v", evs, err)
		}
		sim.DeleteSubscriber(6)
	})
	t.Run("DeletedIsOptOut", func(t *testing.T) {
		ref := parse(fixture(t, "subscriber-deleted"))
		if ref.Kind != "subscriber-deleted" || ref.ID != "5@1561482670" {
			t.Fatalf("ref %+v", ref)
		}
		evs, err := f.Fetch(ctx, *ref)
		if err != nil || len(evs) != 1 || evs[0].Customer == nil {
			t.Fatalf("Fetch = %+v, %v", evs, err)
		}
		ch := evs[0].Customer
		if ch.Email() != "ann@example.com" || ch.EmailConsent == nil || ch.EmailConsent.State != synclayer.ConsentUnsubscribed ||
			!ch.EmailConsent.At.Equal(time.Unix(1561482670, 0)) || len(ch.Fields) != 1 {
			t.Fatalf("deletion = %+v %+v", ch, ch.EmailConsent)
		}
	})
	t.Run("UnknownSubscriberDeleted", func(t *testing.T) {
		other := open(t, hs.URL, nil).(synclayer.Fetcher) // a process that never read subscriber 5
		var skip *synclayer.FetchSkipped
		evs, err := other.Fetch(ctx, synclayer.FetchRef{Kind: "subscriber-deleted", ID: "5@1561482670"})
		if len(evs) != 0 || !errors.As(err, &skip) || skip.SourceID != "subscriber:5" || !strings.Contains(skip.Note, "cannot be told") {
			t.Fatalf("an unknown subscriber's deletion: %+v, %v", evs, err)
		}
		if _, err := other.Fetch(ctx, synclayer.FetchRef{Kind: "subscriber", ID: "5"}); !errors.As(err, &skip) {
			t.Fatalf("a subscriber gone before it was read: %v", err)
		}
	})
}

// TestConsent_DeletionAfterARestart: a subscriber read by one process is
// kept in the store's shared keys, so its deletion is an opt-out when a
// restarted process (or another instance sharing the store) handles the
// callback, on both databases.
func TestConsent_DeletionAfterARestart(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"SQLite", storetest.OpenSQLite}, {"Postgres", storetest.OpenPostgres}} {
		t.Run(db.name, func(t *testing.T) {
			shared := db.open(t)
			sim := bigcommercesim.New("abc123", "bc-token")
			sim.AddSubscriber(map[string]any{"id": 41, "email": "kept@example.com", "date_created": "2026-11-20T09:00:00Z", "date_modified": "2026-11-20T09:30:00Z"})
			hs := httptest.NewServer(sim)
			defer hs.Close()
			openShared := func() synclayer.Fetcher {
				section, _ := json.Marshal(map[string]any{"store_hash": "abc123", "access_token": "bc-token", "api_url": hs.URL})
				src, err := bigcommerce.Type.Open([]string{clientSecret}, synclayer.SourceSettings{Name: "bigcommerce", Section: section, Shared: shared})
				if err != nil {
					t.Fatal(err)
				}
				return src.(synclayer.Fetcher)
			}
			ctx := context.Background()
			if evs, err := openShared().Fetch(ctx, synclayer.FetchRef{Kind: "subscriber", ID: "41"}); err != nil || len(evs) != 1 {
				t.Fatalf("the subscriber read: %+v, %v", evs, err)
			}
			sim.DeleteSubscriber(41)
			evs, err := openShared().Fetch(ctx, synclayer.FetchRef{Kind: "subscriber-deleted", ID: "41@1796700000"})
			if err != nil || len(evs) != 1 || evs[0].Customer.Email() != "kept@example.com" ||
				evs[0].Customer.EmailConsent == nil || evs[0].Customer.EmailConsent.State != synclayer.ConsentUnsubscribed {
				t.Fatalf("the deletion in a restarted process: %+v, %v; want kept@example.com opted out", evs, err)
			}
		})
	}
}
