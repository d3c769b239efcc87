package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/adminclient"
	"synclayer/destination/brevo/brevosim"
)

// TestReplay_API: after a mapping change, a replay delivers the new field
// to the contacts of the window; an opted-out contact is not resubscribed,
// and a second replay, with nothing changed, writes nothing to Brevo.
func TestReplay_API(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	admin, op := a.keys[synclayer.RoleAdmin], a.keys[synclayer.RoleOperator]
	narrow := customerSyncConfig(5, "shopify", "woocommerce", "custom") // no lastName
	if status, reply := a.call("PUT", "/api/v1/skills/customer-sync", admin, narrow); status != 200 {
		t.Fatalf("PUT: %d %v", status, reply)
	}
	a.shopify("customers/create", shopifyCustomer(1501, "replay@example.com", "Re", 0, "subscribed", 0))
	a.shopify("customers/create", shopifyCustomer(1502, "optout@example.com", "Out", 0, "unsubscribed", 0))
	a.waitIdle(10 * time.Second)
	if got := a.contact("replay@example.com").Attributes["LASTNAME"]; got != nil {
		t.Fatalf("LASTNAME delivered before it was mapped: %v", got)
	}

	wide := customerSyncConfig(5, "shopify", "woocommerce", "custom")
	wide["field_mapping"].(map[string]string)["lastName"] = "LASTNAME"
	if status, reply := a.call("PUT", "/api/v1/skills/customer-sync", admin, wide); status != 200 {
		t.Fatalf("PUT: %d %v", status, reply)
	}

	status, reply := a.call("POST", "/api/v1/replay", op, map[string]any{"since": "1h", "dryRun": true})
	if status != 200 || reply["events"] != 2.0 || reply["contacts"] != 2.0 || reply["jobs"] != 0.0 {
		t.Fatalf("dry run: %d %v", status, reply)
	}
	status, reply = a.call("POST", "/api/v1/replay", op, map[string]any{"since": "1h", "source": "shopify"})
	if status != 202 || reply["events"] != 2.0 || reply["jobs"] != 2.0 || fmt.Sprint(reply["destinations"]) != "[brevo]" {
		t.Fatalf("replay: %d %v", status, reply)
	}
	a.waitIdle(10 * time.Second)
	if got := a.contact("replay@example.com").Attributes["LASTNAME"]; got != "Doe" {
		t.Errorf("after the replay Brevo holds LASTNAME %v, want Doe", got)
	}
	if c := a.contact("optout@example.com"); !c.EmailBlacklisted || a.sentBlacklistFalse() {
		t.Errorf("the replay resubscribed an opt-out: %+v", c)
	}

	writes := a.contactCalls("POST") + a.contactCalls("PUT")
	status, reply = a.call("POST", "/api/v1/replay", op, map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	if status != 202 || reply["jobs"] != 2.0 {
		t.Fatalf("second replay: %d %v", status, reply)
	}
	a.waitIdle(10 * time.Second)
	if got := a.contactCalls("POST") + a.contactCalls("PUT"); got != writes {
		t.Errorf("a replay of unchanged contacts wrote to Brevo: %d writes, was %d", got, writes)
	}

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			body  map[string]any
			code  string
			field string
		}{
			{"NoSince", map[string]any{}, synclayer.EINVALID, "since"},
			{"BadSince", map[string]any{"since": "yesterday"}, synclayer.EINVALID, "since"},
			{"UntilBeforeSince", map[string]any{"since": "1h", "until": "2h"}, synclayer.EINVALID, "until"},
			{"UnknownSource", map[string]any{"since": "1h", "source": "magento"}, synclayer.EINVALID, "source"},
			{"OtherSkill", map[string]any{"since": "1h", "skill": "order-events"}, synclayer.EINVALID, "skill"},
			{"UnknownKey", map[string]any{"since": "1h", "dry_run": true}, synclayer.EINVALID, "dry_run"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, reply := a.call("POST", "/api/v1/replay", op, tc.body)
				wantError(t, status, reply, 400, tc.code, tc.field)
			})
		}
	})
}

