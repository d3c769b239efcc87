package ingest_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

// reportEvent is what a destination's webhook says of an email: an
// opt-out of kind, with the campaign and reason.
func reportEvent(kind synclayer.EventType, key, email string, at int) *synclayer.Event {
	t := c0.Add(time.Duration(1+at) * minute)
	return &synclayer.Event{Source: "brevo", DedupeKey: key, Topic: "unsubscribed", Type: kind, OccurredAt: t,
		Activity: &synclayer.Activity{Kind: kind, Fields: map[string]json.RawMessage{
			"campaign": json.RawMessage(`"Black Friday"`), "reason": json.RawMessage(`"clicked unsubscribe"`)},
			Customer: &synclayer.CustomerChange{Fields: map[string]json.RawMessage{"email": json.RawMessage(`"` + email + `"`)},
				EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: t}}}}
}

// TestReport_UnsubscribeFromDestination: an unsubscribe Brevo reports
// opts the Shopify-subscribed contact out, queues its delivery to every
// destination, fires email_unsubscribed once, and says in the trace which
// campaign and why; an older Shopify opt-in afterwards changes nothing,
// and an address nobody held becomes a contact that holds the opt-out.
func TestReport_UnsubscribeFromDestination(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	rec := &recorder{}
	in := ingest.New(ingest.Config{Store: s, ConsentSources: []string{"shopify", "brevo"}, Now: clock(), Triggers: rec, Routes: []ingest.Route{
		{Skill: "customer-sync", Destination: "brevo", Sources: []string{"shopify", "brevo"}},
		{Skill: "customer-sync@klaviyo", Destination: "klaviyo", Sources: []string{"shopify", "brevo"}},
	}})
	ctx := context.Background()
	sub := &synclayer.Event{Source: "shopify", DedupeKey: "s1", Topic: "customers/create", Type: synclayer.EventCustomerCreated, OccurredAt: c0,
		Customer: &synclayer.CustomerChange{SourceID: "1", Fields: map[string]json.RawMessage{"email": json.RawMessage(`"ann@example.com"`)},
			EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: c0}}}
	r := mustIngest(t, in, sub)
	rec.take()

	res := mustIngest(t, in, reportEvent(synclayer.EventEmailUnsubscribed, "b1", "ann@example.com", 0))
	if res.Status != synclayer.EventApplied || res.ContactID != r.ContactID {
		t.Fatalf("unsubscribe: %+v, want applied to %s", res, r.ContactID)
	}
	c, err := s.FindContactByID(ctx, r.ContactID)
	if err != nil || c.EmailConsent.State != synclayer.ConsentUnsubscribed || c.EmailConsent.Source != "brevo" {
		t.Fatalf("consent after Brevo's unsubscribe: %+v, %v", c.EmailConsent, err)
	}
	for _, q := range []string{"customer-sync", "customer-sync@klaviyo"} {
		jobs, _ := s.FindJobs(ctx, synclayer.JobFilter{Queue: q, State: synclayer.JobPending})
		if len(jobs) != 1 {
			t.Errorf("queue %s: %d pending jobs, want the opt-out's delivery", q, len(jobs))
		}
	}
	if got := types(rec.take()); !slices.Contains(got, "email_unsubscribed "+res.EventID) {
		t.Errorf("triggers %q, want email_unsubscribed", got)
	}
	trace, _ := s.Trace(ctx, r.ContactID)
	if !slices.ContainsFunc(trace, func(e *synclayer.TraceEntry) bool {
		return strings.Contains(e.Summary, `brevo reports unsubscribed from campaign "Black Friday": clicked unsubscribe`)
	}) {
		t.Errorf("the trace does not say which campaign and why: %+v", trace)
	}

	// The same delivery again is a duplicate; Shopify's older opt-in
	// changes nothing.
	if res := mustIngest(t, in, reportEvent(synclayer.EventEmailUnsubscribed, "b1", "ann@example.com", 0)); !res.Duplicate {
		t.Errorf("the redelivered report: %+v, want a duplicate", res)
	}
	old := *sub
	old.ID, old.DedupeKey, old.Type = "", "s2", synclayer.EventCustomerUpdated
	mustIngest(t, in, &old)
	if c, _ := s.FindContactByID(ctx, r.ContactID); c.EmailConsent.State != synclayer.ConsentUnsubscribed {
		t.Errorf("an older opt-in lifted Brevo's unsubscribe: %+v", c.EmailConsent)
	}

	res = mustIngest(t, in, reportEvent(synclayer.EventEmailComplained, "b2", "new@example.com", 2))
	if res.Status != synclayer.EventApplied || res.ContactID == "" {
		t.Fatalf("a complaint about an unknown address: %+v, want a contact holding the opt-out", res)
	}
	if c, _ := s.FindContactByID(ctx, res.ContactID); c.EmailConsent.State != synclayer.ConsentUnsubscribed {
		t.Errorf("the new contact's consent %+v, want unsubscribed", c.EmailConsent)
	}
}
