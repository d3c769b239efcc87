package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/store"
	"synclayer/store/storetest"
)

// testServer is a dashboard on a fresh SQLite store, at a fixed now, with
// a viewer key for bearer requests.
type testServer struct {
	t      *testing.T
	db     *store.DB
	h      http.Handler
	secret string
	now    time.Time
}

func newTestServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	db := storetest.OpenSQLite(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	key, secret, err := synclayer.NewAPIKey(synclayer.RoleViewer, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: db, Stats: db, Keys: db, Rejections: db, Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	return &testServer{t: t, db: db, h: New(cfg).Handler(), secret: secret, now: now}
}

// get returns the status, Location and body of GET path.
func (ts *testServer) get(path string) (int, string, string) {
	ts.t.Helper()
	r := httptest.NewRequest("GET", "http://sync.example"+path, nil)
	r.Header.Set("Authorization", "Bearer "+ts.secret)
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w.Code, w.Header().Get("Location"), w.Body.String()
}

// end runs one job of skill for key to outcome at.
func (ts *testServer) end(skill, key string, at time.Time, outcome synclayer.DeliveryOutcome) {
	ts.t.Helper()
	ctx := context.Background()
	if err := ts.db.Tx(ctx, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, skill, "brevo", key, at) }); err != nil {
		ts.t.Fatal(err)
	}
	jobs, err := ts.db.ClaimJobs(ctx, skill, 1, time.Hour, at)
	if err != nil || len(jobs) != 1 {
		ts.t.Fatalf("claim: %v %v", jobs, err)
	}
	switch outcome {
	case synclayer.DeliveryDelivered:
		err = ts.db.CompleteJob(ctx, jobs[0], nil, nil, at)
	case synclayer.DeliveryRetried:
		err = ts.db.RetryJob(ctx, jobs[0], at.Add(time.Hour), "503 from brevo", nil, at)
	default:
		err = ts.db.DeadJob(ctx, jobs[0], "400 bad", nil, at)
	}
	if err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) event(source, key string, at time.Time, status synclayer.EventStatus) {
	ts.t.Helper()
	ctx := context.Background()
	err := ts.db.Tx(ctx, func(tx synclayer.Tx) error {
		return tx.InsertEvent(ctx, &synclayer.Event{Source: source, DedupeKey: key, Topic: "customers/create", Type: synclayer.EventCustomerCreated,
			OccurredAt: at, ReceivedAt: at, Status: status, Reason: "unusable address", Payload: []byte(`{}`)})
	})
	if err != nil {
		ts.t.Fatal(err)
	}
}

var statRE = regexp.MustCompile(`data-stat="(\w+)"[^>]*>([^<]*)<`)

