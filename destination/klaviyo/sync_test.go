package klaviyo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

const listID = "Y6nRLr"

// harness runs deliveries as the shared runner does: plan against the
// recorded state, record the Intent before any call, apply, record Next.
type harness struct {
	*env
	cs    synclayer.ContactSync
	state json.RawMessage
}

func mustHarness(t *testing.T, options string, hard bool) *harness {
	t.Helper()
	e := mustEnv(t, klaviyosim.Options{Lists: []string{listID}}, klaviyo.Config{})
	d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"`+testKey+`","base_url":"`+e.url+`"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	cs, err := d.(*klaviyo.Destination).ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(options), HardDelete: hard})
	if err != nil {
		t.Fatalf("ContactSync: %v", err)
	}
	return &harness{env: e, cs: cs}
}

func (h *harness) deliver(t *testing.T, c *synclayer.Contact) (*synclayer.Plan, string, error) {
	t.Helper()
	plan, err := h.cs.Plan(c, h.state)
	if err != nil {
		return nil, "", err
	}
	if plan.Intent != nil {
		h.state = plan.Intent
	}
	if plan.Op == synclayer.PlanNone {
		h.state = plan.Next
		return plan, "", nil
	}
	summary, err := h.cs.Apply(context.Background(), c, plan)
	if err == nil {
		h.state = plan.Next
	}
	return plan, summary, err
}

func (h *harness) mustDeliver(t *testing.T, c *synclayer.Contact) (*synclayer.Plan, string) {
	t.Helper()
	plan, summary, err := h.deliver(t, c)
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return plan, summary
}

func (h *harness) jobs(kind string) int {
	n := 0
	for _, j := range h.sim.Jobs() {
		if j.Kind == kind {
			n++
		}
	}
	return n
}

var t0 = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

func customer(consent synclayer.ConsentState) *synclayer.Contact {
	f := func(v string) synclayer.Field {
		return synclayer.Field{Value: json.RawMessage(v), At: t0, Source: "shop"}
	}
	return &synclayer.Contact{ID: "01CONTACT1", Email: "ann@example.com", Version: 1,
		Fields: map[string]synclayer.Field{
			"email": f(`"ann@example.com"`), "firstName": f(`"Ann"`), "lastName": f(`"Lee"`),
			"totalOrders": f(`3`), "lastOrderDate": f(`"2026-06-30T08:00:00Z"`), "tags": f(`["vip","eu"]`),
		},
		EmailConsent: synclayer.Consent{State: consent, At: t0}}
}

func TestContactSync_NewConsentingCustomer(t *testing.T) {
	h := mustHarness(t, `{"list_id":"`+listID+`"}`, false)
	plan, summary := h.mustDeliver(t, customer(synclayer.ConsentSubscribed))
	if plan.Op != synclayer.PlanCreate || !strings.Contains(summary, "POST /api/profile-import → 201 created") ||
		!strings.Contains(summary, "POST /api/profile-subscription-bulk-create-jobs → 202") {
		t.Fatalf("plan %s, summary %q", plan.Op, summary)
	}
	p, ok := h.sim.Profile("01CONTACT1")
	if !ok || p.Email != "ann@example.com" || p.Attributes["first_name"] != "Ann" || p.Properties["Total Orders"] != float64(3) ||
		p.Properties["Last Order Date"] != "2026-06-30T08:00:00Z" || p.EmailConsent != "SUBSCRIBED" {
		t.Fatalf("profile %+v", p)
	}
	if tags, _ := p.Properties["Tags"].([]any); len(tags) != 2 {
		t.Errorf("Tags %v, want a list of 2", p.Properties["Tags"])
	}
	if m := h.sim.ListMembers(listID); len(m) != 1 || m[0] != p.ID {
		t.Errorf("list members %v, want [%s]", m, p.ID)
	}
}

