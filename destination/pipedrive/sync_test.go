package pipedrive_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
	"synclayer/destination/simkit"
)

const testToken = "test-token-0123456789"

// mustSim serves a simulator and fails tb on any violation it saw.
func mustSim(tb testing.TB, o pipedrivesim.Options) (*pipedrivesim.Server, *pipedrive.Client, string) {
	tb.Helper()
	o.APIToken = testToken
	if o.Validate == nil {
		o.Validate = validator(tb)
	}
	sim := pipedrivesim.New(o)
	srv := httptest.NewServer(sim)
	tb.Cleanup(func() {
		srv.Close()
		for _, v := range sim.Violations() {
			tb.Errorf("request violates Pipedrive's spec: %s", v)
		}
	})
	base := srv.URL + "/simulator/pipedrive"
	return sim, pipedrive.New(pipedrive.Config{APIToken: testToken, BaseURL: base}), base
}

func mustSync(tb testing.TB, base string, mapping map[string]string, opts map[string]any) synclayer.ContactSync {
	tb.Helper()
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base})
	d, err := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatal(err)
	}
	o, _ := json.Marshal(opts)
	cs, err := d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{Mapping: mapping, Options: o})
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

func contact(email, first string, consent synclayer.ConsentState) *synclayer.Contact {
	c := &synclayer.Contact{ID: "c1", Email: email, Fields: map[string]synclayer.Field{
		synclayer.FieldEmail:     {Value: json.RawMessage(`"` + email + `"`)},
		synclayer.FieldFirstName: {Value: json.RawMessage(`"` + first + `"`)},
		synclayer.FieldLastName:  {Value: json.RawMessage(`"Doe"`)},
	}}
	c.EmailConsent.State = consent
	return c
}

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

func writes(sim *pipedrivesim.Server) int {
	return sim.Count(func(c simkit.Call) bool { return c.Method != http.MethodGet })
}

