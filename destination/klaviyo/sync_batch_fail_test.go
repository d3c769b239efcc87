package klaviyo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

func TestContactSync_BatchRefusedRows(t *testing.T) {
	b := mustBatcher(t, klaviyosim.Options{}, `{}`)
	var cs []*synclayer.Contact
	want := map[string]string{}
	for i := range 400 {
		c := person(i)
		switch {
		case i%3 == 0: // an address Go accepts and Klaviyo does not
			c.Email = fmt.Sprintf("p%d@localhost", i)
			c.Fields["email"] = synclayer.Field{Value: json.RawMessage(`"` + c.Email + `"`), At: t0}
			want[c.ID] = "Invalid email address"
		case i%7 == 0:
			c.Fields["phone"] = synclayer.Field{Value: json.RawMessage(`"12345"`), At: t0}
			want[c.ID] = "Invalid phone number"
		}
		cs = append(cs, c)
	}
	realtime, refused := b.send(t, cs)
	if len(realtime) != 0 || len(refused) != len(want) {
		t.Fatalf("realtime %v; %d refused, want %d", realtime, len(refused), len(want))
	}
	for id, w := range want {
		if !strings.Contains(refused[id], w) || !strings.Contains(refused[id], "/data/attributes/profiles/data/") {
			t.Errorf("%s refused %q, want %q with its pointer", id, refused[id], w)
		}
	}
	if j := b.sim.BulkJobs()[0]; j.Failed != len(want) || j.Completed != 400-len(want) {
		t.Fatalf("job %+v", j)
	}
	// 134 + 38 errors take two pages of 100.
	if n := b.sim.CallCount("GET", "/api/profile-bulk-import-jobs/"+b.sim.BulkJobs()[0].ID+"/import-errors"); n != 2 {
		t.Errorf("%d import-error pages read, want 2", n)
	}
	if _, ok := b.sim.Profile("01BATCH00003"); ok {
		t.Error("a refused profile was created")
	}
	if _, ok := b.states["01BATCH00003"]; ok {
		t.Error("a refused row's Next was recorded")
	}
}

// After a restart the client no longer knows the job's rows: the
// pointers still place Klaviyo's refusals.
func TestContactSync_BatchCheckedAfterRestart(t *testing.T) {
	b := mustBatcher(t, klaviyosim.Options{}, `{}`)
	bad := person(2)
	bad.Email = "p2@localhost"
	bad.Fields["email"] = synclayer.Field{Value: json.RawMessage(`"p2@localhost"`), At: t0}
	var rows []json.RawMessage
	for _, c := range []*synclayer.Contact{person(0), person(1), bad} {
		r, err := b.b.PlanBatch(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r.Row)
	}
	id, err := b.b.SendBatch(context.Background(), "", rows)
	if err != nil {
		t.Fatal(err)
	}
	fresh := mustBatcherAt(t, b.url)
	done, refused, err := fresh.CheckBatch(context.Background(), id)
	if err != nil || !done || len(refused) != 1 || !strings.Contains(refused[2], "Invalid email") {
		t.Fatalf("CheckBatch = %v %v %v, want row 2 refused", done, refused, err)
	}
}

func mustBatcherAt(t *testing.T, url string) synclayer.ContactBatcher {
	t.Helper()
	d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"`+testKey+`","base_url":"`+url+`"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := d.(*klaviyo.Destination).ContactSync(synclayer.ContactSyncConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return cs.(synclayer.ContactBatcher)
}

// No request of a batch changes consent, whatever Klaviyo holds.
func TestContactSync_BatchKeepsConsent(t *testing.T) {
	b := mustBatcher(t, klaviyosim.Options{}, `{"list_id":"`+listID+`"}`)
	sub, optedOut, suppressed, never := person(0), person(1), person(2), person(3)
	sub.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: t0}
	optedOut.EmailConsent, suppressed.EmailConsent = sub.EmailConsent, sub.EmailConsent
	all := []*synclayer.Contact{sub, optedOut, suppressed, never}
	for _, c := range all {
		b.state = nil
		b.mustDeliver(t, c)
		b.states[c.ID] = b.state
	}
	b.sim.UnsubscribeInKlaviyo(optedOut.Email)
	b.sim.Suppress(suppressed.Email, "SPAM_COMPLAINT")
	before := b.sim.Profiles()
	members := b.sim.ListMembers(listID)
	subJobs := len(b.sim.Jobs())
	for _, c := range all {
		c.Fields["totalOrders"] = synclayer.Field{Value: json.RawMessage(`9`), At: t0.Add(time.Hour)}
	}
	// Klaviyo's opt-outs are not known to synclayer yet; the batch must
	// carry no consent anyway.
	realtime, refused := b.send(t, all)
	if len(realtime) != 0 || len(refused) != 0 {
		t.Fatalf("realtime %v, refused %v", realtime, refused)
	}
	after := b.sim.Profiles()
	for i, p := range after {
		q := before[i]
		if p.EmailConsent != q.EmailConsent || p.ConsentMethod != q.ConsentMethod || !p.ConsentAt.Equal(q.ConsentAt) ||
			fmt.Sprint(p.Suppressions) != fmt.Sprint(q.Suppressions) || fmt.Sprint(p.ListSuppressions) != fmt.Sprint(q.ListSuppressions) {
			t.Errorf("%s consent %s %v, was %s %v", p.Email, p.EmailConsent, p.Suppressions, q.EmailConsent, q.Suppressions)
		}
		if p.Properties["Total Orders"] != float64(9) {
			t.Errorf("%s Total Orders %v, want 9", p.Email, p.Properties["Total Orders"])
		}
	}
	if m := b.sim.ListMembers(listID); fmt.Sprint(m) != fmt.Sprint(members) || len(b.sim.Jobs()) != subJobs {
		t.Errorf("list members %v (were %v), %d subscription jobs (were %d)", m, members, len(b.sim.Jobs()), subJobs)
	}
	for _, c := range b.sim.Calls() {
		if c.Method == "POST" && c.Path == "/api/profile-bulk-import-jobs" &&
			(strings.Contains(string(c.Body), "subscriptions") || strings.Contains(string(c.Body), "relationships")) {
			t.Errorf("a bulk job carries consent or a list: %s", c.Body)
		}
	}
}

