package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/notify"
	"synclayer/store"
	"synclayer/store/storetest"
)

func storeEvent(t *testing.T, db *store.DB, source string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	ev := &synclayer.Event{Source: source, DedupeKey: fmt.Sprint("d-", at.UnixNano()), Topic: "customers/update", Type: synclayer.EventCustomerUpdated,
		OccurredAt: at, ReceivedAt: at, Status: synclayer.EventApplied}
	if err := db.Tx(ctx, func(tx synclayer.Tx) error { return tx.InsertEvent(ctx, ev) }); err != nil {
		t.Fatal(err)
	}
}

func refuse(t *testing.T, db *store.DB, source string, at time.Time, n int) {
	t.Helper()
	for range n {
		if err := db.RecordRejection(context.Background(), &synclayer.Rejection{Source: source, ReceivedAt: at, Status: 401, Code: synclayer.EUNAUTHORIZED,
			Message: "X-Shopify-Hmac-Sha256: does not match"}, 1000); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNotifier_SourceSilentOncePerIncident: a source that used to send and
// has sent nothing for silence_after raises one source_silent, to Slack
// and the webhook, however often it is evaluated; a source that never
// sent raises nothing; its next webhook closes the incident with a
// recovered message.
func TestNotifier_SourceSilentOncePerIncident(t *testing.T) {
	db := storetest.OpenSQLite(t)
	now := t0
	n := notify.New(notify.Config{Store: db, Slack: true, Events: []synclayer.NotificationType{synclayer.NotifySourceSilent},
		Sources: []string{"shopify", "woocommerce"}, SilenceAfter: 6 * time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	storeEvent(t, db, "shopify", t0)
	for _, at := range []time.Duration{time.Hour, 7 * time.Hour, 8 * time.Hour, 9 * time.Hour} {
		now = t0.Add(at)
		if err := n.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := notifyJobs(t, db, "slack_source_silent_"); len(got) != 1 {
		t.Fatalf("Slack source_silent alerts %v, want 1 (shopify only; woocommerce never sent)", got)
	}
	hooks := notifyJobs(t, db, "msg_source_silent_")
	if len(hooks) != 1 {
		t.Fatalf("webhook source_silent %v, want 1", hooks)
	}
	msg, err := db.FindNotification(ctx, hooks[0])
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type string
		Data notify.SourceData
	}
	_ = json.Unmarshal(msg.Body, &body)
	if body.Type != "source_silent" || body.Data.Source != "shopify" || body.Data.SilentSeconds != int64(7*time.Hour/time.Second) {
		t.Errorf("webhook body %s", msg.Body)
	}
	storeEvent(t, db, "shopify", t0.Add(9*time.Hour+time.Minute))
	now = t0.Add(9*time.Hour + 2*time.Minute)
	if err := n.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	rec := notifyJobs(t, db, "slack_recovered_")
	if len(rec) != 1 {
		t.Fatalf("recovered messages %v, want 1", rec)
	}
	m, _ := db.FindNotification(ctx, rec[0])
	if !strings.Contains(string(m.Body), "shopify sends again") {
		t.Errorf("recovered text %s", m.Body)
	}
}

// TestNotifier_SourceSilentOnlyWhenTheStoreChanged: with the source's API
// to ask, a store with no webhook for silence_after but no change either
// (a quiet night) raises nothing; once its API shows changes that sent
// no webhook, one source_silent says how many. The API is asked again
// only after ChangesEvery; one that cannot answer leaves silence alone
// to judge.
func TestNotifier_SourceSilentOnlyWhenTheStoreChanged(t *testing.T) {
	db := storetest.OpenSQLite(t)
	now := t0
	changed, known, asked := 0, true, 0
	var apiErr error
	n := notify.New(notify.Config{Store: db, Slack: true, Events: []synclayer.NotificationType{synclayer.NotifySourceSilent},
		Sources: []string{"shopify", "magento"}, SilenceAfter: 6 * time.Hour, ChangesEvery: time.Hour, Now: func() time.Time { return now },
		Changes: func(_ context.Context, source string, since time.Time) (int, bool, error) {
			if source == "magento" {
				return 0, false, nil
			}
			asked++
			if !since.Equal(t0) {
				t.Errorf("asked for changes since %v, want the last webhook's %v", since, t0)
			}
			return changed, known, apiErr
		}})
	ctx := context.Background()
	storeEvent(t, db, "shopify", t0)
	evaluate := func(at time.Duration) {
		t.Helper()
		now = t0.Add(at)
		if err := n.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	evaluate(7 * time.Hour)
	evaluate(7*time.Hour + 2*time.Minute)
	if got := notifyJobs(t, db, "slack_source_silent_"); len(got) != 0 || asked != 1 {
		t.Fatalf("a quiet store: alerts %v, API asked %d times; want none, asked once within ChangesEvery", got, asked)
	}
	changed = 4
	evaluate(8*time.Hour + 5*time.Minute)
	evaluate(8*time.Hour + 10*time.Minute)
	got := notifyJobs(t, db, "slack_source_silent_")
	if len(got) != 1 || asked != 2 {
		t.Fatalf("a store that changed: alerts %v, API asked %d times; want one alert, asked twice", got, asked)
	}
	m, _ := db.FindNotification(ctx, got[0])
	if !strings.Contains(string(m.Body), "while its API shows 4 records changed since") {
		t.Errorf("alert text %s", m.Body)
	}

	// An API that cannot answer: silence alone decides, for a second store.
	db2 := storetest.OpenSQLite(t)
	n2 := notify.New(notify.Config{Store: db2, Slack: true, Events: []synclayer.NotificationType{synclayer.NotifySourceSilent},
		Sources: []string{"shopify"}, SilenceAfter: 6 * time.Hour, Now: func() time.Time { return now },
		Changes: func(context.Context, string, time.Time) (int, bool, error) { return 0, true, errors.New("503") }})
	storeEvent(t, db2, "shopify", t0)
	now = t0.Add(7 * time.Hour)
	if err := n2.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := notifyJobs(t, db2, "slack_source_silent_"); len(got) != 1 {
		t.Errorf("with the API down: alerts %v, want one on silence alone", got)
	}
}

// TestNotifier_SourceRejectedOncePerIncident: a burst of 401s from one
// source (a rotated secret) raises one source_rejected with the count;
// fewer than the threshold raise nothing.
func TestNotifier_SourceRejectedOncePerIncident(t *testing.T) {
	db := storetest.OpenSQLite(t)
	now := t0
	n := notify.New(notify.Config{Store: db, Slack: true, Sources: []string{"shopify", "custom"}, RefusedThreshold: 5,
		RefusedWindow: 15 * time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	refuse(t, db, "custom", t0, 3)
	refuse(t, db, "shopify", t0, 12)
	for _, at := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		now = t0.Add(at)
		if err := n.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := notifyJobs(t, db, "slack_source_rejected_")
	if len(got) != 1 {
		t.Fatalf("source_rejected alerts %v, want 1 (shopify)", got)
	}
	m, _ := db.FindNotification(ctx, got[0])
	if !strings.Contains(string(m.Body), "Source shopify: 12 deliveries refused") {
		t.Errorf("alert %s", m.Body)
	}
	now = t0.Add(time.Hour)
	if err := n.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if rec := notifyJobs(t, db, "slack_recovered_"); len(rec) != 1 {
		t.Errorf("recovered after the window: %v", rec)
	}
}
