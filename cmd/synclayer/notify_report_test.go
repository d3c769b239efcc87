package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

func withQuietPeriod(d time.Duration) envOption {
	return func(c *Config) { c.Notifications.QuietPeriod = d }
}

// TestNotifications_SyncFailedAtIngest: a Shopify customer with an
// invalid email is answered failed and sends one sync_failed (stage
// ingest, naming the source record and the event, without the email),
// however often Shopify redelivers the webhook and however often the
// customer is updated with the same email; a dead-lettered delivery still
// sends its own; Slack hears of both once, in one incident.
func TestNotifications_SyncFailedAtIngest(t *testing.T) {
	t.Parallel()
	hook, slackHook := newReceiver(t, 0), newReceiver(t, 0)
	e := startEnv(t, brevosim.Options{}, withNotifications(hook.URL, slackHook.URL, "sync_failed"))
	bad := shopifyCustomer(1501, "not an email@example", "Bad", 0, "subscribed", 0)
	body := mustMarshal(bad)
	for i := range 4 { // the first delivery and 3 redeliveries of one webhook
		status, reply := e.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "wh-bad-1501", body, shopifySecret))
		if status != 200 || i == 0 && fmt.Sprint(reply["status"]) != "failed" && !strings.Contains(fmt.Sprint(reply), "failed") {
			t.Fatalf("delivery %d: %d %v, want 200 and failed", i, status, reply)
		}
	}
	for i := range 2 { // two updates, still with the invalid email
		if status, _ := e.shopify("customers/update", shopifyCustomer(1501, "not an email@example", "Bad", 10+i, "subscribed", 0)); status != 200 {
			t.Fatalf("update %d: %d", i, status)
		}
	}
	got := hook.waitFor(t, 1)
	e.waitIdle(10 * time.Second)
	time.Sleep(300 * time.Millisecond) // a second notification would have been made by now
	e.waitIdle(10 * time.Second)
	if got = hook.received(); len(got) != 1 {
		t.Fatalf("webhook requests: %d, want one sync_failed for the record", len(got))
	}
	typ, data := decodeEvent(t, got[0].body)
	if typ != "sync_failed" || data["stage"] != "ingest" || data["source"] != "shopify" || data["sourceRecordId"] != "1501" ||
		data["field"] != "email" || !strings.HasPrefix(fmt.Sprint(data["eventId"]), "ev_") || data["skill"] != "customer-sync" ||
		!strings.Contains(fmt.Sprint(data["reason"]), "invalid email") {
		t.Errorf("ingest sync_failed body: %s", got[0].body)
	}
	if strings.Contains(string(got[0].body), "not an email") {
		t.Errorf("the body carries the email: %s", got[0].body)
	}

	e.failDelivery("ct_gone_1")
	got = hook.waitFor(t, 2)
	e.waitIdle(10 * time.Second)
	if typ, data := decodeEvent(t, got[1].body); typ != "sync_failed" || data["stage"] != "delivery" || data["contactId"] != "ct_gone_1" {
		t.Errorf("dead-letter sync_failed body: %s", got[1].body)
	}
	if msgs := slackHook.received(); len(msgs) != 1 || !strings.Contains(string(msgs[0].body), "1501") {
		t.Errorf("Slack messages: %d (%v), want 1 naming the record, for the one incident", len(msgs), msgs)
	}
	inc, _ := e.m.DB.FindIncidents(context.Background(), 10)
	if len(inc) != 1 || inc[0].Failures != 2 || inc[0].Skill != "customer-sync" {
		t.Errorf("incidents: %+v, want one counting the record and the dead letter", inc)
	}
}

// TestNotifications_Recovered: once quiet_period passes without a
// failure, Slack gets one recovered message and the webhook one recovered
// event, naming the skill, the duration and the records failed.
func TestNotifications_Recovered(t *testing.T) {
	t.Parallel()
	hook, slackHook := newReceiver(t, 0), newReceiver(t, 0)
	e := startEnv(t, brevosim.Options{}, withNotifications(hook.URL, slackHook.URL, "recovered"), withQuietPeriod(time.Second))
	e.failDelivery("ct_gone_1", "ct_gone_2")
	msgs := slackHook.waitFor(t, 2)
	time.Sleep(1500 * time.Millisecond) // more evaluations send nothing more
	e.waitIdle(10 * time.Second)
	if msgs = slackHook.received(); len(msgs) != 2 {
		t.Fatalf("Slack messages: %d, want the alert and one recovered", len(msgs))
	}
	var m struct{ Text string }
	_ = json.Unmarshal(msgs[1].body, &m)
	if !contains(m.Text, "customer-sync recovered", "ops@example.com", "2 records failed", "lasted") {
		t.Errorf("recovered text: %q", m.Text)
	}
	got := hook.waitFor(t, 1)
	if len(got) != 1 {
		t.Fatalf("webhook requests: %d, want one recovered", len(got))
	}
	typ, data := decodeEvent(t, got[0].body)
	if typ != "recovered" || data["skill"] != "customer-sync" || data["failures"] != 2.0 || data["incident"] != "sync_failed" || data["durationSeconds"] == nil {
		t.Errorf("recovered body: %s", got[0].body)
	}
}

