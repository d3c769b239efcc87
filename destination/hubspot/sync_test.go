package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/hubspot/hubspotspec"
)

// mustSim serves a simulator that validates every request against
// HubSpot's vendored specs and fails tb on any violation.
func mustSim(tb testing.TB, o hubspotsim.Options) (*hubspotsim.Server, *hubspot.Client) {
	tb.Helper()
	o.AccessToken = "pat-test"
	o.Validate = hubspotspec.Load(tb).Validate
	sim := hubspotsim.New(o)
	srv := httptest.NewServer(sim)
	tb.Cleanup(func() {
		srv.Close()
		for _, v := range sim.Violations() {
			tb.Errorf("request violates HubSpot's spec: %s", v)
		}
	})
	return sim, hubspot.New(hubspot.Config{AccessToken: "pat-test", BaseURL: srv.URL + "/simulator/hubspot"})
}

func mustSync(tb testing.TB, c *hubspot.Client, opts map[string]any) synclayer.ContactSync {
	tb.Helper()
	d, err := hubspot.Open("hubspot", json.RawMessage(`{"access_token":"pat-test"}`), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatal(err)
	}
	*d.(*hubspot.Destination).Client() = *c
	raw, _ := json.Marshal(opts)
	cs, err := d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{Options: raw})
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

func contact(email, first string, consent synclayer.ConsentState) *synclayer.Contact {
	c := &synclayer.Contact{ID: "c1", Email: email, Fields: map[string]synclayer.Field{
		synclayer.FieldEmail:     {Value: json.RawMessage(`"` + email + `"`)},
		synclayer.FieldFirstName: {Value: json.RawMessage(`"` + first + `"`)},
	}}
	c.EmailConsent.State = consent
	return c
}

// deliver plans and applies c from prev and returns the next state.
func deliver(tb testing.TB, cs synclayer.ContactSync, c *synclayer.Contact, prev json.RawMessage) (*synclayer.Plan, json.RawMessage) {
	tb.Helper()
	plan, err := cs.Plan(c, prev)
	if err != nil {
		tb.Fatal(err)
	}
	if plan.Op == synclayer.PlanNone {
		return plan, plan.Next
	}
	if _, err := cs.Apply(context.Background(), c, plan); err != nil {
		tb.Fatal(err)
	}
	return plan, plan.Next
}

func TestContactSync_UpsertAndPrepare(t *testing.T) {
	sim, c := mustSim(t, hubspotsim.Options{})
	cs := mustSync(t, c, nil)
	created, err := cs.Prepare(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) == 0 || sim.Properties()["synclayer_total_orders"].Type != "number" {
		t.Fatalf("created %v; properties %v", created, sim.Properties()["synclayer_total_orders"])
	}
	if again, err := cs.Prepare(context.Background(), false); err != nil || len(again) != 0 {
		t.Fatalf("second Prepare: %v %v", again, err)
	}
	deliver(t, cs, contact("Ann@Example.com", "Ann", ""), nil)
	got, ok := sim.Contact("ann@example.com")
	if !ok || got.Properties["firstname"] != "Ann" {
		t.Fatalf("contact %+v", got)
	}
	if n := sim.CallCount(http.MethodPost, "/crm/v3/objects/contacts/batch/upsert"); n != 1 {
		t.Errorf("%d upserts", n)
	}
}

func TestContactSync_PrepareWithoutCreate(t *testing.T) {
	_, c := mustSim(t, hubspotsim.Options{})
	_, err := mustSync(t, c, nil).Prepare(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "synclayer_total_orders") {
		t.Fatalf("Prepare = %v, want the missing property named", err)
	}
}

func TestClient_RateLimit(t *testing.T) {
	t.Run("429HonoursTheHeaderInterval", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{Limit: hubspotsim.Limit{Max: 2, Interval: 300 * time.Millisecond}})
		start := time.Now()
		for range 5 {
			if _, err := c.ListContactProperties(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el < 500*time.Millisecond || el > 5*time.Second {
			t.Errorf("5 requests at 2 per 300 ms took %v", el)
		}
		if n := sim.Throttled(); n > 1 {
			t.Errorf("%d requests were throttled; the client should wait when Remaining reaches 0", n)
		}
		if b := c.RateBudgets(); len(b) != 2 || b[1].Limit != 2 {
			t.Errorf("budgets %+v", b)
		}
	})
	t.Run("DailyIsRetryAfter", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		sim.SetDaily(1)
		c.ListContactProperties(context.Background())
		_, err := c.ListContactProperties(context.Background())
		var ra *synclayer.RetryAfterError
		if err == nil || !strings.Contains(err.Error(), "DAILY") || !errors.As(err, &ra) {
			t.Fatalf("err = %v, want a RetryAfter naming DAILY", err)
		}
	})
}

