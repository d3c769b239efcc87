package mailchimp_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
)

func TestDataCenter(t *testing.T) {
	for _, tc := range []struct {
		key, want string
		ok        bool
	}{
		{"abc123-us21", "https://us21.api.mailchimp.com/3.0", true},
		{"abc-def-eu1", "https://eu1.api.mailchimp.com/3.0", true},
		{"abc123", "", false},
		{"abc123-", "", false},
		{"abc-us21/evil", "", false},
	} {
		got, err := mailchimp.BaseURLFor(tc.key)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("BaseURLFor(%q) = %q, %v; want %q ok=%v", tc.key, got, err, tc.want, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), tc.key) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}

func TestSubscriberHash(t *testing.T) {
	// The MD5 of "urist.mcvankab@freddiesjokes.com", Mailchimp's own example.
	if got := mailchimp.SubscriberHash("Urist.McVankab@FreddiesJokes.com"); got != "62eeb292278cc15f5817cb78f7790b08" {
		t.Fatalf("hash = %s", got)
	}
}

func TestClient_Errors(t *testing.T) {
	ctx := context.Background()
	t.Run("WrongKeyIsPermanent401", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{APIKey: "other-us21"}, mailchimp.Config{})
		_, err := e.client.ListMergeFields(ctx, audience)
		if !isPermanent(err) || !strings.Contains(err.Error(), "401 API Key Invalid") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), e.key) {
			t.Fatalf("error quotes the key: %v", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		_, err := e.client.GetMember(ctx, audience, mailchimp.SubscriberHash("nobody@example.com"))
		if !mailchimp.IsNotFound(err) || !isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("FieldErrorsNamedEmailRedacted", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
		email := "ann@example.com"
		_, err := e.client.PutMember(ctx, audience, mailchimp.SubscriberHash(email), mailchimp.MemberRequest{
			EmailAddress: email, StatusIfNew: "transactional", MergeFields: map[string]any{"NOPE": "x"}})
		if !isPermanent(err) || !strings.Contains(err.Error(), "NOPE") || !strings.Contains(err.Error(), "Invalid Resource") {
			t.Fatalf("err = %v", err)
		}
		e.sim.CleanInMailchimp(audience, email)
		e.sim.SignUp(audience, email, "cleaned")
		_, err = e.client.PutMember(ctx, audience, mailchimp.SubscriberHash(email), mailchimp.MemberRequest{EmailAddress: email, StatusIfNew: "subscribed", Status: "subscribed"})
		if !mailchimp.IsComplianceState(err) || !isPermanent(err) || strings.Contains(err.Error(), email) || !strings.Contains(err.Error(), "<email>") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OutagesAreRetryable", func(t *testing.T) {
		for _, o := range []mailchimpsim.Outage{mailchimpsim.Outage500, mailchimpsim.OutageDrop, mailchimpsim.OutageTimeout} {
			e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{})
			e.sim.SetOutage(o)
			ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err := e.client.ListMergeFields(ctx, audience)
			cancel()
			if err == nil || isPermanent(err) {
				t.Errorf("outage %d: err = %v, want retryable", o, err)
			}
			if _, ok := retryAfter(err); ok {
				t.Errorf("outage %d: RetryAfter for an outage", o)
			}
		}
	})
}

func TestClient_TooManyRequests(t *testing.T) {
	ctx := context.Background()
	t.Run("RetriedThenRetryAfter", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{}, mailchimp.Config{Retries429: 2})
		// One connection allowed, held open by a slow request: a second
		// client on the same key (outside the first one's slots) meets 429s.
		e.sim.SetConnectionLimit(1)
		e.sim.SetLatency(300 * time.Millisecond)
		other, _ := mailchimp.New(mailchimp.Config{APIKey: e.key, BaseURL: e.clientBase(t), MaxConnections: 5, Backoff: 5 * time.Millisecond, Retries429: 1})
		done := make(chan struct{})
		go func() { defer close(done); e.client.ListMergeFields(ctx, audience) }()
		time.Sleep(50 * time.Millisecond)
		_, err := other.ListMergeFields(ctx, audience)
		if d, ok := retryAfter(err); !ok || d <= 0 {
			t.Fatalf("err = %v, want RetryAfter", err)
		}
		<-done
		if n := len(e.sim.CallsTo("GET", "/lists/"+audience+"/merge-fields")); n != 3 {
			t.Fatalf("calls = %d, want 1 + 2 tries of the second client", n)
		}
	})
	t.Run("ConcurrencyBoundedPerKey", func(t *testing.T) {
		e := mustEnv(t, mailchimpsim.Options{ConnectionLimit: 3}, mailchimp.Config{MaxConnections: 3})
		e.sim.SetLatency(20 * time.Millisecond)
		var wg sync.WaitGroup
		errs := make(chan error, 12)
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.client.ListMergeFields(ctx, audience)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a request failed although the client keeps to the limit: %v", err)
			}
		}
		for _, c := range e.sim.Calls() {
			if c.Status == 429 {
				t.Fatal("the simulator answered 429")
			}
		}
		if e.waits.count() == 0 {
			t.Fatal("OnRateLimitWait was never called although requests queued")
		}
	})
}
