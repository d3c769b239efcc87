package notify_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/notify"
	"synclayer/store"
	"synclayer/store/storetest"
)

func TestPeriodStart(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC) // a Thursday
	if got := notify.PeriodStart(synclayer.ReportWeek, at); !got.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("week start %s", got)
	}
	if got := notify.PeriodKey(synclayer.ReportWeek, notify.PeriodStart(synclayer.ReportWeek, at)); got != "2026-W49" {
		t.Errorf("week key %s", got)
	}
	if got := notify.PeriodStart(synclayer.ReportMonth, at); !got.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || notify.PeriodKey(synclayer.ReportMonth, got) != "2026-12" {
		t.Errorf("month start %s", got)
	}
}

// TestNotifier_HealthReportOncePerPeriod: two notifiers on one PostgreSQL
// database, both evaluating at Monday 08:05 UTC, make the weekly report
// once (one webhook and one Slack message); a restarted notifier makes
// nothing more; the monthly report is not due on a Monday that is not
// the 1st, and is made once on the 1st.
func TestNotifier_HealthReportOncePerPeriod(t *testing.T) {
	t.Parallel()
	url := storetest.NewPostgresDatabase(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, "postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	now := time.Date(2026, 12, 7, 8, 5, 0, 0, time.UTC) // Monday
	newNotifier := func(db *store.DB) *notify.Notifier {
		return notify.New(notify.Config{Store: db, Figures: db, Webhook: true, Slack: true, Sources: []string{"shopify"},
			Reports: []synclayer.ReportPeriod{synclayer.ReportWeek, synclayer.ReportMonth}, Now: func() time.Time { return now }})
	}
	na, nb := newNotifier(a), newNotifier(b)
	var wg sync.WaitGroup
	for _, n := range []*notify.Notifier{na, nb} { // each as its Run would: one goroutine, evaluating twice
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				if err := n.SendReports(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := notifyJobs(t, a, "msg_health_report_weekly_2026-W49"); len(got) != 1 {
		t.Errorf("weekly webhook reports: %v, want 1", got)
	}
	if got := notifyJobs(t, a, "slack_health_report_weekly_2026-W49"); len(got) != 1 {
		t.Errorf("weekly Slack reports: %v, want 1", got)
	}
	if got := notifyJobs(t, a, "msg_health_report_monthly"); len(got) != 0 {
		t.Errorf("monthly reports on the 7th: %v, want none", got)
	}
	if err := newNotifier(b).SendReports(ctx); err != nil {
		t.Fatal(err)
	}
	if got := notifyJobs(t, a, "msg_health_report_weekly"); len(got) != 1 {
		t.Errorf("weekly reports after a restart: %v, want still 1", got)
	}
	n, err := a.FindNotification(ctx, "msg_health_report_weekly_2026-W49")
	if err != nil || !contains(string(n.Body), `"type":"health_report"`, `"key":"2026-W49"`, `"sources":[{"source":"shopify"`) {
		t.Errorf("weekly report body: %s (%v)", n.Body, err)
	}

	now = time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, n := range []*notify.Notifier{na, nb} {
		if err := n.SendReports(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := notifyJobs(t, a, "msg_health_report_monthly_2026-12"); len(got) != 1 {
		t.Errorf("monthly reports on the 1st: %v, want 1", got)
	}
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