func TestContactSync_UpdateAndNoOp(t *testing.T) {
	h := mustHarness(t, `{}`, false)
	c := customer(synclayer.ConsentUnknown)
	h.mustDeliver(t, c)
	c.Fields["firstName"] = synclayer.Field{Value: json.RawMessage(`"Anna"`), At: t0.Add(time.Hour)}
	delete(c.Fields, "lastName")
	delete(c.Fields, "totalOrders")
	plan, summary := h.mustDeliver(t, c)
	if plan.Op != synclayer.PlanUpdate || !strings.Contains(summary, "200 updated") {
		t.Fatalf("plan %s summary %q", plan.Op, summary)
	}
	body := h.sim.Calls()[len(h.sim.Calls())-1].Body
	var sent struct {
		Data struct {
			ID         string                     `json:"id"`
			Attributes map[string]json.RawMessage `json:"attributes"`
			Meta       struct {
				PatchProperties struct {
					Unset []string `json:"unset"`
				} `json:"patch_properties"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	a := sent.Data.Attributes
	if string(a["first_name"]) != `"Anna"` || string(a["last_name"]) != "null" || a["properties"] != nil || sent.Data.ID == "" {
		t.Errorf("update sent %s, want only first_name, last_name: null and the identifiers", body)
	}
	if u := sent.Data.Meta.PatchProperties.Unset; len(u) != 1 || u[0] != "Total Orders" {
		t.Errorf("unset %v, want [Total Orders]", u)
	}
	if p, _ := h.sim.Profile("01CONTACT1"); p.Attributes["first_name"] != "Anna" || p.Attributes["last_name"] != "" || p.Properties["Total Orders"] != nil {
		t.Errorf("profile %+v", p)
	}
	calls := len(h.sim.Calls())
	plan, _ = h.mustDeliver(t, c)
	if plan.Op != synclayer.PlanNone || plan.Reason == "" || len(h.sim.Calls()) != calls {
		t.Fatalf("unchanged contact: plan %s %q, %d new calls", plan.Op, plan.Reason, len(h.sim.Calls())-calls)
	}
	if h.jobs("subscribe")+h.jobs("unsubscribe") != 0 {
		t.Errorf("a contact without consent got subscription jobs: %+v", h.sim.Jobs())
	}
}

func TestContactSync_OptOut(t *testing.T) {
	h := mustHarness(t, `{"list_id":"`+listID+`"}`, false)
	c := customer(synclayer.ConsentSubscribed)
	h.mustDeliver(t, c)
	c.EmailConsent = synclayer.Consent{State: synclayer.ConsentUnsubscribed, At: t0.Add(time.Hour), OptOutAt: t0.Add(time.Hour)}
	plan, err := h.cs.Plan(c, h.state)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plan.Intent), `"unsubscribedByUs":true`) {
		t.Fatalf("the opt-out's Intent %s does not mark it as synclayer's", plan.Intent)
	}
	_, summary := h.mustDeliver(t, c)
	if !strings.Contains(summary, "bulk-delete-jobs → 202") || !strings.Contains(summary, "removed from list") {
		t.Fatalf("summary %q", summary)
	}
	if p, _ := h.sim.Profile("01CONTACT1"); p.EmailConsent != "UNSUBSCRIBED" || len(h.sim.ListMembers(listID)) != 0 {
		t.Fatalf("after opt-out: %+v, members %v", p, h.sim.ListMembers(listID))
	}
	if j := h.sim.Jobs(); j[len(j)-1].ListID != "" {
		t.Errorf("unsubscribe named list %q: it must be global", j[len(j)-1].ListID)
	}
	// Stale and later updates keep the opt-out.
	c.Fields["firstName"] = synclayer.Field{Value: json.RawMessage(`"Annie"`), At: t0.Add(2 * time.Hour)}
	h.mustDeliver(t, c)
	h.mustDeliver(t, c)
	if n := h.jobs("subscribe"); n != 1 {
		t.Fatalf("%d subscribe jobs after the opt-out, want the first one only", n)
	}
	// A newer explicit opt-in may lift the opt-out synclayer made itself.
	c.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: t0.Add(3 * time.Hour)}
	h.mustDeliver(t, c)
	if n := h.jobs("subscribe"); n != 2 {
		t.Fatalf("%d subscribe jobs, want 2: synclayer's own opt-out is liftable", n)
	}
}

func TestContactSync_UnsubscribedInsideKlaviyo(t *testing.T) {
	for _, learn := range []string{"Apply", "ReadBack"} {
		t.Run(learn, func(t *testing.T) {
			h := mustHarness(t, `{"list_id":"`+listID+`"}`, false)
			c := customer(synclayer.ConsentNone)
			h.mustDeliver(t, c)
			h.sim.UnsubscribeInKlaviyo("ann@example.com")
			if learn == "ReadBack" {
				st, err := h.cs.ReadBack(context.Background(), c, h.state)
				if err != nil {
					t.Fatal(err)
				}
				h.state = st
			}
			c.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: t0.Add(time.Hour)}
			_, summary := h.mustDeliver(t, c)
			if learn == "Apply" && !strings.Contains(summary, "UNSUBSCRIBED in Klaviyo, subscribe not sent") {
				t.Errorf("summary %q", summary)
			}
			calls := len(h.sim.Calls())
			plan, _ := h.mustDeliver(t, c)
			if plan.Op != synclayer.PlanNone || !strings.Contains(plan.Reason, "opt-out") || len(h.sim.Calls()) != calls {
				t.Errorf("next delivery: %s %q with %d calls", plan.Op, plan.Reason, len(h.sim.Calls())-calls)
			}
			if p, _ := h.sim.Profile("ann@example.com"); h.jobs("subscribe") != 0 || p.EmailConsent != "UNSUBSCRIBED" {
				t.Fatalf("resubscribed a profile unsubscribed in Klaviyo: %+v jobs %+v", p, h.sim.Jobs())
			}
		})
	}
}

func TestContactSync_SuppressedInsideKlaviyo(t *testing.T) {
	h := mustHarness(t, `{}`, false)
	c := customer(synclayer.ConsentNone)
	h.mustDeliver(t, c)
	h.sim.Suppress("ann@example.com", "SPAM_COMPLAINT")
	c.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: t0.Add(time.Hour)}
	h.mustDeliver(t, c)
	if n := h.jobs("subscribe"); n != 0 {
		t.Fatalf("subscribed a profile with a spam complaint, which would lift it")
	}
}

func TestContactSync_Delete(t *testing.T) {
	for _, hard := range []bool{false, true} {
		t.Run(map[bool]string{false: "Soft", true: "Hard"}[hard], func(t *testing.T) {
			h := mustHarness(t, `{"list_id":"`+listID+`"}`, hard)
			c := customer(synclayer.ConsentSubscribed)
			h.mustDeliver(t, c)
			c.Deleted = true
			_, summary := h.mustDeliver(t, c)
			_, exists := h.sim.Profile("01CONTACT1")
			if len(h.sim.ListMembers(listID)) != 0 {
				t.Errorf("still in the list after the delete")
			}
			if hard && (exists || len(h.sim.DeletionJobs()) != 1 || !strings.Contains(summary, "data-privacy-deletion-jobs → 202")) {
				t.Fatalf("hard delete: exists %v, jobs %+v, summary %q", exists, h.sim.DeletionJobs(), summary)
			}
			if !hard && (!exists || len(h.sim.DeletionJobs()) != 0 || !strings.Contains(summary, "removed from list")) {
				t.Fatalf("soft delete: exists %v, jobs %+v, summary %q", exists, h.sim.DeletionJobs(), summary)
			}
			if plan, _ := h.mustDeliver(t, c); plan.Op != synclayer.PlanNone {
				t.Errorf("deleting again plans %s", plan.Op)
			}
		})
	}
}

func TestContactSync_Failures(t *testing.T) {
	t.Run("InvalidEmail", func(t *testing.T) {
		h := mustHarness(t, `{}`, false)
		c := customer(synclayer.ConsentSubscribed)
		c.Email = "ann@@example.com"
		if _, _, err := h.deliver(t, c); kind(err) != "permanent" || strings.Contains(err.Error(), "ann@") {
			t.Fatalf("err %v, want a permanent error without the email", err)
		}
	})
	t.Run("Outage", func(t *testing.T) {
		h := mustHarness(t, `{}`, false)
		h.sim.SetOutage(klaviyosim.Outage500)
		if _, _, err := h.deliver(t, customer(synclayer.ConsentNone)); kind(err) != "retryable" {
			t.Fatalf("err %v, want retryable", err)
		}
	})
	t.Run("TooManyRequests", func(t *testing.T) {
		h := mustHarness(t, `{}`, false)
		h.sim.SetLimit("profile-import", klaviyosim.Limit{Burst: 1, Steady: 100})
		req, _ := http.NewRequest("POST", h.url+"/api/profile-import", strings.NewReader(`{"data":{"type":"profile","attributes":{"email":"other@example.com"}}}`))
		req.Header.Set("Authorization", "Klaviyo-API-Key "+testKey)
		req.Header.Set("revision", klaviyo.Revision)
		req.Header.Set("Content-Type", "application/vnd.api+json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		// A short Retry-After is waited out and the request sent again,
		// so the delivery succeeds on its first attempt.
		_, _, err := h.deliver(t, customer(synclayer.ConsentNone))
		if err != nil {
			t.Fatalf("err %v, want the throttled request sent again after its 1 s", err)
		}
		var throttled, accepted int
		for _, c := range h.sim.Calls() {
			if c.Method == "POST" && strings.HasPrefix(c.Path, "/api/profile-import") {
				if c.Status == http.StatusTooManyRequests {
					throttled++
				} else if c.Status/100 == 2 {
					accepted++
				}
			}
		}
		if throttled < 1 || accepted != 2 {
			t.Errorf("profile imports: %d throttled, %d accepted; want the client's one throttled and then accepted (and the other client's)", throttled, accepted)
		}
	})
	t.Run("DuplicateProfiles", func(t *testing.T) {
		h := mustHarness(t, `{}`, false)
		h.sim.PutProfile(klaviyosim.Profile{Email: "ann@example.com"})
		h.sim.PutProfile(klaviyosim.Profile{ExternalID: "01CONTACT1"})
		_, _, err := h.deliver(t, customer(synclayer.ConsentNone))
		if kind(err) != "permanent" || !strings.Contains(err.Error(), "merge them in Klaviyo") {
			t.Fatalf("err %v, want a permanent error that says to merge", err)
		}
		if n := h.sim.CallCount("POST", "/api/profile-import"); n != 2 {
			t.Errorf("%d profile-imports, want 2 (one retry as an update)", n)
		}
	})
}
