package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// ignoredSays reports whether a webhook's or trigger's answer says that
// field was not applied, with a reason containing text.
func ignoredSays(ignored []synclayer.Ignored, field, text string) bool {
	return slices.ContainsFunc(ignored, func(i synclayer.Ignored) bool {
		return i.Field == field && strings.Contains(i.Reason, text)
	})
}

// replyIgnored reads the first event's "ignored" of a webhook answer.
func replyIgnored(t *testing.T, reply map[string]any) []synclayer.Ignored {
	t.Helper()
	var r struct {
		Events []struct {
			Ignored []synclayer.Ignored `json:"ignored"`
		} `json:"events"`
	}
	b, _ := json.Marshal(reply)
	if err := json.Unmarshal(b, &r); err != nil || len(r.Events) == 0 {
		t.Fatalf("webhook answer %v: %v", reply, err)
	}
	return r.Events[0].Ignored
}

// TestConsentSources_EverySourceOfTheSkillByDefault: an opt-in from the
// skill's second source (a newsletter form on the custom source) puts the
// person on the list, where it used to count only from the first source;
// the trigger command's opt-in (source manual) does not count unless
// listed, and its answer says so rather than "applied" alone.
func TestConsentSources_EverySourceOfTheSkillByDefault(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})
	now := time.Now()
	body := mustMarshal(map[string]any{"event": "customer_created", "timestamp": now.UTC().Format(time.RFC3339),
		"data": map[string]any{"id": "form-1", "email": "form@example.com", "emailConsent": "subscribed"}})
	status, reply := e.custom(body, "msg_consent_1", now)
	if status != 200 || len(replyIgnored(t, reply)) != 0 {
		t.Fatalf("custom opt-in: %d %v, want it applied with nothing ignored", status, reply)
	}
	res, err := Trigger(context.Background(), e.m.Ingester, "customer_created",
		json.RawMessage(`{"id":"m1","email":"manual@example.com","emailConsent":"subscribed"}`), time.Now())
	if err != nil || res.Status != synclayer.EventApplied {
		t.Fatalf("trigger: %+v, %v", res, err)
	}
	if !ignoredSays(res.Ignored, "emailConsent", "manual is not a consent source") {
		t.Errorf("the trigger's answer %+v does not say its opt-in was ignored", res)
	}
	e.m.wake("")
	e.waitIdle(10 * time.Second)
	if c := e.contact("form@example.com"); !slices.Contains(c.ListIDs, 5) || c.EmailBlacklisted {
		t.Errorf("an opt-in from the skill's second source did not reach list 5: %+v", c)
	}
	if c := e.contact("manual@example.com"); slices.Contains(c.ListIDs, 5) {
		t.Errorf("a manual trigger opted a contact in without manual in consent_sources: %+v", c)
	}
	if !e.traceSays("manual@example.com", "not a consent source") {
		t.Error("the trace does not say why the manual opt-in was ignored")
	}
}

// TestConsentSources_Listed: with consent_sources [shopify, manual], the
// custom source's opt-in is ignored (and the webhook answer says so),
// manual's counts, and an opt-out from the unlisted source still stands.
func TestConsentSources_Listed(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Skills.CustomerSync.Options.ConsentSources = StringList{"shopify", "manual"}
	})
	now := time.Now()
	send := func(id, email, consent string, at time.Time) map[string]any {
		body := mustMarshal(map[string]any{"event": "customer_updated", "timestamp": at.UTC().Format(time.RFC3339Nano),
			"data": map[string]any{"id": id, "email": email, "emailConsent": consent}})
		status, reply := e.custom(body, fmt.Sprintf("msg_listed_%d", e.n.Add(1)), at)
		if status != 200 {
			t.Fatalf("custom %s: %d %v", consent, status, reply)
		}
		return reply
	}
	reply := send("c1", "custom@example.com", "subscribed", now)
	if !ignoredSays(replyIgnored(t, reply), "emailConsent", "custom is not a consent source (consent_sources: shopify, manual)") {
		t.Errorf("the webhook answer %v does not say the opt-in was ignored and why", reply)
	}
	res, err := Trigger(context.Background(), e.m.Ingester, "customer_created",
		json.RawMessage(`{"id":"m2","email":"listed@example.com","emailConsent":"subscribed"}`), now)
	if err != nil || len(res.Ignored) != 0 {
		t.Fatalf("trigger with manual listed: %+v, %v", res, err)
	}
	// An opt-out counts from every source, listed or not.
	send("c2", "listed@example.com", "unsubscribed", now.Add(time.Second))
	e.m.wake("")
	e.waitIdle(10 * time.Second)
	if c := e.contact("custom@example.com"); slices.Contains(c.ListIDs, 5) {
		t.Errorf("an opt-in from an unlisted source reached the list: %+v", c)
	}
	if c := e.contact("listed@example.com"); !c.EmailBlacklisted {
		t.Errorf("an opt-out from an unlisted source did not stand: %+v", c)
	}
}

// TestConsentSources_Config: consent_source is still read (as a list of
// one), both names at once are refused, and a name that is neither a
// source, a destination of the skill nor manual is refused at its index.
func TestConsentSources_Config(t *testing.T) {
	t.Parallel()
	base := `
sources:
  shopify: {secret: s}
  custom: {secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
destinations:
  brevo: {api_key: k}
skills:
  customer-sync:
    enabled: true
    source: [shopify, custom]
    options: {list_id: 5, %s}
`
	cfg, err := ParseConfig(fmt.Appendf(nil, base, "consent_source: shopify"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.consentSources(cfg.Skills.CustomerSync); !slices.Equal(got, []string{"shopify"}) {
		t.Errorf("consent_source: shopify gives consent sources %v", got)
	}
	cfg, err = ParseConfig(fmt.Appendf(nil, base, "sync_mode: realtime"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.consentSources(cfg.Skills.CustomerSync); !slices.Equal(got, []string{"shopify", "custom", "brevo"}) {
		t.Errorf("default consent sources %v, want the skill's sources and its destination", got)
	}
	_, err = ParseConfig(fmt.Appendf(nil, base, "consent_sources: [shopify, newsletter]"), "")
	if err == nil || !strings.Contains(err.Error(), "consent_sources[1]") || !strings.Contains(err.Error(), "newsletter") {
		t.Errorf("unknown consent source: %v, want an error at consent_sources[1]", err)
	}
	_, err = ParseConfig(fmt.Appendf(nil, base, "consent_source: shopify, consent_sources: [custom]"), "")
	if err == nil || !strings.Contains(err.Error(), "consent_source") {
		t.Errorf("both names: %v, want an error", err)
	}
}
