package brevo_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/webhooks/want")

const (
	webhookToken = "3f6c1a9e0b7d4c2f8a5e6b1d9c0f7a2e"
	syncedList   = 12 // the list_addition fixture adds to 34 and 12
)

var webhookNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// mustOpen opens a brevo destination from a section, with a real-looking
// key so no simulator is needed: Parse makes no call.
func mustOpen(tb testing.TB, section string) *brevo.Destination {
	tb.Helper()
	d, err := brevo.Open("brevo", json.RawMessage(section), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return d.(*brevo.Destination)
}

// mustWebhookDestination is a destination with a webhook and a
// customer-sync adding opted-in contacts to syncedList with the default
// mapping. The contact sync is kept alive until cleanup, as the skill that
// built it keeps it in the program.
func mustWebhookDestination(tb testing.TB) (*brevo.Destination, synclayer.Source) {
	tb.Helper()
	d := mustOpen(tb, `{"api_key":"xkeysib-test","base_url":"http://127.0.0.1:1/v3","webhook":{"token":"`+webhookToken+`"}}`)
	cs, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"list_id":12}`)})
	if err != nil {
		tb.Fatalf("ContactSync: %v", err)
	}
	tb.Cleanup(func() { runtime.KeepAlive(cs) })
	src := d.Inbound()
	if src == nil {
		tb.Fatal("Inbound() = nil with a token")
	}
	return d, src
}

func bearer(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return h
}

func TestInbound_Fixtures(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	if len(files) < 10 {
		t.Fatalf("%d fixtures", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			body := sourcetest.MustRead(t, f)
			events, err := src.Parse(bearer(webhookToken), body, webhookNow)
			sourcetest.CheckGolden(t, filepath.Join("testdata/webhooks/want", name+".json"), events, err, *update)
			for _, e := range events {
				if e.Source != "brevo" || len(e.Payload) == 0 || !json.Valid(e.Payload) {
					t.Errorf("event %+v: want source brevo and the item's raw JSON as payload", e)
				}
			}
		})
	}
}

// TestInbound_Kinds states what the golden files hold, so a careless
// -update cannot quietly change the meaning of a delivery.
func TestInbound_Kinds(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	parse := func(t *testing.T, file string) []*synclayer.Event {
		t.Helper()
		events, err := src.Parse(bearer(webhookToken), sourcetest.MustRead(t, "testdata/webhooks/"+file), webhookNow)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return events
	}
	wantAt := time.Unix(1604933737, 0).UTC() // ts_event, not ts

	for _, tc := range []struct {
		file string
		kind synclayer.EventType
	}{
		{"unsubscribed.json", synclayer.EventEmailUnsubscribed},
		{"spam.json", synclayer.EventEmailComplained},
		{"hard_bounced.json", synclayer.EventEmailBounced},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			events := parse(t, tc.file)
			if len(events) != 1 {
				t.Fatalf("%d events, want 1", len(events))
			}
			e := events[0]
			if e.Type != tc.kind || e.Activity == nil || e.Activity.Kind != tc.kind || !e.OccurredAt.Equal(wantAt) {
				t.Fatalf("event %+v", e)
			}
			c := e.Activity.Customer
			if c == nil || string(c.Fields["email"]) != `"example@domain.com"` || c.EmailConsent == nil ||
				c.EmailConsent.State != synclayer.ConsentUnsubscribed || !c.EmailConsent.At.Equal(wantAt) {
				t.Fatalf("customer %+v", c)
			}
			if string(e.Activity.Fields["campaignId"]) != "12" || string(e.Activity.Fields["campaign"]) != `"My First Campaign"` {
				t.Errorf("fields %s", mustMarshal(t, e.Activity.Fields))
			}
		})
	}

	t.Run("Ignored", func(t *testing.T) {
		for _, f := range []string{"soft_bounced.json", "opened.json"} {
			if events := parse(t, f); len(events) != 0 {
				t.Errorf("%s gave %d events, want none", f, len(events))
			}
		}
	})

	t.Run("ListAdditionToSyncedList", func(t *testing.T) {
		events := parse(t, "list_addition.json")
		if len(events) != 1 || events[0].Type != synclayer.EventCustomerUpdated || events[0].Customer == nil ||
			events[0].Customer.EmailConsent.State != synclayer.ConsentSubscribed || !events[0].OccurredAt.Equal(time.Unix(1604937111, 0)) {
			t.Fatalf("events %+v", events)
		}
	})

	t.Run("ListAdditionToOtherList", func(t *testing.T) {
		if events := parse(t, "list_addition_other_list.json"); len(events) != 0 {
			t.Fatalf("events %+v, want none", events)
		}
	})

	t.Run("ContactUpdated", func(t *testing.T) {
		events := parse(t, "contact_updated.json")
		if len(events) != 1 {
			t.Fatalf("%d events", len(events))
		}
		got := mustMarshal(t, events[0].Customer.Fields)
		want := `{"email":"test@gmail.com","firstName":"name2","lastName":"name1","phone":"+33612345678"}`
		if events[0].Type != synclayer.EventCustomerUpdated || got != want || events[0].Customer.EmailConsent != nil {
			t.Errorf("fields %s, want %s (WORK_PHONE is mapped by nothing)", got, want)
		}
	})

	t.Run("ContactUpdatedDocumentedShape", func(t *testing.T) {
		events := parse(t, "contact_updated_documented.json")
		if len(events) != 1 || mustMarshal(t, events[0].Customer.Fields) != `{"email":"example@domain.com","lastName":"Doe"}` {
			t.Fatalf("events %+v", events)
		}
	})

	t.Run("ContactUpdatedBlocklisted", func(t *testing.T) {
		events := parse(t, "contact_updated_blacklist.json")
		if len(events) != 1 || events[0].Customer.EmailConsent == nil || events[0].Customer.EmailConsent.State != synclayer.ConsentUnsubscribed {
			t.Fatalf("events %+v, want an opt-out", events)
		}
	})

	t.Run("ContactDeleted", func(t *testing.T) {
		events := parse(t, "contact_deleted.json")
		if len(events) != 1 || events[0].Type != synclayer.EventContactRemoved || events[0].Activity == nil ||
			events[0].Activity.Customer.EmailConsent != nil || string(events[0].Activity.Fields["listIds"]) != "[35]" {
			t.Fatalf("events %+v", events)
		}
	})

	t.Run("Batched", func(t *testing.T) {
		events := parse(t, "batched.json")
		if len(events) != 2 || events[0].Type != synclayer.EventEmailUnsubscribed || events[1].Type != synclayer.EventEmailComplained {
			t.Fatalf("events %+v, want the unsubscribe and the complaint (the open is ignored)", events)
		}
		if got := string(events[1].Activity.Customer.Fields["email"]); got != `"three@domain.com"` {
			t.Errorf("email %s, want it lowercased", got)
		}
		var item map[string]any
		if err := json.Unmarshal(events[1].Payload, &item); err != nil || item["email"] != "Three@Domain.com" {
			t.Errorf("payload %s, want the item as sent", events[1].Payload)
		}
	})
}

func mustMarshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestInbound_Auth(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	body := sourcetest.MustRead(t, "testdata/webhooks/unsubscribed.json")
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"Missing", http.Header{}},
		{"Wrong", bearer("0000000000000000000000000000000")},
		{"Prefix", bearer(webhookToken[:16])},
		{"Longer", bearer(webhookToken + "x")},
		{"Basic", http.Header{"Authorization": {"Basic " + webhookToken}}},
		{"NoScheme", http.Header{"Authorization": {webhookToken}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := src.Parse(tc.h, body, webhookNow)
			e := sourcetest.AsError(t, err)
			if e.Code != synclayer.EUNAUTHORIZED || events != nil {
				t.Fatalf("err = %v, want EUNAUTHORIZED", err)
			}
			if strings.Contains(e.Error(), webhookToken) || strings.Contains(e.Error(), webhookToken[:8]) {
				t.Errorf("the message holds the token: %v", e)
			}
		})
	}
	t.Run("RightTokenAnyCase", func(t *testing.T) {
		h := http.Header{"authorization": {"bearer " + webhookToken}} // lowercase, as a hand-built map may hold it
		if _, err := src.Parse(h, body, webhookNow); err != nil {
			t.Fatalf("Parse: %v", err)
		}
	})
}

func TestInbound_Invalid(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"Empty", ``, "body"},
		{"NotJSON", `unsubscribed`, "body"},
		{"Truncated", `{"event":"unsubscribed",`, "body"},
		{"TruncatedArray", `[{"event":"unsubscribed"}`, "body"},
		{"NoEmail", `{"event":"unsubscribed","ts_event":1604933737}`, "email"},
		{"EmailNotString", `{"event":"spam","email":42}`, "email"},
		{"BadEmail", `{"event":"spam","email":"not-an-email"}`, "email"},
		{"NoEvent", `{"email":"a@example.com"}`, "event"},
		{"UnknownEvent", `{"event":"exploded","email":"a@example.com"}`, "event"},
		{"BadTime", `{"event":"spam","email":"a@example.com","ts_event":"yesterday"}`, "ts_event"},
		{"BadList", `{"event":"unsubscribed","email":"a@example.com","list_id":["x"]}`, "list_id[0]"},
		{"BatchedNoEmail", `[{"event":"spam","email":"a@example.com"},{"event":"opened","email":"b@example.com"},{"event":"hard_bounced"}]`, "[2].email"},
		{"BatchedNotObject", `[{"event":"spam","email":"a@example.com"},"spam"]`, "[1]"},
		{"ContactUpdatedNoEmail", `{"event":"contact_updated","content":[{"attributes":{"FIRSTNAME":"A"}}]}`, "content[0].email"},
		{"ContactUpdatedBadContent", `{"event":"contact_updated","email":"a@example.com","content":"FIRSTNAME=A"}`, "content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := src.Parse(bearer(webhookToken), []byte(tc.body), webhookNow)
			e := sourcetest.AsError(t, err)
			if e.Code != synclayer.EINVALID || e.Field != tc.field || events != nil {
				t.Fatalf("err = %#v, want EINVALID at %s", e, tc.field)
			}
		})
	}
}

func TestInbound_Dedupe(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	key := func(body string) string {
		t.Helper()
		events, err := src.Parse(bearer(webhookToken), []byte(body), webhookNow)
		if err != nil || len(events) != 1 {
			t.Fatalf("Parse(%s) = %v, %v", body, events, err)
		}
		return events[0].DedupeKey
	}
	unsub := string(sourcetest.MustRead(t, "testdata/webhooks/unsubscribed.json"))
	first := key(unsub)
	if len(first) != 64 {
		t.Fatalf("key %q is not sha256 hex", first)
	}
	// Brevo's retry of a batched delivery carries the same item again,
	// maybe with the lists in another order and the email in another case.
	again := strings.NewReplacer("[3, 42]", "[42, 3]", "example@domain.com", "Example@Domain.com").Replace(unsub)
	if key(unsub) != first || key("["+again+"]") != first {
		t.Error("the same delivery gave another key")
	}
	for name, other := range map[string]string{
		"OtherTime":     strings.Replace(unsub, "1604933737", "1604933738", 1),
		"OtherCampaign": strings.Replace(unsub, `"camp_id": 12`, `"camp_id": 13`, 1),
		"OtherEmail":    strings.Replace(unsub, "example@domain.com", "other@domain.com", 1),
		"OtherEvent":    strings.Replace(unsub, `"unsubscribed"`, `"spam"`, 1),
		"OtherLists":    strings.Replace(unsub, "[3, 42]", "[3]", 1),
	} {
		if key(other) == first {
			t.Errorf("%s: same key as the original", name)
		}
	}
	updated := string(sourcetest.MustRead(t, "testdata/webhooks/contact_updated.json"))
	if key(updated) == key(strings.Replace(updated, `"name2"`, `"name3"`, 1)) {
		t.Error("two different edits in the same second share a key")
	}
}

func TestInbound_NoSyncNoListOptIn(t *testing.T) {
	t.Parallel()
	d := mustOpen(t, `{"api_key":"xkeysib-test","webhook":{"token":"`+webhookToken+`"}}`)
	events, err := d.Inbound().Parse(bearer(webhookToken), sourcetest.MustRead(t, "testdata/webhooks/list_addition.json"), webhookNow)
	if err != nil || len(events) != 0 {
		t.Fatalf("events %+v, %v: without a customer-sync no list is synced", events, err)
	}
	events, err = d.Inbound().Parse(bearer(webhookToken), sourcetest.MustRead(t, "testdata/webhooks/contact_updated.json"), webhookNow)
	if err != nil || len(events) != 0 {
		t.Fatalf("events %+v, %v: without a customer-sync no attribute is mapped", events, err)
	}
}

// TestInbound_ForgetsUnusedSyncs: a contact sync nothing uses any more
// (replaced by a live config change) stops counting.
func TestInbound_ForgetsUnusedSyncs(t *testing.T) {
	t.Parallel()
	d := mustOpen(t, `{"api_key":"xkeysib-test","webhook":{"token":"`+webhookToken+`"}}`)
	body := sourcetest.MustRead(t, "testdata/webhooks/list_addition.json")
	func() {
		cs, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"list_id":34}`)})
		if err != nil {
			t.Fatal(err)
		}
		events, err := d.Inbound().Parse(bearer(webhookToken), body, webhookNow)
		if err != nil || len(events) != 1 {
			t.Fatalf("events %+v, %v: list 34 is synced", events, err)
		}
		runtime.KeepAlive(cs)
	}()
	for range 5 {
		runtime.GC()
		if events, _ := d.Inbound().Parse(bearer(webhookToken), body, webhookNow); len(events) == 0 {
			return
		}
	}
	t.Fatal("a contact sync nothing uses still decides list additions")
}

func TestInbound_NilWithoutWebhook(t *testing.T) {
	t.Parallel()
	d := mustOpen(t, `{"api_key":"xkeysib-test"}`)
	if src := d.Inbound(); src != nil {
		t.Fatalf("Inbound() = %v, want nil without a webhook block", src)
	}
	if d.WebhookURL() != "" {
		t.Errorf("WebhookURL() = %q, want empty", d.WebhookURL())
	}
}
