package metrics_test

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"synclayer"
	"synclayer/metrics"
)

type fakeJobs struct{ oldest map[string]time.Time }

func (fakeJobs) CountJobsBySkill(context.Context) (map[string]map[synclayer.JobState]int, error) {
	return map[string]map[synclayer.JobState]int{}, nil
}

func (f fakeJobs) OldestPendingJobs(context.Context) (map[string]time.Time, error) {
	return f.oldest, nil
}

// gather returns each sample of family name, keyed by its labels as
// "k=v,k=v" in the registry's order.
func gather(t *testing.T, m *metrics.Metrics, name string) map[string]*dto.Metric {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			key := ""
			for i, l := range s.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			out[key] = s
		}
	}
	return out
}

func TestMetrics_BuildInfo(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Config{Build: metrics.Build{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26.8"}})
	got := gather(t, m, "synclayer_build_info")
	s, ok := got["commit=abc123,go_version=go1.26.8,version=v1.2.3"]
	if !ok || s.GetGauge().GetValue() != 1 {
		t.Fatalf("build_info: %v, want one series at 1 with the build's labels", got)
	}
}

func TestMetrics_OldestPending(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	m := metrics.New(metrics.Config{
		Skills: map[string]string{"customer-sync": "brevo", "customer-sync@klaviyo": "klaviyo"},
		Jobs:   fakeJobs{oldest: map[string]time.Time{"customer-sync": now.Add(-90 * time.Second), "notify@slack": now.Add(-time.Second)}},
		Now:    func() time.Time { return now },
	})
	got := gather(t, m, "synclayer_queue_oldest_pending_seconds")
	for labels, want := range map[string]float64{
		"destination=brevo,skill=customer-sync":   90,
		"destination=klaviyo,skill=customer-sync": 0, // configured, nothing pending
		"destination=slack,skill=notify":          1, // not configured, but pending
	} {
		if s, ok := got[labels]; !ok || s.GetGauge().GetValue() != want {
			t.Errorf("oldest pending {%s}: %v, want %v", labels, s.GetGauge().GetValue(), want)
		}
	}
	if len(got) != 3 {
		t.Errorf("oldest pending series: %d, want 3", len(got))
	}
}

func TestMetrics_HTTPRequestBoundsMethods(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Config{})
	m.HTTPRequest("GET /api/v1/contacts/{id}", "GET", 200, 10*time.Millisecond)
	m.HTTPRequest("unmatched", "BREW", 404, time.Millisecond)
	got := gather(t, m, "synclayer_http_request_duration_seconds")
	if s := got["code=200,method=GET,route=GET /api/v1/contacts/{id}"]; s.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("contact request not counted under its pattern: %v", got)
	}
	if s := got["code=404,method=other,route=unmatched"]; s.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("an unknown method was not counted as other: %v", got)
	}
}