func TestClient_Unauthorized(t *testing.T) {
	sim := hubspotsim.New(hubspotsim.Options{AccessToken: "pat-right"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := hubspot.New(hubspot.Config{AccessToken: "pat-wrong", BaseURL: srv.URL})
	_, err := c.ListContactProperties(context.Background())
	if err == nil || !errors.As(err, new(*synclayer.PermanentError)) || !strings.Contains(err.Error(), "access_token") || !strings.Contains(err.Error(), "INVALID_AUTHENTICATION") {
		t.Fatalf("err = %v, want a permanent error naming access_token", err)
	}
	if strings.Contains(err.Error(), "pat-wrong") {
		t.Errorf("the error quotes the token: %v", err)
	}
}

func TestContactSync_Consent(t *testing.T) {
	sub := hubspotsim.DefaultSubscription
	t.Run("OptOutUnsubscribesOnce", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		cs := mustSync(t, c, map[string]any{"subscription_id": sub})
		_, st := deliver(t, cs, contact("out@example.com", "O", synclayer.ConsentUnsubscribed), nil)
		plan, _ := deliver(t, cs, contact("out@example.com", "O", synclayer.ConsentUnsubscribed), st)
		if n := sim.CallCount(http.MethodPost, "/communication-preferences/v3/unsubscribe"); n != 1 {
			t.Errorf("%d unsubscribes, want 1", n)
		}
		if plan.Op != synclayer.PlanNone || sim.SubscriptionStatus("out@example.com", sub) != hubspotsim.Unsubscribed {
			t.Errorf("second plan %+v; status %s", plan, sim.SubscriptionStatus("out@example.com", sub))
		}
	})
	t.Run("OptInWithoutLegalBasisWritesNothing", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		cs := mustSync(t, c, map[string]any{"subscription_id": sub})
		plan, _ := deliver(t, cs, contact("in@example.com", "I", synclayer.ConsentSubscribed), nil)
		if n := sim.CallCount("", "/communication-preferences"); n != 0 {
			t.Errorf("%d consent calls without legal_basis", n)
		}
		if d, _ := json.Marshal(plan.Detail); !strings.Contains(string(d), "legal_basis") {
			t.Errorf("the plan does not say why: %s", d)
		}
	})
	t.Run("NoSubscriptionIDWritesNoConsent", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		cs := mustSync(t, c, nil)
		plan, _ := deliver(t, cs, contact("x@example.com", "X", synclayer.ConsentUnsubscribed), nil)
		if n := sim.CallCount("", "/communication-preferences"); n != 0 {
			t.Errorf("%d consent calls without subscription_id", n)
		}
		if d, _ := json.Marshal(plan.Detail); !strings.Contains(string(d), "subscription_id") {
			t.Errorf("the plan does not say why: %s", d)
		}
	})
	t.Run("OptInSubscribesWithLegalBasis", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		cs := mustSync(t, c, map[string]any{"subscription_id": sub, "legal_basis": "CONSENT_WITH_NOTICE", "legal_basis_explanation": "checkout"})
		deliver(t, cs, contact("yes@example.com", "Y", synclayer.ConsentSubscribed), nil)
		if got := sim.SubscriptionStatus("yes@example.com", sub); got != hubspotsim.Subscribed {
			t.Errorf("status %q", got)
		}
		if n := sim.CallCount(http.MethodGet, "/communication-preferences/v3/status/email/"); n != 1 {
			t.Errorf("%d status reads before the subscribe, want 1", n)
		}
	})
	t.Run("OptedOutInsideIsNeverSubscribed", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		cs := mustSync(t, c, map[string]any{"subscription_id": sub, "legal_basis": "CONSENT_WITH_NOTICE"})
		sim.OptOutOfAll("gone@example.com")
		_, st := deliver(t, cs, contact("gone@example.com", "G", synclayer.ConsentSubscribed), nil)
		deliver(t, cs, contact("gone@example.com", "Gee", synclayer.ConsentSubscribed), st)
		if n := sim.CallCount(http.MethodPost, "/communication-preferences/v3/subscribe"); n != 0 {
			t.Errorf("%d subscribes of an opted-out address", n)
		}
		// Unsubscribed from the one subscription only: HubSpot reports it
		// NOT_SUBSCRIBED; its refusal is recorded, and never retried.
		sim.UnsubscribeInHubSpot("one@example.com", sub)
		_, st = deliver(t, cs, contact("one@example.com", "O", synclayer.ConsentSubscribed), nil)
		deliver(t, cs, contact("one@example.com", "Oh", synclayer.ConsentSubscribed), st)
		if got := sim.SubscriptionStatus("one@example.com", sub); got != hubspotsim.Unsubscribed {
			t.Errorf("status %q", got)
		}
		if n := sim.CallCount(http.MethodPost, "/communication-preferences/v3/subscribe"); n > 1 {
			t.Errorf("%d subscribes, want at most the one HubSpot refused", n)
		}
	})
	t.Run("AfterOurUnsubscribeNeverResubscribed", func(t *testing.T) {
		sim, c := mustSim(t, hubspotsim.Options{})
		cs := mustSync(t, c, map[string]any{"subscription_id": sub, "legal_basis": "CONSENT_WITH_NOTICE"})
		_, st := deliver(t, cs, contact("flip@example.com", "F", synclayer.ConsentUnsubscribed), nil)
		deliver(t, cs, contact("flip@example.com", "F", synclayer.ConsentSubscribed), st)
		if n := sim.CallCount(http.MethodPost, "/communication-preferences/v3/subscribe"); n != 0 {
			t.Errorf("%d subscribes after an unsubscribe", n)
		}
	})
}
