package hubspot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/hubspot/hubspotspec"
)

const clientSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"

// TestSignatureV3 checks the signature against a vector computed apart
// (Python's hmac) from HubSpot's documented algorithm: base64 of
// HMAC-SHA256(client secret, "POST" + URI + body + timestamp), with
// %3A and %40 in the URI decoded before signing. The secret and body
// are the ones HubSpot's v1 validation example uses; its v3 section
// gives no example value.
func TestSignatureV3(t *testing.T) {
	body := []byte(`[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`)
	const want = "ZX5eHi2scfz4pROqfE0IkgUN34SE8bSA8igfThwwhyk="
	for _, uri := range []string{
		"https://www.example.com/webhook_uri?a=b:c@d",
		"https://www.example.com/webhook_uri?a=b%3Ac%40d",
		"https://www.example.com/webhook_uri?a=b%3ac%40d",
	} {
		if got := hubspot.SignatureV3(clientSecret, "POST", uri, body, "1564113600000"); got != want {
			t.Errorf("%s: %s, want %s", uri, got, want)
		}
		if got := hubspotsim.SignV3(clientSecret, "POST", uri, body, "1564113600000"); got != want {
			t.Errorf("simulator, %s: %s, want %s", uri, got, want)
		}
	}
	// %20 is not among the characters HubSpot decodes: it stays.
	if hubspot.SignatureV3(clientSecret, "POST", "https://x.example/a%20b", body, "1") == hubspot.SignatureV3(clientSecret, "POST", "https://x.example/a b", body, "1") {
		t.Error("%20 was decoded")
	}
}

type inboundEnv struct {
	sim  *hubspotsim.Server
	d    *hubspot.Destination
	src  synclayer.Source
	base string
}

func startInbound(t testing.TB) *inboundEnv {
	t.Helper()
	// No rate limit worth the name: the fuzzer reads a contact per run.
	sim := hubspotsim.New(hubspotsim.Options{AccessToken: "pat-test", Validate: hubspotspec.Load(t).Validate,
		Limit: hubspotsim.Limit{Max: 1 << 30, Interval: time.Second}, Daily: 1 << 30})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		for _, v := range sim.Violations() {
			t.Errorf("request violates HubSpot's spec: %s", v)
		}
	})
	section := fmt.Sprintf(`{"access_token":"pat-test","base_url":%q,"webhook":{"client_secret":%q}}`, srv.URL, clientSecret)
	d, err := hubspot.Open("crm", json.RawMessage(section), synclayer.DestinationEnv{PublicURL: func() string { return "https://sync.example.com" }})
	if err != nil {
		t.Fatal(err)
	}
	hd := d.(*hubspot.Destination)
	if _, err := hd.ContactSync(synclayer.ContactSyncConfig{}); err != nil {
		t.Fatal(err)
	}
	return &inboundEnv{sim: sim, d: hd, src: hd.Inbound(), base: srv.URL}
}

func (e *inboundEnv) signed(body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	h := http.Header{}
	h.Set("X-HubSpot-Request-Timestamp", ts)
	h.Set("X-HubSpot-Signature-v3", hubspot.SignatureV3(clientSecret, "POST", "https://sync.example.com/webhooks/crm", body, ts))
	return h
}