// TestHealthReport_Figures: a known week (3 delivered, 1 dead-lettered, 1
// failed at ingest, 1 merge, 1 opt-out, custom silent) gives those figures,
// and the dashboard page shows them.
func TestHealthReport_Figures(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	e := a.env
	e.shopify("customers/create", shopifyCustomer(1601, "merge@example.com", "Mia", 0, "subscribed", 0))
	e.shopify("customers/create", shopifyCustomer(1602, "out@example.com", "Otto", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	e.woo("customer.created", map[string]any{"id": 61, "email": "merge@example.com", "first_name": "Mia", "last_name": "Doe", "date_modified_gmt": "2026-11-20T10:05:00"})
	e.shopify("customers/update", shopifyCustomer(1602, "out@example.com", "Otto", 60, "unsubscribed", 60))
	e.shopify("customers/create", shopifyCustomer(1603, "bad email@example", "Bad", 0, "", 0))
	e.waitIdle(10 * time.Second)
	e.failDelivery("ct_gone_1")
	e.waitIdle(10 * time.Second)

	r, err := e.m.healthReport(context.Background(), synclayer.ReportWeek, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skills) != 1 || r.Skills[0].Skill != "customer-sync" || r.Skills[0].Dead != 1 || r.Skills[0].Delivered < 3 {
		t.Fatalf("skills: %+v, want customer-sync with 1 dead letter and its deliveries", r.Skills)
	}
	delivered := r.Skills[0].Delivered
	if want := float64(delivered) / float64(delivered+1); r.Skills[0].SuccessRate != want {
		t.Errorf("success rate %v, want %v", r.Skills[0].SuccessRate, want)
	}
	stages := map[string]int{}
	for _, f := range r.Failures {
		stages[f.Stage+" "+f.Name] += f.Count
		if strings.Contains(f.Reason, "bad email") {
			t.Errorf("a failure reason carries the email: %q", f.Reason)
		}
	}
	if stages["ingest shopify"] != 1 || stages["delivery customer-sync"] != 1 {
		t.Errorf("failures: %+v, want 1 at ingest from shopify and 1 dead letter", r.Failures)
	}
	if r.Merges != 1 || r.MergesBy["woocommerce"] != 1 {
		t.Errorf("merges: %d %v, want 1 by woocommerce", r.Merges, r.MergesBy)
	}
	var outs int
	for _, c := range r.Consent {
		if c.Source == "shopify" {
			outs = c.OptOuts
		}
	}
	if outs != 1 {
		t.Errorf("consent: %+v, want 1 opt-out from shopify", r.Consent)
	}
	silent := map[string]bool{}
	for _, s := range r.Sources {
		silent[s.Source] = s.Silent
	}
	if len(silent) != 3 || !silent["custom"] || silent["shopify"] || silent["woocommerce"] {
		t.Errorf("sources: %+v, want custom silent, shopify and woocommerce not", r.Sources)
	}

	status, _, page := a.page("GET", "/ui/report?period=week", nil, a.keys[synclayer.RoleViewer], nil)
	if status != 200 {
		t.Fatalf("report page: %d\n%s", status, page)
	}
	for _, want := range []string{`data-stat="merges">1<`, `data-stat="optOuts">1<`, `data-stat="silent"`, `data-stat="dead" class="bad">1<`,
		fmt.Sprintf(`data-stat="delivered">%d<`, delivered), r.Key} {
		if !strings.Contains(page, want) {
			t.Errorf("report page lacks %s", want)
		}
	}
	if status, _, _ := a.page("GET", "/ui/report?period=year", nil, a.keys[synclayer.RoleViewer], nil); status != 400 {
		t.Errorf("period=year: %d, want 400", status)
	}
	if status, _, page := a.page("GET", "/ui/", nil, a.keys[synclayer.RoleViewer], nil); status != 200 || !strings.Contains(page, "/ui/report?period=month") {
		t.Errorf("the overview does not link the report (%d)", status)
	}
}
