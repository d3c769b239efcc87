package mailchimp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/webhooks/want")

const (
	webhookSecret  = "3f6c1a9e0b7d4c2f8a5e6b1d9c0f7a2e"
	syncedAudience = "a6b5da1054" // the audience of the fixtures, as in Mailchimp's samples
)

var webhookNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// mustOpenMC opens a mailchimp destination named mailchimp from a
// section; Parse makes no call, so no simulator is needed.
func mustOpenMC(tb testing.TB, section string) *mailchimp.Destination {
	tb.Helper()
	d, err := mailchimp.Open("mailchimp", json.RawMessage(section), synclayer.DestinationEnv{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return d.(*mailchimp.Destination)
}

// mustWebhookDestination is a destination with a webhook and a
// customer-sync to syncedAudience with the default mapping. The contact
// sync is kept alive until cleanup, as the skill that built it keeps it in
// the program.
func mustWebhookDestination(tb testing.TB) (*mailchimp.Destination, synclayer.Source) {
	tb.Helper()
	d := mustOpenMC(tb, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	cs, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"audience_id":"` + syncedAudience + `"}`)})
	if err != nil {
		tb.Fatalf("ContactSync: %v", err)
	}
	tb.Cleanup(func() { runtime.KeepAlive(cs) })
	src := d.Inbound()
	if src == nil {
		tb.Fatal("Inbound() = nil with a secret")
	}
	return d, src
}

// withQuery is the headers the server gives Parse for a request whose URL
// had the query q.
func withQuery(q string) http.Header {
	h := http.Header{}
	h.Set(mailchimp.QueryHeader, q)
	return h
}

func signed() http.Header { return withQuery("secret=" + webhookSecret) }

// readForm reads a fixture: one form field per line, joined with & into
// the body Mailchimp posts.
func readForm(tb testing.TB, name string) []byte {
	tb.Helper()
	raw := bytes.TrimSpace(sourcetest.MustRead(tb, filepath.Join("testdata", "webhooks", name)))
	return bytes.ReplaceAll(raw, []byte("\n"), []byte("&"))
}

func TestInbound_Fixtures(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	files, _ := filepath.Glob("testdata/webhooks/*.form")
	if len(files) < 12 {
		t.Fatalf("%d fixtures", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".form")
		t.Run(name, func(t *testing.T) {
			events, err := src.Parse(signed(), readForm(t, filepath.Base(f)), webhookNow)
			sourcetest.CheckGolden(t, filepath.Join("testdata/webhooks/want", name+".json"), events, err, *update)
			for _, e := range events {
				if e.Source != "mailchimp" || len(e.Payload) == 0 || !json.Valid(e.Payload) {
					t.Errorf("event %+v: want source mailchimp and the form as JSON payload", e)
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
		events, err := src.Parse(signed(), readForm(t, file), webhookNow)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return events
	}
	optOut := func(t *testing.T, file string, kind synclayer.EventType, email string, at time.Time) *synclayer.Event {
		t.Helper()
		events := parse(t, file)
		if len(events) != 1 {
			t.Fatalf("%d events, want 1", len(events))
		}
		e := events[0]
		if e.Type != kind || e.Activity == nil || e.Activity.Kind != kind || !e.OccurredAt.Equal(at) {
			t.Fatalf("event %+v, want a %s at %s", e, kind, at)
		}
		c := e.Activity.Customer
		if c == nil || c.Email() != email || c.EmailConsent == nil ||
			c.EmailConsent.State != synclayer.ConsentUnsubscribed || !c.EmailConsent.At.Equal(at) {
			t.Fatalf("customer %+v, want %s opted out at %s", c, email, at)
		}
		return e
	}

	t.Run("Unsubscribe", func(t *testing.T) {
		e := optOut(t, "unsubscribe.form", synclayer.EventEmailUnsubscribed, "api+unsub@mailchimp.com", time.Date(2009, 3, 26, 21, 40, 57, 0, time.UTC))
		f := e.Activity.Fields
		if string(f["campaignId"]) != `"cb398d21d2"` || string(f["action"]) != `"unsub"` || string(f["listId"]) != `"a6b5da1054"` ||
			string(f["reason"]) != `"unsubscribed (action unsub, reason manual)"` {
			t.Errorf("fields %s: want the campaign, the action and Mailchimp's reason for the trace", mustMarshal(t, f))
		}
	})
	t.Run("UnsubscribeDelete", func(t *testing.T) {
		e := optOut(t, "unsubscribe_delete.form", synclayer.EventEmailUnsubscribed, "espen@example.com", time.Date(2016, 12, 20, 16, 10, 15, 0, time.UTC))
		if got := string(e.Activity.Fields["reason"]); got != `"deleted from the audience (action delete)"` {
			t.Errorf("reason %s", got)
		}
	})
	t.Run("CleanedHardIsBounce", func(t *testing.T) {
		e := optOut(t, "cleaned_hard.form", synclayer.EventEmailBounced, "api+cleaned@mailchimp.com", time.Date(2009, 3, 26, 22, 1, 0, 0, time.UTC))
		if string(e.Activity.Fields["campaignId"]) != `"4fjk2ma9xd"` {
			t.Errorf("fields %s", mustMarshal(t, e.Activity.Fields))
		}
	})
	t.Run("CleanedAbuseIsComplaint", func(t *testing.T) {
		optOut(t, "cleaned_abuse.form", synclayer.EventEmailComplained, "api+cleaned@mailchimp.com", time.Date(2009, 3, 26, 22, 1, 0, 0, time.UTC))
	})
	t.Run("SubscribeToSyncedAudience", func(t *testing.T) {
		events := parse(t, "subscribe.form")
		if len(events) != 1 || events[0].Type != synclayer.EventCustomerUpdated || events[0].Customer == nil {
			t.Fatalf("events %+v", events)
		}
		c := events[0].Customer
		at := time.Date(2009, 3, 26, 21, 35, 57, 0, time.UTC)
		if c.EmailConsent == nil || c.EmailConsent.State != synclayer.ConsentSubscribed || !c.EmailConsent.At.Equal(at) {
			t.Fatalf("consent %+v, want an opt-in at %s", c.EmailConsent, at)
		}
		if got := mustMarshal(t, c.Fields); got != `{"email":"api@mailchimp.com","firstName":"Mailchimp","lastName":"API"}` {
			t.Errorf("fields %s", got)
		}
	})
	t.Run("SubscribeToOtherAudience", func(t *testing.T) {
		if events := parse(t, "subscribe_other_audience.form"); len(events) != 0 {
			t.Fatalf("events %+v, want none: synclayer does not sync that audience", events)
		}
	})
	t.Run("Profile", func(t *testing.T) {
		events := parse(t, "profile.form")
		if len(events) != 1 || events[0].Type != synclayer.EventCustomerUpdated || events[0].Customer.EmailConsent != nil {
			t.Fatalf("events %+v, want a customer_updated that says nothing of consent", events)
		}
		got := mustMarshal(t, events[0].Customer.Fields)
		want := `{"email":"api@mailchimp.com","firstName":"Mailchimp","phone":"+14155550123","totalOrders":12,"totalSpent":199.65}`
		if got != want {
			t.Errorf("fields %s, want %s (an empty LNAME is no clear; dates, interests, address parts and unmapped tags are dropped)", got, want)
		}
	})
	t.Run("Ignored", func(t *testing.T) {
		for _, f := range []string{"profile_unmapped.form", "upemail.form", "campaign.form"} {
			if events := parse(t, f); len(events) != 0 {
				t.Errorf("%s gave %d events, want none", f, len(events))
			}
		}
	})
	t.Run("FutureTimeIsNow", func(t *testing.T) {
		body := strings.Replace(string(readForm(t, "cleaned_hard.form")), "2009-03-26", "2031-01-01", 1)
		events, err := src.Parse(signed(), []byte(body), webhookNow)
		if err != nil || len(events) != 1 || !events[0].OccurredAt.Equal(webhookNow) || !events[0].Activity.Customer.EmailConsent.At.Equal(webhookNow) {
			t.Fatalf("events %+v, %v: a time after now is now", events, err)
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

func TestInbound_Secret(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	body := readForm(t, "unsubscribe.form")
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"NoQueryHeader", http.Header{}},
		{"EmptyQuery", withQuery("")},
		{"NoSecretParam", withQuery("key=" + webhookSecret)},
		{"Wrong", withQuery("secret=00000000000000000000000000000000")},
		{"Prefix", withQuery("secret=" + webhookSecret[:16])},
		{"Longer", withQuery("secret=" + webhookSecret + "x")},
		{"CaseDiffers", withQuery("secret=" + strings.ToUpper(webhookSecret))},
		{"Malformed", withQuery("secret=%zz" + webhookSecret)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := src.Parse(tc.h, body, webhookNow)
			e := sourcetest.AsError(t, err)
			if e.Code != synclayer.EUNAUTHORIZED || events != nil {
				t.Fatalf("err = %v, want EUNAUTHORIZED", err)
			}
			if strings.Contains(e.Error(), webhookSecret) || strings.Contains(e.Error(), webhookSecret[:8]) {
				t.Errorf("the message holds the secret: %v", e)
			}
		})
	}
	t.Run("RightSecretAmongOtherParams", func(t *testing.T) {
		for _, h := range []http.Header{
			withQuery("?secret=" + webhookSecret),
			withQuery("utm=x&secret=" + webhookSecret),
			{"x-synclayer-query": {"secret=" + webhookSecret}}, // lowercase, as a hand-built map may hold it
		} {
			if events, err := src.Parse(h, body, webhookNow); err != nil || len(events) != 1 {
				t.Fatalf("Parse(%v) = %v, %v", h, events, err)
			}
		}
	})
	t.Run("URLCheckIsAcknowledged", func(t *testing.T) {
		// Mailchimp's GET that checks the URL has no body: with the right
		// secret it gives nothing and no error, so the server answers 200.
		if events, err := src.Parse(signed(), nil, webhookNow); err != nil || events != nil {
			t.Fatalf("Parse(no body) = %v, %v", events, err)
		}
		if _, err := src.Parse(withQuery("secret=wrong"), nil, webhookNow); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("err = %v: a wrong secret fails the URL check too", err)
		}
	})
}

func TestInbound_Invalid(t *testing.T) {
	t.Parallel()
	_, src := mustWebhookDestination(t)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"NotForm", `type=unsubscribe&data[email]=%zz`, "body"},
		{"NoType", `data[email]=a%40example.com`, "type"},
		{"UnknownType", `type=exploded&data[email]=a%40example.com`, "type"},
		{"NoEmail", `type=unsubscribe&data[list_id]=a6b5da1054`, "data[email]"},
		{"BadEmail", `type=cleaned&data[email]=not-an-email`, "data[email]"},
		{"BadTime", `type=cleaned&fired_at=26%2F03%2F2009&data[email]=a%40example.com`, "fired_at"},
		{"NotUTF8", `type=cleaned&data[email]=a%40example.com&data[reason]=%ff`, "data[reason]"},
		{"BadListID", `type=unsubscribe&data[email]=a%40example.com&data[list_id]=a+b`, "data[list_id]"},
		{"BadCampaignID", `type=unsubscribe&data[email]=a%40example.com&data[campaign_id]=` + strings.Repeat("x", 101), "data[campaign_id]"},
		{"SubscribeNoList", `type=subscribe&data[email]=a%40example.com`, "data[list_id]"},
		{"ProfileNoEmail", `type=profile&data[list_id]=a6b5da1054&data[merges][FNAME]=A`, "data[email]"},
		{"UpemailNoNewEmail", `type=upemail&data[old_email]=a%40example.com`, "data[new_email]"},
		{"UpemailBadOldEmail", `type=upemail&data[old_email]=a&data[new_email]=b%40example.com`, "data[old_email]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := src.Parse(signed(), []byte(tc.body), webhookNow)
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
		events, err := src.Parse(signed(), []byte(body), webhookNow)
		if err != nil || len(events) != 1 {
			t.Fatalf("Parse(%s) = %v, %v", body, events, err)
		}
		return events[0].DedupeKey
	}
	unsub := string(readForm(t, "unsubscribe.form"))
	first := key(unsub)
	if len(first) != 64 {
		t.Fatalf("key %q is not sha256 hex", first)
	}
	// Mailchimp's retry carries the same fields again, maybe in another
	// order and with the address in another case.
	fields := strings.Split(unsub, "&")
	reordered := strings.Join(append(fields[len(fields)/2:], fields[:len(fields)/2]...), "&")
	if key(reordered) != first || key(strings.Replace(unsub, "api%2Bunsub%40mailchimp.com", "API%2Bunsub%40Mailchimp.com", 1)) != first {
		t.Error("the same delivery gave another key")
	}
	for name, other := range map[string]string{
		"OtherTime":     strings.Replace(unsub, "21%3A40%3A57", "21%3A40%3A58", 1),
		"OtherMember":   strings.Replace(unsub, "8a25ff1d98", "8a25ff1d99", 1),
		"OtherAudience": strings.Replace(unsub, "a6b5da1054", "a6b5da1055", 1),
		"OtherEmail":    strings.Replace(unsub, "data%5Bemail%5D=api", "data%5Bemail%5D=apx", 1),
		"OtherCampaign": strings.Replace(unsub, "cb398d21d2", "cb398d21d3", 1),
		"OtherAction":   strings.Replace(unsub, "=unsub&", "=delete&", 1),
		"OtherType":     strings.Replace(unsub, "type=unsubscribe", "type=cleaned", 1),
	} {
		if key(other) == first {
			t.Errorf("%s: same key as the original", name)
		}
	}
	profile := string(readForm(t, "profile.form"))
	if key(profile) == key(strings.Replace(profile, "Mailchimp", "Freddie", 1)) {
		t.Error("two different edits in the same second share a key")
	}
}

func TestInbound_NoSyncNoOptIn(t *testing.T) {
	t.Parallel()
	d := mustOpenMC(t, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	for _, f := range []string{"subscribe.form", "profile.form"} {
		events, err := d.Inbound().Parse(signed(), readForm(t, f), webhookNow)
		if err != nil || len(events) != 0 {
			t.Fatalf("%s: events %+v, %v: without a customer-sync no audience is synced and no merge field mapped", f, events, err)
		}
	}
	// An opt-out stands whatever is synced.
	events, err := d.Inbound().Parse(signed(), readForm(t, "unsubscribe.form"), webhookNow)
	if err != nil || len(events) != 1 || events[0].Type != synclayer.EventEmailUnsubscribed {
		t.Fatalf("events %+v, %v: want the opt-out", events, err)
	}
}

// TestInbound_ForgetsUnusedSyncs: a contact sync nothing uses any more
// (replaced by a live config change) stops counting.
func TestInbound_ForgetsUnusedSyncs(t *testing.T) {
	t.Parallel()
	d := mustOpenMC(t, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	body := readForm(t, "subscribe.form")
	func() {
		cs, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"audience_id":"` + syncedAudience + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		events, err := d.Inbound().Parse(signed(), body, webhookNow)
		if err != nil || len(events) != 1 {
			t.Fatalf("events %+v, %v: the audience is synced", events, err)
		}
		runtime.KeepAlive(cs)
	}()
	for range 5 {
		runtime.GC()
		if events, _ := d.Inbound().Parse(signed(), body, webhookNow); len(events) == 0 {
			return
		}
	}
	t.Fatal("a contact sync nothing uses still decides signups")
}

// TestInbound_MappingPerAudience: a merge tag maps back through the
// mapping of the contact sync of the delivery's audience, not another's.
func TestInbound_MappingPerAudience(t *testing.T) {
	t.Parallel()
	d := mustOpenMC(t, `{"api_key":"`+testKey+`","webhook":{"secret":"`+webhookSecret+`"}}`)
	a, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"audience_id":"` + syncedAudience + `"}`),
		Mapping: map[string]string{"email": "email", "firstName": "FNAME"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.ContactSync(synclayer.ContactSyncConfig{Options: json.RawMessage(`{"audience_id":"ffff000011"}`),
		Mapping: map[string]string{"email": "email", "lastName": "FNAME"}})
	if err != nil {
		t.Fatal(err)
	}
	for list, want := range map[string]string{syncedAudience: `{"email":"api@mailchimp.com","firstName":"Mailchimp"}`,
		"ffff000011": `{"email":"api@mailchimp.com","lastName":"Mailchimp"}`} {
		body := strings.Replace(string(readForm(t, "profile.form")), syncedAudience, list, 1)
		events, err := d.Inbound().Parse(signed(), []byte(body), webhookNow)
		if err != nil || len(events) != 1 || mustMarshal(t, events[0].Customer.Fields) != want {
			t.Errorf("audience %s: events %+v, %v, want fields %s", list, events, err, want)
		}
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
}

func TestInbound_NilWithoutWebhook(t *testing.T) {
	t.Parallel()
	d := mustOpenMC(t, `{"api_key":"`+testKey+`"}`)
	if src := d.Inbound(); src != nil {
		t.Fatalf("Inbound() = %v, want nil without a webhook block", src)
	}
	if d.WebhookURL() != "" {
		t.Errorf("WebhookURL() = %q, want empty", d.WebhookURL())
	}
}
