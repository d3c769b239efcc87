package klaviyosim_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/klaviyo/klaviyosim"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// next is the request links.next names, without Klaviyo's host; "" on
// the last page.
func next(a answer) string {
	l, _ := a.body["links"].(map[string]any)
	s, _ := l["next"].(string)
	return strings.TrimPrefix(s, "https://a.klaviyo.com")
}

func ids(a answer) []string {
	var out []string
	data, _ := a.body["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}

// TestServer_OptOutsInsideKlaviyo: an unsubscribe, a spam complaint and a
// hard bounce made inside Klaviyo are listed as Klaviyo lists them, every
// request and answer checked against the spec: the suppressed profiles by
// suppression time, page by page; Klaviyo's own metrics; their events
// after a datetime, with the profile's email and external_id.
func TestServer_OptOutsInsideKlaviyo(t *testing.T) {
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	e := mustEnv(t, klaviyosim.Options{Now: clk.Now})
	start := clk.Now()
	ann := e.sim.PutProfile(klaviyosim.Profile{Email: "ann@example.com", ExternalID: "ct_ann", EmailConsent: "SUBSCRIBED"})
	bob := e.sim.PutProfile(klaviyosim.Profile{Email: "bob@example.com", EmailConsent: "SUBSCRIBED"})
	e.sim.PutProfile(klaviyosim.Profile{Email: "cy@example.com", EmailConsent: "SUBSCRIBED"})
	clk.Add(time.Minute)
	e.sim.Suppress("bob@example.com", "HARD_BOUNCE")
	unsubscribed := clk.Add(time.Minute)
	e.sim.UnsubscribeInKlaviyo("ann@example.com")
	clk.Add(time.Minute)
	e.sim.MarkAsSpam("cy@example.com")
	if p, _ := e.sim.Profile(ann); !p.Updated.Equal(unsubscribed) || !p.LastEvent.Equal(unsubscribed) {
		t.Errorf("ann after the unsubscribe: updated %s, last event %s; want both moved to %s", p.Updated, p.LastEvent, unsubscribed)
	}

	t.Run("SuppressedProfiles", func(t *testing.T) {
		path := "/api/profiles?additional-fields[profile]=subscriptions&page[size]=1&sort=subscriptions.email.marketing.suppression.timestamp" +
			"&filter=greater-than(subscriptions.email.marketing.suppression.timestamp," + start.Format(time.RFC3339) + ")"
		var got []string
		for n := 0; path != ""; n++ {
			a := e.do(t, "GET", path, "")
			if a.status != http.StatusOK || n > 3 {
				t.Fatalf("GET %s = %d %v", path, a.status, a.body)
			}
			if d := a.header.Get("Date"); d != clk.Now().Format(http.TimeFormat) {
				t.Errorf("Date %q, want the simulator's clock", d)
			}
			got, path = append(got, ids(a)...), next(a)
		}
		if len(got) != 2 || got[0] != bob || got[1] != ann {
			t.Errorf("suppressed profiles %v, want bob then ann (cy's complaint is a consent, not a suppression)", got)
		}
		a := e.do(t, "GET", "/api/profiles?filter=greater-than(subscriptions.email.marketing.suppression.timestamp,"+clk.Now().Format(time.RFC3339)+")", "")
		if len(ids(a)) != 0 {
			t.Errorf("suppressed after now: %v", ids(a))
		}
	})

	var unsubMetric string
	t.Run("Metrics", func(t *testing.T) {
		a := e.do(t, "GET", "/api/metrics?fields[metric]=name,integration", "")
		names := map[string]string{}
		for _, d := range a.body["data"].([]any) {
			m := d.(map[string]any)
			attrs := m["attributes"].(map[string]any)
			integration := attrs["integration"].(map[string]any)["name"]
			names[attrs["name"].(string)] = integration.(string)
			if attrs["name"] == klaviyosim.MetricUnsubscribedEmail {
				unsubMetric = m["id"].(string)
			}
		}
		for _, n := range []string{klaviyosim.MetricUnsubscribedEmail, klaviyosim.MetricMarkedSpam, klaviyosim.MetricBouncedEmail} {
			if names[n] != klaviyosim.IntegrationKlaviyo {
				t.Errorf("metrics %v: want %s of integration Klaviyo", names, n)
			}
		}
	})

	t.Run("Events", func(t *testing.T) {
		path := `/api/events?fields[event]=datetime&fields[profile]=email,external_id&include=profile&sort=datetime` +
			`&filter=and(equals(metric_id,"` + unsubMetric + `"),greater-than(datetime,` + start.Format(time.RFC3339) + `))`
		a := e.do(t, "GET", path, "")
		data, _ := a.body["data"].([]any)
		inc, _ := a.body["included"].([]any)
		if a.status != http.StatusOK || len(data) != 1 || len(inc) != 1 || next(a) != "" {
			t.Fatalf("GET %s = %d %v, want ann's unsubscribe alone", path, a.status, a.body)
		}
		ev := data[0].(map[string]any)
		if dt := ev["attributes"].(map[string]any)["datetime"]; dt != unsubscribed.Format("2006-01-02T15:04:05+00:00") {
			t.Errorf("datetime %v, want %s", dt, unsubscribed)
		}
		prof := inc[0].(map[string]any)
		attrs := prof["attributes"].(map[string]any)
		if prof["id"] != ann || attrs["email"] != "ann@example.com" || attrs["external_id"] != "ct_ann" || len(attrs) != 2 {
			t.Errorf("included %v, want ann with email and external_id only", prof)
		}
		later := `/api/events?filter=equals(metric_id,"` + unsubMetric + `"),greater-than(datetime,` + unsubscribed.Format(time.RFC3339) + `)`
		if a := e.do(t, "GET", later, ""); len(ids(a)) != 0 {
			t.Errorf("strictly after the unsubscribe: %v", ids(a))
		}
	})

	t.Run("Paging", func(t *testing.T) {
		var got []string
		for path, n := "/api/events?page[size]=2&sort=datetime", 0; path != ""; n++ {
			if n > 3 {
				t.Fatal("no end")
			}
			a := e.do(t, "GET", path, "")
			got, path = append(got, ids(a)...), next(a)
		}
		if len(got) != 3 {
			t.Errorf("events %v, want the bounce, the unsubscribe and the complaint once each", got)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		for _, path := range []string{
			"/api/events?filter=equals(profile_id,%22x%22)",
			"/api/events?sort=-datetime",
			"/api/events?page[size]=1001",
			"/api/profiles?filter=greater-than(updated,2026-05-01T00:00:00Z)",
			"/api/profiles?sort=-updated",
			"/api/profiles?page[cursor]=%21%21",
			"/api/metrics?filter=equals(name,%22x%22)",
		} {
			if a := e.do(t, "GET", path, ""); a.status != http.StatusBadRequest {
				t.Errorf("GET %s = %d, want 400: the simulator does not model it", path, a.status)
			}
		}
	})
}