func TestInbound_Parse(t *testing.T) {
	e := startInbound(t)
	ctx := context.Background()
	res, err := e.d.Client().UpsertContacts(ctx, []hubspot.UpsertInput{{ID: "ann@example.com", IDProperty: "email", Properties: map[string]string{"email": "ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Results[0].ID
	now := time.Now()
	body := []byte(`[{"eventId":7,"subscriptionId":1,"portalId":62515,"appId":1,"occurredAt":` + strconv.FormatInt(now.UnixMilli(), 10) +
		`,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":` + id + `,"propertyName":"lifecyclestage","propertyValue":"salesqualifiedlead","changeSource":"CRM_UI"},` +
		`{"eventId":8,"subscriptionId":2,"portalId":62515,"appId":1,"occurredAt":1,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":` + id + `,"propertyName":"notes_last_updated","propertyValue":"x"},` +
		`{"eventId":9,"subscriptionId":3,"portalId":62515,"appId":1,"occurredAt":1,"subscriptionType":"deal.creation","attemptNumber":0,"objectId":5}]`)

	t.Run("Signed", func(t *testing.T) {
		evs, err := e.src.Parse(e.signed(body, now), body, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1 (the unmapped property and the deal are skipped)", len(evs))
		}
		ev := evs[0]
		if ev.Source != "crm" || ev.Type != synclayer.EventCustomerUpdated || ev.Customer.SourceID != id ||
			string(ev.Customer.Fields[synclayer.FieldLifecycleStage]) != `"salesqualifiedlead"` || ev.Customer.Email() != "ann@example.com" ||
			!ev.OccurredAt.Equal(time.UnixMilli(now.UnixMilli())) {
			t.Errorf("event %+v, customer %+v", ev, ev.Customer)
		}
		again, _ := e.src.Parse(e.signed(body, now.Add(time.Minute)), body, now.Add(time.Minute))
		if len(again) != 1 || again[0].DedupeKey != ev.DedupeKey {
			t.Error("a redelivery has another dedupe key")
		}
	})
	t.Run("Refused", func(t *testing.T) {
		for name, h := range map[string]http.Header{
			"forged": func() http.Header {
				h := e.signed(body, now)
				h.Set("X-HubSpot-Signature-v3", "AAAA"+h.Get("X-HubSpot-Signature-v3")[4:])
				return h
			}(),
			"old":       e.signed(body, now.Add(-6*time.Minute)),
			"unsigned":  {},
			"otherBody": e.signed([]byte(`[]`), now),
		} {
			_, err := e.src.Parse(h, body, now)
			if synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
				t.Errorf("%s: %v, want EUNAUTHORIZED", name, err)
			}
		}
	})
	t.Run("BadInputNamesTheField", func(t *testing.T) {
		for want, b := range map[string]string{
			"[0].propertyValue": `[{"eventId":1,"occurredAt":1,"subscriptionType":"contact.propertyChange","objectId":` + id + `,"propertyName":"lifecyclestage","propertyValue":"vip"}]`,
			"[0].objectId":      `[{"eventId":1,"occurredAt":1,"subscriptionType":"contact.propertyChange","propertyName":"lifecyclestage","propertyValue":"lead"}]`,
			"body":              `{"eventId":1}`,
		} {
			_, err := e.src.Parse(e.signed([]byte(b), now), []byte(b), now)
			var se *synclayer.Error
			if synclayer.ErrorCode(err) != synclayer.EINVALID || !asError(err, &se) || se.Field != want {
				t.Errorf("%s: %v, want EINVALID naming %s", b, err, want)
			}
		}
	})
	t.Run("Deletion", func(t *testing.T) {
		if err := e.d.Client().ArchiveContact(ctx, id); err != nil {
			t.Fatal(err)
		}
		b := []byte(`[{"eventId":10,"occurredAt":2,"subscriptionType":"contact.deletion","objectId":` + id + `}]`)
		evs, err := e.src.Parse(e.signed(b, now), b, now)
		if err != nil || len(evs) != 1 || evs[0].Type != synclayer.EventContactRemoved || evs[0].Activity.Customer.Email() != "ann@example.com" {
			t.Fatalf("deletion: %+v, %v", evs, err)
		}
	})
}

// TestInbound_SimulatorSendsSignedWebhooks: a stage changed in the
// simulator (as in HubSpot's interface) reaches the target signed, and
// the destination's source accepts it.
func TestInbound_SimulatorSendsSignedWebhooks(t *testing.T) {
	e := startInbound(t)
	if _, err := e.d.Client().UpsertContacts(context.Background(), []hubspot.UpsertInput{{ID: "bo@example.com", IDProperty: "email", Properties: map[string]string{"email": "bo@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	var got []*synclayer.Event
	var perr error
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got, perr = e.src.Parse(r.Header, []byte(b.String()), time.Now())
		if perr != nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer target.Close()
	// The simulator calls the test server, but signs the URL it was given,
	// as HubSpot signs its target URL: the public one.
	e.sim.SetWebhook(hubspotsim.Webhook{TargetURL: "https://sync.example.com/webhooks/crm", ClientSecret: clientSecret,
		Properties: []string{"lifecyclestage"}, Client: &http.Client{Transport: redirectTo(target.URL)}})
	status, err := e.sim.SetProperty("bo@example.com", "lifecyclestage", "opportunity")
	if err != nil || status != http.StatusOK || perr != nil {
		t.Fatalf("webhook: %d, %v, %v", status, err, perr)
	}
	if len(got) != 1 || string(got[0].Customer.Fields[synclayer.FieldLifecycleStage]) != `"opportunity"` {
		t.Errorf("events %+v", got)
	}
}

// redirectTo sends every request to base, keeping its path and query.
type redirectTo string

func (base redirectTo) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	u := *r.URL
	b, _ := http.NewRequest(r.Method, string(base), nil)
	u.Scheme, u.Host = b.URL.Scheme, b.URL.Host
	r.URL, r.Host = &u, b.URL.Host
	return http.DefaultTransport.RoundTrip(r)
}

func asError(err error, target **synclayer.Error) bool {
	e, ok := err.(*synclayer.Error)
	*target = e
	return ok
}

func TestWebhookSettings(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/secret"
	if err := os.WriteFile(file, []byte(clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(webhook string) (*hubspot.Destination, error) {
		d, err := hubspot.Open("crm", json.RawMessage(`{"access_token":"pat-test","webhook":`+webhook+`}`),
			synclayer.DestinationEnv{PublicURL: func() string { return "https://sync.example.com/" }})
		if err != nil {
			return nil, err
		}
		return d.(*hubspot.Destination), nil
	}
	d, err := open(fmt.Sprintf(`{"client_secret_file":%q}`, file))
	if err != nil {
		t.Fatal(err)
	}
	if d.WebhookURL() != "https://sync.example.com/webhooks/crm" || d.Inbound() == nil {
		t.Errorf("webhook URL %q", d.WebhookURL())
	}
	body := []byte(`[]`)
	now := time.Now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	h := http.Header{}
	h.Set("X-HubSpot-Request-Timestamp", ts)
	h.Set("X-HubSpot-Signature-v3", hubspot.SignatureV3(clientSecret, "POST", d.WebhookURL(), body, ts))
	if _, err := d.Inbound().Parse(h, body, now); err != nil {
		t.Errorf("signed with the file's secret: %v", err)
	}
	for webhook, want := range map[string]string{
		`{}`: "webhook.client_secret",
		`{"client_secret":"x","client_secret_file":"/nonexistent"}`:    "webhook.client_secret_file",
		`{"client_secret_file":"/nonexistent/secret"}`:                 "webhook.client_secret_file",
		`{"client_secret":"x","reconcile_interval":"10s"}`:             "webhook.reconcile_interval",
		`{"client_secret":"x","public_url":"http://sync.example.com"}`: "webhook.public_url",
		`{"clientsecret":"x"}`:                                         "webhook.clientsecret",
	} {
		if _, err := open(webhook); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", webhook, err, want)
		}
	}
}
