package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/skill"
)

const notifySecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

// receiver is a local webhook endpoint that records what it is sent and
// answers 500 to the first fail requests.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	fail int
	got  []received
}

type received struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if r.fail > 0 {
			r.fail--
			status = http.StatusInternalServerError
		}
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// waitFor waits until the receiver got at least n requests.
func (r *receiver) waitFor(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.received(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("receiver got %d requests, want %d", len(r.received()), n)
	return nil
}

func withNotifications(webhook, slackURL string, events ...string) envOption {
	return func(c *Config) {
		c.Notifications = NotificationsConfig{SlackWebhookURL: slackURL, Events: events}
		if webhook != "" {
			c.Notifications.WebhookURL, c.Notifications.Secret = webhook, notifySecret
		}
		c.Skills.CustomerSync.Owner = "ops@example.com"
	}
}

func withSQLite(path string) envOption {
	return func(c *Config) { c.Storage = StorageConfig{Driver: "sqlite", DSN: path} }
}

// failDelivery queues customer-sync deliveries of contacts that do not
// exist: the worker dead-letters each, through the same path as any
// permanent failure.
func (e *env) failDelivery(records ...string) {
	e.t.Helper()
	ctx := context.Background()
	err := e.m.DB.Tx(ctx, func(tx synclayer.Tx) error {
		for _, r := range records {
			if err := tx.EnqueueJob(ctx, skill.CustomerSyncName, "brevo", r, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.m.wake("")
}

func decodeEvent(t *testing.T, b []byte) (typ string, data map[string]any) {
	t.Helper()
	var ev struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(b, &ev); err != nil || ev.Timestamp.IsZero() {
		t.Fatalf("body %s: %v", b, err)
	}
	return ev.Type, ev.Data
}

// TestNotifications_SyncFailed: a dead-lettered delivery sends exactly one
// sync_failed, signed so that the official Standard Webhooks library
// verifies it; the receiver's 500 is retried with the same webhook-id; a
// successful delivery sends nothing, since only sync_failed is configured;
// and Slack hears of the failures once, naming the owner.
func TestNotifications_SyncFailed(t *testing.T) {
	t.Parallel()
	hook, slackHook := newReceiver(t, 1), newReceiver(t, 0)
	e := startEnv(t, brevosim.Options{}, withNotifications(hook.URL, slackHook.URL, "sync_failed"))
	e.shopify("customers/create", shopifyCustomer(1401, "fine@example.com", "Fine", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	e.failDelivery("ct_gone_1")

	got := hook.waitFor(t, 2)
	e.waitIdle(10 * time.Second)
	got = hook.received()
	if len(got) != 2 || got[0].status != 500 || got[1].status != 200 {
		t.Fatalf("webhook requests: %d (%v), want a 500 then a 200", len(got), got)
	}
	wh, err := standardwebhooks.NewWebhook(notifySecret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("request %d: signature does not verify: %v", i, err)
		}
	}
	if id := got[0].header.Get("webhook-id"); id == "" || got[1].header.Get("webhook-id") != id {
		t.Errorf("webhook-ids %q and %q: a retry must reuse its id", id, got[1].header.Get("webhook-id"))
	}
	typ, data := decodeEvent(t, got[1].body)
	if typ != "sync_failed" || data["skill"] != "customer-sync" || data["contactId"] != "ct_gone_1" || data["reason"] == "" {
		t.Errorf("sync_failed body: %s", got[1].body)
	}
	if string(got[0].body) != string(got[1].body) {
		t.Errorf("the retry's body differs:\n%s\n%s", got[0].body, got[1].body)
	}

	e.failDelivery("ct_gone_2", "ct_gone_3")
	hook.waitFor(t, 4)
	e.waitIdle(10 * time.Second)
	ids := map[string]bool{}
	for _, r := range hook.received()[1:] {
		ids[r.header.Get("webhook-id")] = true
	}
	if len(ids) != 3 {
		t.Errorf("distinct sync_failed notifications: %d, want one per dead-lettered job (3)", len(ids))
	}
	msgs := slackHook.received()
	if len(msgs) != 1 {
		t.Fatalf("Slack messages: %d, want 1 for one incident of 3 failures", len(msgs))
	}
	var m struct{ Text string }
	_ = json.Unmarshal(msgs[0].body, &m)
	if !contains(m.Text, "customer-sync", "ops@example.com", "ct_gone_1") {
		t.Errorf("Slack text %q must name the skill, its owner and the record", m.Text)
	}
	incidents, _ := e.m.DB.FindIncidents(context.Background(), 10)
	if len(incidents) != 1 || incidents[0].Failures != 3 || !incidents[0].Open() {
		t.Errorf("incidents: %+v, want one open incident counting 3 failures", incidents)
	}
}

// TestNotifications_IncidentSurvivesRestart: a restart inside an open
// incident does not alert again.
func TestNotifications_IncidentSurvivesRestart(t *testing.T) {
	t.Parallel()
	slackHook := newReceiver(t, 0)
	db := filepath.Join(t.TempDir(), "synclayer.db")
	e := startEnv(t, brevosim.Options{}, withSQLite(db), withNotifications("", slackHook.URL))
	e.failDelivery("ct_gone_1")
	slackHook.waitFor(t, 1)
	e.waitIdle(10 * time.Second)
	e.m.Close()

	again := startEnv(t, brevosim.Options{}, withSQLite(db), withNotifications("", slackHook.URL))
	again.failDelivery("ct_gone_2")
	again.waitIdle(10 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if inc, _ := again.m.DB.FindIncidents(context.Background(), 10); len(inc) == 1 && inc[0].Failures == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if inc, _ := again.m.DB.FindIncidents(context.Background(), 10); len(inc) != 1 || inc[0].Failures != 2 {
		t.Fatalf("incidents after the restart: %+v, want the one incident counting both failures", inc)
	}
	if n := len(slackHook.received()); n != 1 {
		t.Errorf("Slack messages: %d, want 1: the restart must not alert the open incident again", n)
	}
}

// TestNotifications_SyncCompletedOnly: only configured types are sent.
func TestNotifications_SyncCompletedOnly(t *testing.T) {
	t.Parallel()
	hook := newReceiver(t, 0)
	e := startEnv(t, brevosim.Options{}, withNotifications(hook.URL, "", "sync_completed"))
	e.failDelivery("ct_gone_1")
	e.shopify("customers/create", shopifyCustomer(1402, "done@example.com", "Done", 0, "subscribed", 0))
	got := hook.waitFor(t, 1)
	e.waitIdle(10 * time.Second)
	if got = hook.received(); len(got) != 1 {
		t.Fatalf("webhook requests: %d, want 1 sync_completed and no sync_failed", len(got))
	}
	if typ, data := decodeEvent(t, got[0].body); typ != "sync_completed" || data["contactId"] == "" || data["reason"] != nil {
		t.Errorf("sync_completed body: %s", got[0].body)
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