// TestReplay_CLI: synclayer replay queues in the shared store for the
// running server, and --dry-run only counts.
func TestReplay_CLI(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	e.shopify("customers/create", shopifyCustomer(1601, "cli-replay@example.com", "Cli", 0, "subscribed", 0))
	e.waitIdle(10 * time.Second)
	cfg := e.writeConfig("skills:\n  customer-sync:\n    enabled: true\n    source: [shopify]\n    options: {list_id: 5}\n")

	out, stderr, err := cliRun(t, "replay", "--since", "1h", "--dry-run", "--config", cfg)
	if err != nil || !strings.Contains(out, "1 events from every source") || !strings.Contains(out, "dry run: would queue 1 deliveries on brevo") {
		t.Fatalf("replay --dry-run: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = cliRun(t, "replay", "--since", "1h", "--source", "shopify", "--config", cfg)
	if err != nil || !strings.Contains(out, "queued 1 deliveries on brevo") {
		t.Fatalf("replay: %v\n%s%s", err, out, stderr)
	}
	e.waitIdle(10 * time.Second)
	out, _, err = cliRun(t, "replay", "--since", "2026-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z", "--config", cfg)
	if err != nil || !strings.Contains(out, "nothing to replay") {
		t.Errorf("replay of an empty window: %v\n%s", err, out)
	}
	for _, tc := range []struct{ args, msg string }{
		{"replay", "replay: --since is required"},
		{"replay --since yesterday", `replay: --since: "yesterday" is neither an RFC 3339 time`},
		{"replay --since 1h --until 2h", "replay: --until must be after --since"},
		{"replay --since 1h extra", `replay: unexpected argument "extra"`},
	} {
		_, _, err := cliRun(t, append(strings.Fields(tc.args), "--config", cfg)...)
		if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), tc.msg) {
			t.Errorf("%s: %v (exit %d), want a usage error %q", tc.args, err, exitCode(err), tc.msg)
		}
	}
	_, _, err = cliRun(t, "replay", "--since", "1h", "--source", "magento", "--config", cfg)
	if exitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), `customer-sync does not take "magento"`) {
		t.Errorf("replay --source magento: %v", err)
	}
}

// TestDLQ_RetryAll: POST /api/v1/dlq/retry and synclayer dlq retry --all
// requeue every dead job, past the first page, and --skill/skill narrow it.
func TestDLQ_RetryAll(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	ctx, now := context.Background(), time.Now()
	const n = 1203
	deadAll := func(skill string, count int) {
		t.Helper()
		if err := a.m.DB.Tx(ctx, func(tx synclayer.Tx) error {
			for i := range count {
				if err := tx.EnqueueJob(ctx, skill, "brevo", fmt.Sprint("rec-", i), now); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for left := count; left > 0; {
			jobs, err := a.m.DB.ClaimJobs(ctx, skill, 200, time.Minute, now)
			if err != nil || len(jobs) == 0 {
				t.Fatalf("claim: %d jobs, %v", len(jobs), err)
			}
			for _, j := range jobs {
				if err := a.m.DB.DeadJob(ctx, j, "400 invalid_parameter", nil, now); err != nil {
					t.Fatal(err)
				}
			}
			left -= len(jobs)
		}
	}
	deadAll("dlq-a", n)
	deadAll("dlq-b", 3)

	status, reply := a.call("POST", "/api/v1/dlq/retry", a.keys[synclayer.RoleOperator], map[string]any{"skill": "dlq-b"})
	if status != 200 || reply["requeued"] != 3.0 {
		t.Fatalf("retry dlq-b: %d %v", status, reply)
	}
	cfg := a.writeConfig("")
	out, stderr, err := cliRun(t, "dlq", "retry", "--all", "--skill", "dlq-a", "--config", cfg)
	if err != nil || out != fmt.Sprintf("%d dead-lettered jobs requeued\n", n) {
		t.Fatalf("dlq retry --all --skill dlq-a: %v\n%s%s", err, out, stderr)
	}
	if counts, _ := a.m.DB.CountJobs(ctx); counts[synclayer.JobDead] != 0 || counts[synclayer.JobPending] != n+3 {
		t.Errorf("after retrying all: %v", counts)
	}
	status, reply = a.call("POST", "/api/v1/dlq/retry", a.keys[synclayer.RoleOperator], nil)
	if status != 200 || reply["requeued"] != 0.0 {
		t.Errorf("retry with nothing dead: %d %v", status, reply)
	}
	if _, _, err := cliRun(t, "dlq", "retry", "7", "--skill", "dlq-a", "--config", cfg); exitCode(err) != 2 {
		t.Errorf("--skill without --all: %v", err)
	}
}

// TestClient_ReplayAndRetryAll: the admin client's Replay and
// DLQ().RetryAll.
func TestClient_ReplayAndRetryAll(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	ctx := context.Background()
	c := a.newClient(synclayer.RoleOperator)
	a.shopify("customers/create", shopifyCustomer(1701, "client-replay@example.com", "Cl", 0, "subscribed", 0))
	a.waitIdle(10 * time.Second)

	res, err := c.Replay(ctx, adminclient.ReplayRequest{Since: "24h", DryRun: true})
	if err != nil || res.Events != 1 || res.Contacts != 1 || res.Jobs != 0 || !res.DryRun || res.Skill != "customer-sync" {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if res, err = c.Replay(ctx, adminclient.ReplayRequest{Since: "24h", Source: "shopify"}); err != nil || res.Jobs != 1 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	_, err = c.Replay(ctx, adminclient.ReplayRequest{Since: "soon"})
	wantClientError(t, err, 400, synclayer.EINVALID, "since")

	a.deadJob("client-1")
	a.deadJob("client-2")
	if n, err := c.DLQ().RetryAll(ctx, "dlq-test"); err != nil || n != 2 {
		t.Errorf("RetryAll: %d, %v; want 2", n, err)
	}
	if n, err := c.DLQ().RetryAll(ctx, ""); err != nil || n != 0 {
		t.Errorf("RetryAll with nothing dead: %d, %v", n, err)
	}
}
