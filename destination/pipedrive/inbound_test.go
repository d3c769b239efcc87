package pipedrive_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/pipedrive"
	"synclayer/destination/pipedrive/pipedrivesim"
)

const hookUser, hookPass = "synclayer", "0123456789abcdef-webhook"

// inboundEnv is a destination with a webhook block whose public URL is
// a test server that parses each delivery, keeping the events.
type inboundEnv struct {
	sim  *pipedrivesim.Server
	base string
	d    *pipedrive.Destination
	mu   sync.Mutex
	evs  []*synclayer.Event
	errs []error
}

func startInbound(t *testing.T) *inboundEnv {
	t.Helper()
	sim, _, base := mustSim(t, pipedrivesim.Options{})
	e := &inboundEnv{sim: sim, base: base}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		evs, err := e.d.Inbound().Parse(r.Header, body, time.Now())
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.errs = append(e.errs, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		e.evs = append(e.evs, evs...)
	}))
	t.Cleanup(srv.Close)
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": base,
		"webhook": map[string]any{"username": hookUser, "password": hookPass, "public_url": srv.URL}})
	d, err := pipedrive.Open("crm", raw, synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	e.d = d.(*pipedrive.Destination)
	return e
}

func TestInbound(t *testing.T) {
	ctx := context.Background()
	t.Run("RegisterOnce", func(t *testing.T) {
		e := startInbound(t)
		for range 2 {
			if _, err := e.d.RegisterWebhook(ctx); err != nil {
				t.Fatal(err)
			}
		}
		hooks := e.sim.Webhooks()
		if len(hooks) != 1 || hooks[0].SubscriptionURL != e.d.WebhookURL() || hooks[0].EventObject != "person" ||
			hooks[0].Version != "2.0" || hooks[0].HTTPAuthUser != hookUser || hooks[0].HTTPAuthPass != hookPass {
			t.Fatalf("webhooks %+v, want one v2 person webhook with the credentials", hooks)
		}
	})
	t.Run("OwnerChangeFlowsBack", func(t *testing.T) {
		e := startInbound(t)
		e.sim.AddUser(pipedrivesim.User{ID: 7, Name: "Jane", ActiveFlag: true})
		if _, err := e.d.RegisterWebhook(ctx); err != nil {
			t.Fatal(err)
		}
		cs := mustSync(t, e.base, nil, nil)
		deliver(t, cs, contact("ann@example.com", "Ann", ""), nil)
		if err := e.sim.ChangePersonInPipedrive(ctx, "ann@example.com", func(p *pipedrivesim.Person) { p.OwnerID = 7 }); err != nil {
			t.Fatal(err)
		}
		if len(e.evs) != 1 {
			t.Fatalf("events %+v, errors %v: want one", e.evs, e.errs)
		}
		ev := e.evs[0]
		if ev.Source != "crm" || ev.Type != synclayer.EventCustomerUpdated || string(ev.Customer.Fields[synclayer.FieldOwner]) != `"7"` ||
			string(ev.Customer.Fields[synclayer.FieldEmail]) != `"ann@example.com"` || ev.Customer.EmailConsent != nil {
			t.Fatalf("event %+v, customer %+v", ev, ev.Customer)
		}
		// A change of a field Pipedrive does not own sends nothing.
		if err := e.sim.ChangePersonInPipedrive(ctx, "ann@example.com", func(p *pipedrivesim.Person) { p.Name = "Annie" }); err != nil {
			t.Fatal(err)
		}
		if len(e.evs) != 1 {
			t.Fatalf("a name change made an event: %+v", e.evs[1:])
		}
	})
	t.Run("UnsubscribeIsAnOptOutSubscribeIsNothing", func(t *testing.T) {
		e := startInbound(t)
		e.d.RegisterWebhook(ctx)
		cs := mustSync(t, e.base, nil, nil)
		deliver(t, cs, contact("ann@example.com", "Ann", ""), nil)
		e.sim.ChangePersonInPipedrive(ctx, "ann@example.com", func(p *pipedrivesim.Person) { p.MarketingStatus = pipedrivesim.Subscribed })
		if len(e.evs) != 0 {
			t.Fatalf("a subscription flowed back: %+v", e.evs)
		}
		e.sim.ChangePersonInPipedrive(ctx, "ann@example.com", func(p *pipedrivesim.Person) { p.MarketingStatus = pipedrivesim.Unsubscribed })
		if len(e.evs) != 1 || e.evs[0].Customer.EmailConsent == nil || e.evs[0].Customer.EmailConsent.State != synclayer.ConsentUnsubscribed {
			t.Fatalf("events %+v, want one opt-out", e.evs)
		}
	})
	t.Run("DeletionRecorded", func(t *testing.T) {
		e := startInbound(t)
		e.d.RegisterWebhook(ctx)
		cs := mustSync(t, e.base, nil, nil)
		deliver(t, cs, contact("ann@example.com", "Ann", ""), nil)
		if err := e.sim.DeletePersonInPipedrive(ctx, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		if len(e.evs) != 1 || e.evs[0].Type != synclayer.EventContactRemoved || e.evs[0].Activity == nil {
			t.Fatalf("events %+v, want one contact_removed", e.evs)
		}
	})
	t.Run("WrongCredentialsUnauthorized", func(t *testing.T) {
		e := startInbound(t)
		body := []byte(`{"meta":{"action":"change","entity":"person","entity_id":"1","id":"x","version":"2.0"},"data":{"owner_id":7},"previous":{"owner_id":1}}`)
		for name, h := range map[string]http.Header{
			"None":      {},
			"WrongPass": {"Authorization": {basic(hookUser, hookPass+"x")}},
			"WrongUser": {"Authorization": {basic("admin", hookPass)}},
		} {
			_, err := e.d.Inbound().Parse(h, body, time.Now())
			var se *synclayer.Error
			if !errors.As(err, &se) || se.Code != synclayer.EUNAUTHORIZED {
				t.Errorf("%s: err = %v, want EUNAUTHORIZED", name, err)
			}
		}
		if _, err := e.d.Inbound().Parse(http.Header{"Authorization": {basic(hookUser, hookPass)}}, body, time.Now()); err != nil {
			t.Errorf("right credentials: %v", err)
		}
	})
	t.Run("BadSettings", func(t *testing.T) {
		for _, w := range []map[string]any{{"username": "u"}, {"username": "u", "password": "short"}, {"password": hookPass}, {"username": "u", "password": hookPass, "pasword": 1}} {
			raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": "http://127.0.0.1:1", "webhook": w})
			if _, err := pipedrive.Open("crm", raw, synclayer.DestinationEnv{}); err == nil {
				t.Errorf("webhook %v accepted", w)
			}
		}
	})
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}