func TestContactSync_CreateUpdateNoOp(t *testing.T) {
	sim, _, base := mustSim(t, pipedrivesim.Options{})
	cs := mustSync(t, base, nil, nil)
	created, err := cs.Prepare(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 6 {
		t.Errorf("created %v, want the six synclayer_* fields", created)
	}
	if again, err := cs.Prepare(context.Background(), false); err != nil || len(again) != 0 {
		t.Errorf("second Prepare: %v %v", again, err)
	}
	before := len(sim.Calls())

	c := contact("Ann@Example.com", "Ann", "")
	c.Fields[synclayer.FieldTotalOrders] = synclayer.Field{Value: json.RawMessage(`3`)}
	_, st := deliver(t, cs, c, nil)
	if n := len(sim.Calls()) - before; n != 2 {
		t.Errorf("a new contact took %d calls, want 2 (search, create)", n)
	}
	p, ok := sim.Person("ann@example.com")
	if !ok || p.Name != "Ann Doe" || p.MarketingStatus != pipedrivesim.NoConsent || len(p.CustomFields) != 1 {
		t.Fatalf("person: %+v", p)
	}

	c.Fields[synclayer.FieldFirstName] = synclayer.Field{Value: json.RawMessage(`"Anna"`)}
	before = len(sim.Calls())
	plan, st := deliver(t, cs, c, st)
	if n := len(sim.Calls()) - before; n != 1 || plan.Op != synclayer.PlanUpdate {
		t.Errorf("a changed name took %d calls (%s), want 1 PATCH", n, plan.Op)
	}
	if p, _ := sim.Person("ann@example.com"); p.Name != "Anna Doe" {
		t.Errorf("after the update: %+v", p)
	}
	if plan, _ := deliver(t, cs, c, st); plan.Op != synclayer.PlanNone {
		t.Errorf("unchanged contact planned %s", plan.Op)
	}
	for _, call := range sim.Calls() {
		if strings.Contains(call.Path, testToken) || call.Header.Get("x-api-token") != testToken {
			t.Fatalf("the token must travel in x-api-token only: %s", call.Path)
		}
	}
}

func TestContactSync_ExistingPersonIsUpdatedNotDuplicated(t *testing.T) {
	sim, _, base := mustSim(t, pipedrivesim.Options{})
	m := map[string]string{"email": "email", "firstName": "first_name", "lastName": "last_name"}
	first := mustSync(t, base, m, nil)
	deliver(t, first, contact("dup@example.com", "Dee", ""), nil)
	// A second synclayer with no state finds the person by email.
	second := mustSync(t, base, m, nil)
	deliver(t, second, contact("dup@example.com", "Dora", ""), nil)
	n := 0
	for _, c := range sim.Calls() {
		if c.Method == http.MethodPost {
			n++
		}
	}
	if p, _ := sim.Person("dup@example.com"); n != 1 || p.Name != "Dora Doe" {
		t.Errorf("%d creates; person %+v", n, p)
	}
}

func TestContactSync_Consent(t *testing.T) {
	m := map[string]string{"email": "email", "firstName": "first_name"}
	t.Run("OptInNeedsTheMode", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		plan, _ := deliver(t, mustSync(t, base, m, nil), contact("in@example.com", "I", synclayer.ConsentSubscribed), nil)
		if p, _ := sim.Person("in@example.com"); p.MarketingStatus != pipedrivesim.NoConsent {
			t.Errorf("unsubscribe_only subscribed: %+v (%+v)", p, plan.Detail)
		}
		deliver(t, mustSync(t, base, m, map[string]any{"marketing_status": "subscribe_and_unsubscribe"}), contact("yes@example.com", "Y", synclayer.ConsentSubscribed), nil)
		if p, _ := sim.Person("yes@example.com"); p.MarketingStatus != pipedrivesim.Subscribed {
			t.Errorf("opt-in: %+v", p)
		}
	})
	t.Run("OptOutIsWrittenAndNeverLifted", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		cs := mustSync(t, base, m, map[string]any{"marketing_status": "subscribe_and_unsubscribe"})
		_, st := deliver(t, cs, contact("out@example.com", "O", synclayer.ConsentSubscribed), nil)
		plan, st := deliver(t, cs, contact("out@example.com", "O", synclayer.ConsentUnsubscribed), st)
		if p, _ := sim.Person("out@example.com"); p.MarketingStatus != pipedrivesim.Unsubscribed || plan.Intent == nil {
			t.Errorf("opt-out: %+v, intent %s", p, plan.Intent)
		}
		plan, _ = deliver(t, cs, contact("out@example.com", "O", synclayer.ConsentSubscribed), st)
		if plan.Op != synclayer.PlanNone {
			t.Errorf("a stale opt-in after the opt-out planned %s: %+v", plan.Op, plan.Calls)
		}
	})
	t.Run("UnsubscribedInsidePipedrive", func(t *testing.T) {
		sim, _, base := mustSim(t, pipedrivesim.Options{})
		cs := mustSync(t, base, m, map[string]any{"marketing_status": "subscribe_and_unsubscribe"})
		deliver(t, cs, contact("inside@example.com", "I", ""), nil)
		sim.UnsubscribeInPipedrive("inside@example.com")
		// A new synclayer (no state) with an opt-in reads the status first.
		deliver(t, mustSync(t, base, m, map[string]any{"marketing_status": "subscribe_and_unsubscribe"}), contact("inside@example.com", "I", synclayer.ConsentSubscribed), nil)
		if p, _ := sim.Person("inside@example.com"); p.MarketingStatus != pipedrivesim.Unsubscribed {
			t.Errorf("resubscribed: %+v", p)
		}
		for _, c := range sim.Calls() {
			if c.Method == http.MethodPatch && strings.Contains(string(c.Body), "marketing_status") {
				t.Errorf("wrote marketing_status over unsubscribed: %s", c.Body)
			}
		}
	})
}