func stats(html string) map[string]string {
	out := map[string]string{}
	for _, m := range statRE.FindAllStringSubmatch(html, -1) {
		if _, seen := out[m[1]]; !seen {
			out[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return out
}

// TestOverview_FailuresAgreeWithFailuresPage: the overview's count of the
// window's failures is the Failures page's, attempts and events alike,
// with more of each than the Failures page lists and some outside the
// window.
func TestOverview_FailuresAgreeWithFailuresPage(t *testing.T) {
	ts := newTestServer(t, nil)
	in := ts.now.Add(-10 * time.Minute)
	for i := range failuresListed + 3 {
		ts.end("customer-sync", fmt.Sprintf("ct_r%d", i), in, synclayer.DeliveryRetried)
	}
	ts.end("order-events", "ord_1", in, synclayer.DeliveryDead)
	ts.end("customer-sync", "ct_ok", in, synclayer.DeliveryDelivered)
	ts.end("customer-sync", "ct_old", ts.now.Add(-2*time.Hour), synclayer.DeliveryDead) // outside 1h
	for i := range failuresListed + 2 {
		ts.event("shopify", fmt.Sprintf("bad%d", i), in, synclayer.EventFailed)
	}
	ts.event("shopify", "old", ts.now.Add(-3*time.Hour), synclayer.EventFailed)
	ts.event("shopify", "good", in, "")

	_, _, overview := ts.get("/ui/?window=1h")
	_, _, failures := ts.get("/ui/failures?window=1h")
	o, f := stats(overview), stats(failures)
	want := map[string]string{"failedDeliveries": fmt.Sprint(failuresListed + 4), "failedEvents": fmt.Sprint(failuresListed + 2),
		"failures": fmt.Sprint(2*failuresListed + 6)}
	for k, w := range want {
		if o[k] != w || f[k] != w {
			t.Errorf("%s: overview %q, Failures page %q, want %s on both", k, o[k], f[k], w)
		}
	}
	if !strings.Contains(failures, fmt.Sprintf("the newest %d of %d", failuresListed, failuresListed+4)) {
		t.Error("the Failures page does not say it lists only the newest failed attempts")
	}
	if n := strings.Count(failures, "unusable address"); n != failuresListed {
		t.Errorf("the Failures page lists %d failed events, want %d (all in the window)", n, failuresListed)
	}
}

// TestOverview_EnabledSkillsFirst: enabled skills, then disabled ones,
// then queues of no configured skill; a skill's queue on another
// destination counts as the skill's. Each card has its chart.
func TestOverview_EnabledSkillsFirst(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Skills = func(context.Context) ([]Skill, error) {
			return []Skill{{Name: "cart-events"}, {Name: "customer-sync", Enabled: true}, {Name: "abandoned"}, {Name: "order-events", Enabled: true}}, nil
		}
	})
	ts.end("customer-sync@klaviyo", "ct_1", ts.now.Add(-time.Minute), synclayer.DeliveryDelivered)
	ts.end("legacy", "ct_1", ts.now.Add(-time.Minute), synclayer.DeliveryDelivered)
	status, _, body := ts.get("/ui/?window=15m")
	if status != 200 {
		t.Fatalf("overview: %d\n%s", status, body)
	}
	var order []string
	for _, m := range regexp.MustCompile(`data-skill="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		order = append(order, m[1])
	}
	want := "customer-sync customer-sync@klaviyo order-events abandoned cart-events legacy"
	if strings.Join(order, " ") != want {
		t.Errorf("cards in order %v, want %s", order, want)
	}
	if n := strings.Count(body, `<svg class="chart"`); n != 6 {
		t.Errorf("%d charts, want one per card (6)", n)
	}
	if !strings.Contains(body, "no deliveries in this window") || !strings.Contains(body, "1 delivered") {
		t.Error("the charts do not show the idle skills as empty and the busy ones' deliveries")
	}
}

func TestContactSearch_PartialAndPaged(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := context.Background()
	var dana string
	for i := range contactsPerPage + 5 {
		c := &synclayer.Contact{SourceIDs: map[string]string{"shopify": fmt.Sprint(i)}}
		email, first := fmt.Sprintf("user%02d@example.com", i), "Sam"
		if i == 7 {
			email, first = "dana.x@shop.test", "Dana"
		}
		synclayer.Merge(c, &synclayer.CustomerChange{SourceID: fmt.Sprint(i), Fields: map[string]json.RawMessage{
			"email": json.RawMessage(fmt.Sprintf("%q", email)), "firstName": json.RawMessage(fmt.Sprintf("%q", first))}},
			synclayer.MergeContext{Source: "shopify", At: ts.now.Add(time.Duration(i) * time.Second)})
		if err := ts.db.Tx(ctx, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			dana = c.ID
		}
	}
	if status, loc, _ := ts.get("/ui/contacts?q=DANA"); status != http.StatusSeeOther || loc != "/ui/contacts/"+dana {
		t.Errorf("a name that one contact has: %d to %q, want its page", status, loc)
	}
	if status, loc, _ := ts.get("/ui/contacts?email=dana.x@shop.test"); status != http.StatusSeeOther || loc != "/ui/contacts/"+dana {
		t.Errorf("?email= as before: %d to %q", status, loc)
	}
	status, _, body := ts.get("/ui/contacts?q=example.COM")
	if status != 200 || strings.Count(body, `href="/ui/contacts/ct_`) != contactsPerPage || !strings.Contains(body, `href="/ui/contacts?page=2&amp;q=example.COM"`) {
		t.Errorf("page 1: %d, %d contacts, next link %v", status, strings.Count(body, `href="/ui/contacts/ct_`), strings.Contains(body, "page=2"))
	}
	_, _, body = ts.get("/ui/contacts?q=example.COM&page=2")
	if n := strings.Count(body, `href="/ui/contacts/ct_`); n != 4 || strings.Contains(body, `rel="next"`) || !strings.Contains(body, `rel="prev"`) {
		t.Errorf("page 2: %d contacts, want the last 4, a previous link and no next", n)
	}
	if status, _, body := ts.get("/ui/contacts?q=100%25_off"); status != 200 || !strings.Contains(body, "No contact has") {
		t.Errorf("a query of wildcards matches nothing: %d", status)
	}
	if status, _, _ := ts.get("/ui/contacts?q=x&page=0"); status != 400 {
		t.Errorf("page 0: %d, want 400", status)
	}
}

type budgets []synclayer.RateBudget

func (b budgets) RateBudgets() []synclayer.RateBudget { return b }

func TestConnections(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Connections = func(context.Context) (Connections, error) {
			return Connections{
				Sources: []Source{{Name: "shopify", Type: "shopify", WebhookURL: "https://sync.example/webhooks/shopify", WriteBackQueue: "consent-writeback@shopify"},
					{Name: "woo", Type: "woocommerce", WebhookURL: "https://sync.example/webhooks/woo"},
					{Name: "custom", Type: "custom", WebhookURL: "https://sync.example/webhooks/custom"}},
				Destinations: []Destination{
					{Name: "brevo", Type: "brevo", CredentialsKey: "destinations.brevo.api_key",
						Budget:  budgets{{Bucket: "contacts", Remaining: 7, Limit: 10, Reset: time.Now().Add(time.Minute)}},
						Inbound: "/webhooks/brevo", ReconcileEvery: 15 * time.Minute, LastReconciled: time.Now().Add(-5 * time.Minute)},
					{Name: "klaviyo", Type: "klaviyo", CredentialsKey: "destinations.klaviyo.api_key",
						Rejected: errors.New("x"), Budget: budgets{}},
					{Name: "mailchimp", Type: "mailchimp", CredentialsKey: "destinations.mailchimp.api_key", Simulated: true},
				},
			}, nil
		}
	})
	ts.event("shopify", "a", ts.now.Add(-2*time.Hour), "")
	ts.event("custom", "b", ts.now.Add(-30*time.Hour), "")
	ctx := context.Background()
	for i, at := range []time.Time{ts.now.Add(-3 * time.Hour), ts.now.Add(-20 * time.Minute), ts.now.Add(-10 * time.Minute)} {
		_ = ts.db.RecordRejection(ctx, &synclayer.Rejection{Source: "shopify", ReceivedAt: at, Status: 401, Code: "unauthorized", Message: fmt.Sprintf("bad signature %d", i)}, 1000)
	}
	ts.end("customer-sync", "ct_1", ts.now, synclayer.DeliveryDead)
	ts.end("customer-sync@klaviyo", "ct_1", ts.now, synclayer.DeliveryRetried)
	ts.end("order-events", "ct_2", ts.now, synclayer.DeliveryRetried)
	ts.end("consent-writeback@shopify", "ct_3", ts.now, synclayer.DeliveryDead)

	status, _, body := ts.get("/ui/connections?window=1h")
	if status != 200 {
		t.Fatalf("connections: %d\n%s", status, body)
	}
	row := func(attr, name string) map[string]string {
		i := strings.Index(body, attr+`="`+name+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", name)
		}
		return stats(body[i : i+strings.Index(body[i:], "</tr>")])
	}
	if r := row("data-source", "shopify"); r["rejects"] != "2" || r["silent"] != "" || r["lastWebhook"] == "" || r["writeBack"] != "on" {
		t.Errorf("shopify: %v, want 2 rejects in the hour, not silent, writing opt-outs back", r)
	}
	if i := strings.Index(body, `data-source="shopify"`); !strings.Contains(body[i:i+strings.Index(body[i:], "</tr>")], "1 dead") {
		t.Error("the Shopify row does not count its dead write-back")
	}
	if !strings.Contains(body, "401 bad signature 2") || !strings.Contains(body, "https://sync.example/webhooks/shopify") {
		t.Error("the page does not show the newest reject's reason or the webhook URL")
	}
	if r := row("data-source", "custom"); r["silent"] != "silent for 30 h" {
		t.Errorf("custom: %v, want silent for 30 h", r)
	}
	if r := row("data-source", "woo"); r["silent"] != "no webhook received yet" {
		t.Errorf("woo: %v", r)
	}
	if r := row("data-destination", "brevo"); r["credentials"] != "ok" || r["backlog"] != "2" {
		t.Errorf("brevo: %v, want ok and a backlog of 2 (a dead customer-sync job, a pending order-events one)", r)
	}
	if !strings.Contains(body, "<b>7</b> of 10") {
		t.Error("brevo's rate-limit budget is not shown")
	}
	if r := row("data-destination", "brevo"); !strings.Contains(r["reconciled"], "read every 15m 00s, last") {
		t.Errorf("brevo's reconciliation: %q", r["reconciled"])
	}
	if r := row("data-destination", "klaviyo"); r["credentials"] != "rejected" || r["backlog"] != "1" {
		t.Errorf("klaviyo: %v", r)
	}
	if r := row("data-destination", "mailchimp"); r["credentials"] != "simulator" || r["backlog"] != "0" {
		t.Errorf("mailchimp: %v", r)
	}
	if !strings.Contains(body, "not reported by this platform") || !strings.Contains(body, "not reported yet") {
		t.Error("a destination without a budget does not say why")
	}
}