func TestContactSync_BatchFailures(t *testing.T) {
	rows := func(t *testing.T, b *batcher, n int) []json.RawMessage {
		var out []json.RawMessage
		for i := range n {
			r, err := b.b.PlanBatch(person(i), nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r.Row)
		}
		return out
	}
	t.Run("OverLimits", func(t *testing.T) {
		b := mustBatcher(t, klaviyosim.Options{}, `{}`)
		row := rows(t, b, 1)[0]
		many := make([]json.RawMessage, klaviyo.MaxBulkImportProfiles+1)
		for i := range many {
			many[i] = row
		}
		if _, err := b.b.SendBatch(context.Background(), "", many); kind(err) != "permanent" || !strings.Contains(err.Error(), "10000") {
			t.Fatalf("SendBatch of 10,001 = %v, want permanent", err)
		}
		if _, err := b.b.SendBatch(context.Background(), "list", rows(t, b, 1)); kind(err) != "permanent" {
			t.Fatalf("SendBatch to a group = %v, want permanent", err)
		}
		if n := len(b.sim.Calls()); n != 0 {
			t.Fatalf("%d calls", n)
		}
	})
	t.Run("OutageIsRetryable", func(t *testing.T) {
		b := mustBatcher(t, klaviyosim.Options{}, `{}`)
		b.sim.SetOutage(klaviyosim.Outage500)
		if _, err := b.b.SendBatch(context.Background(), "", rows(t, b, 3)); kind(err) != "retryable" {
			t.Fatalf("SendBatch in an outage = %v (%s), want retryable", err, kind(err))
		}
		b.sim.SetOutage(klaviyosim.OutageNone)
		id, err := b.b.SendBatch(context.Background(), "", rows(t, b, 3))
		if err != nil {
			t.Fatal(err)
		}
		b.sim.SetOutage(klaviyosim.Outage500)
		if _, _, err := b.b.CheckBatch(context.Background(), id); kind(err) != "retryable" {
			t.Fatalf("CheckBatch in an outage = %v, want retryable", err)
		}
	})
	t.Run("CancelledSendsAgain", func(t *testing.T) {
		b := mustBatcher(t, klaviyosim.Options{}, `{}`)
		id, err := b.b.SendBatch(context.Background(), "", rows(t, b, 3))
		if err != nil || !b.sim.CancelBulkJob(id) {
			t.Fatalf("SendBatch: %v", err)
		}
		done, _, err := b.b.CheckBatch(context.Background(), id)
		// Permanent is the flusher's "failed as a whole": the contacts are
		// queued again rather than the job checked again.
		if done || kind(err) != "permanent" || !klaviyo.IsBulkJobError(err) || !strings.Contains(err.Error(), "cancelled by Klaviyo") {
			t.Fatalf("CheckBatch of a cancelled job = %v, %v", done, err)
		}
		if len(b.sim.Profiles()) != 0 {
			t.Fatal("a cancelled job applied profiles")
		}
	})
	t.Run("UnknownJobSendsAgain", func(t *testing.T) {
		b := mustBatcher(t, klaviyosim.Options{}, `{}`)
		if done, _, err := b.b.CheckBatch(context.Background(), "01NOSUCHJOB"); done || kind(err) != "permanent" || !klaviyo.IsNotFound(err) {
			t.Fatalf("CheckBatch of an unknown job = %v, %v, want permanent 404", done, err)
		}
	})
	t.Run("Processing", func(t *testing.T) {
		var mu sync.Mutex
		now := t0
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		b := mustBatcher(t, klaviyosim.Options{BulkJobDelay: time.Minute, Now: clock}, `{}`)
		id, err := b.b.SendBatch(context.Background(), "", rows(t, b, 3))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if done, _, err := b.b.CheckBatch(context.Background(), id); done || err != nil {
				t.Fatalf("CheckBatch before the delay = %v, %v", done, err)
			}
		}
		if s := b.sim.BulkJobs()[0].Status; s != "processing" || len(b.sim.Profiles()) != 0 {
			t.Fatalf("status %s, %d profiles", s, len(b.sim.Profiles()))
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if done, refused, err := b.b.CheckBatch(context.Background(), id); !done || len(refused) != 0 || err != nil {
			t.Fatalf("CheckBatch after the delay = %v, %v, %v", done, refused, err)
		}
		if len(b.sim.Profiles()) != 3 {
			t.Fatalf("%d profiles", len(b.sim.Profiles()))
		}
	})
}