func TestContactSync_DeletedInPipedriveIsCreatedAgain(t *testing.T) {
	sim, _, base := mustSim(t, pipedrivesim.Options{})
	cs := mustSync(t, base, map[string]string{"email": "email", "firstName": "first_name"}, nil)
	_, st := deliver(t, cs, contact("gone@example.com", "G", ""), nil)
	sim.DeleteInPipedrive("gone@example.com")
	deliver(t, cs, contact("gone@example.com", "Gil", ""), st)
	if p, ok := sim.Person("gone@example.com"); !ok || p.IsDeleted || p.Name != "Gil" {
		t.Errorf("after the update of a deleted person: %+v", p)
	}
}

func TestContactSync_Mapping(t *testing.T) {
	_, _, base := mustSim(t, pipedrivesim.Options{})
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base})
	d, _ := pipedrive.Open("pipedrive", raw, synclayer.DestinationEnv{})
	for _, m := range []map[string]string{
		{"email": "emails"},
		{"email": "email", "firstName": "name"},
		{"email": "email", "tags": "marketing_status"},
		{"email": "email", "tags": "owner_id"},
	} {
		if _, err := d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{Mapping: m}); err == nil || !strings.Contains(err.Error(), "field_mapping.") {
			t.Errorf("%v: %v", m, err)
		}
	}
}

func TestClient_Errors(t *testing.T) {
	t.Run("401NamesTheToken", func(t *testing.T) {
		_, _, base := mustSim(t, pipedrivesim.Options{})
		c := pipedrive.New(pipedrive.Config{APIToken: "wrong", BaseURL: base})
		_, err := c.FindPersonByEmail(context.Background(), "a@example.com")
		var perm *synclayer.PermanentError
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), "api_token") || strings.Contains(err.Error(), "a@example.com") {
			t.Errorf("401: %v", err)
		}
	})
	t.Run("429IsThrottled", func(t *testing.T) {
		sim, c, base := mustSim(t, pipedrivesim.Options{Limit: pipedrivesim.Limit{Max: 1, Window: 60e9}})
		ctx := context.Background()
		if _, err := c.FindPersonByEmail(ctx, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		c2 := pipedrive.New(pipedrive.Config{APIToken: testToken, BaseURL: base, Retries429: -1})
		_, err := c2.FindPersonByEmail(ctx, "a@example.com")
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || !ra.Throttled || ra.After <= 0 || sim.Throttled() != 1 {
			t.Errorf("429: %v (%d throttled)", err, sim.Throttled())
		}
		b := c2.RateBudgets()
		if len(b) != 2 || b[1].Bucket != pipedrive.BucketWindow || b[1].Limit != 1 || b[0].Bucket != pipedrive.BucketDaily {
			t.Errorf("budgets: %+v", b)
		}
	})
	t.Run("5xxIsRetried", func(t *testing.T) {
		sim, c, _ := mustSim(t, pipedrivesim.Options{})
		sim.SetOutage(pipedrivesim.Outage500)
		_, err := c.FindPersonByEmail(context.Background(), "a@example.com")
		var apiErr *pipedrive.APIError
		var perm *synclayer.PermanentError
		if err == nil || errors.As(err, &perm) || !errors.As(err, &apiErr) || apiErr.Status != 500 {
			t.Errorf("500: %v", err)
		}
	})
}

// TestClient_PacesByTheWindow sends more concurrent requests than one
// window holds: the client stops at x-ratelimit-remaining and waits for
// x-ratelimit-reset, so none is refused with 429.
func TestClient_PacesByTheWindow(t *testing.T) {
	sim, c, _ := mustSim(t, pipedrivesim.Options{Limit: pipedrivesim.Limit{Max: 4, Window: 1e9}})
	errs := make(chan error, 12)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 3; i++ {
				_, err := c.FindPersonByEmail(context.Background(), "a@example.com")
				errs <- err
			}
		}()
	}
	for i := 0; i < 12; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.Throttled(); n != 0 {
		t.Errorf("%d requests were throttled", n)
	}
	if b := c.RateBudgets(); len(b) != 2 || b[1].Limit != 4 || b[0].Remaining != pipedrivesim.DefaultDaily {
		t.Errorf("budgets: %+v", b)
	}
}
