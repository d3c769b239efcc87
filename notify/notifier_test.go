package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/notify"
	"synclayer/store"
	"synclayer/store/storetest"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// attempts records delivered and failed (retried) attempts of
// customer-sync at at, through the queue's store calls.
func attempts(t *testing.T, db *store.DB, delivered, failed int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range delivered + failed {
		key := fmt.Sprintf("ct_%d_%d", at.Unix(), i)
		if err := db.Tx(ctx, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, "customer-sync", "brevo", key, at) }); err != nil {
			t.Fatal(err)
		}
		jobs, err := db.ClaimJobs(ctx, "customer-sync", 1, time.Minute, at)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		if i < delivered {
			err = db.CompleteJob(ctx, jobs[0], nil, nil, at)
		} else {
			err = db.RetryJob(ctx, jobs[0], at.Add(time.Hour), "503", nil, at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// slackJobs counts the queued alerts, recovered messages aside.
func slackJobs(t *testing.T, db *store.DB) int {
	t.Helper()
	return len(notifyJobs(t, db, "slack_")) - len(notifyJobs(t, db, "slack_recovered_"))
}

// notifyJobs lists the queued notifications whose ID starts with prefix.
func notifyJobs(t *testing.T, db *store.DB, prefix string) []string {
	t.Helper()
	jobs, err := db.FindJobs(context.Background(), synclayer.JobFilter{Queue: synclayer.NotifySkill, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		if strings.HasPrefix(j.RecordKey, prefix) {
			ids = append(ids, j.RecordKey)
		}
	}
	return ids
}

// TestNotifier_ErrorRateAlertsOncePerIncident: crossing the threshold
// alerts once however often it is evaluated, falling back under it closes
// the incident, and crossing again is a new incident with a new alert.
func TestNotifier_ErrorRateAlertsOncePerIncident(t *testing.T) {
	db := storetest.OpenSQLite(t)
	db.MarkDeliveries("customer-sync")
	now := t0
	n := notify.New(notify.Config{Store: db, Slack: true, ErrorRateThreshold: 0.2, ErrorRateWindow: 10 * time.Minute,
		Owner: func(string) string { return "ops@example.com" }, Now: func() time.Time { return now }})
	ctx := context.Background()
	step := func() {
		t.Helper()
		if err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if err := n.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}

	attempts(t, db, 8, 1, now) // 1 of 9: too few attempts to count, and under the threshold
	step()
	if got := slackJobs(t, db); got != 0 {
		t.Fatalf("alerts at 1 failure in 9: %d", got)
	}
	attempts(t, db, 0, 4, now) // 5 of 13 failed: 38%
	for range 3 {
		step()
	}
	if got := slackJobs(t, db); got != 1 {
		t.Fatalf("alerts after crossing the threshold and three evaluations: %d, want 1", got)
	}

	now = t0.Add(20 * time.Minute) // the failures left the window
	attempts(t, db, 20, 1, now)
	step()
	inc, _ := db.FindIncidents(ctx, 10)
	if len(inc) != 1 || inc[0].Open() || inc[0].Kind != synclayer.NotifyErrorRate {
		t.Fatalf("incidents after recovery: %+v, want the error_rate incident closed", inc)
	}
	if got := notifyJobs(t, db, "slack_recovered_"); len(got) != 1 {
		t.Errorf("recovered messages after the rate fell back: %v, want 1", got)
	}
	attempts(t, db, 0, 10, now)
	step()
	if got := slackJobs(t, db); got != 2 {
		t.Errorf("alerts after a second crossing: %d, want 2", got)
	}
}

// TestNotifier_SyncFailedIncidentClosesWhenQuiet: failures further apart
// than the quiet period are separate incidents, each alerted once.
func TestNotifier_SyncFailedIncidentClosesWhenQuiet(t *testing.T) {
	db := storetest.OpenSQLite(t)
	db.MarkDeliveries("customer-sync")
	now := t0
	n := notify.New(notify.Config{Store: db, Slack: true, QuietPeriod: 10 * time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	dead := func(key string, at time.Time) {
		t.Helper()
		_ = db.Tx(ctx, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, "customer-sync", "brevo", key, at) })
		jobs, _ := db.ClaimJobs(ctx, "customer-sync", 1, time.Minute, at)
		if err := db.DeadJob(ctx, jobs[0], "400 invalid_parameter", nil, at); err != nil {
			t.Fatal(err)
		}
		if err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dead("a", t0)
	dead("b", t0.Add(5*time.Minute))
	dead("c", t0.Add(14*time.Minute)) // 9 minutes after b: still the same incident
	if got := slackJobs(t, db); got != 1 {
		t.Fatalf("alerts for three failures within the quiet period: %d, want 1", got)
	}
	now = t0.Add(30 * time.Minute)
	if err := n.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	inc, _ := db.FindIncidents(ctx, 10)
	if len(inc) != 1 || inc[0].Open() || inc[0].Failures != 3 || !inc[0].ClosedAt.Equal(t0.Add(24*time.Minute)) {
		t.Fatalf("incident after the quiet period: %+v, want closed at the last failure + 10m, counting 3", inc)
	}
	for range 2 {
		if err := n.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rec := notifyJobs(t, db, "slack_recovered_")
	if len(rec) != 1 {
		t.Fatalf("recovered messages after the quiet period and three evaluations: %v, want 1", rec)
	}
	msg, err := db.FindNotification(ctx, rec[0])
	if err != nil || !strings.Contains(string(msg.Body), "customer-sync recovered") || !strings.Contains(string(msg.Body), "3 records failed") ||
		!strings.Contains(string(msg.Body), "lasted 14m0s") {
		t.Errorf("recovered message: %s (%v), want the skill, 3 records and the 14 minutes it lasted", msg.Body, err)
	}
	dead("d", now)
	if got := slackJobs(t, db); got != 2 {
		t.Errorf("alerts after a new failure past the quiet period: %d, want 2", got)
	}
}
