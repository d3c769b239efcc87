package woocommerce_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"synclayer"
	"synclayer/source/woocommerce"
	"synclayer/source/woocommerce/woosim"
)

const target = "https://sync.example.com/webhooks/shop-eu"

var customerTopics = []string{"customer.created", "customer.deleted", "customer.updated"}

func statuses(rows []synclayer.HookState) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Topic+"="+r.Status)
	}
	return out
}

func TestSource_HookTopics(t *testing.T) {
	src := woocommerce.New(woocommerce.Config{})
	got := src.HookTopics([]string{"order-events", "customer-sync", "cart-events", "customer-sync"})
	want := []string{"customer.created", "customer.deleted", "customer.updated", "order.created", "order.deleted", "order.updated"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("HookTopics = %v, want %v", got, want)
	}
	if got := src.HookTopics([]string{"product-catalog"}); !reflect.DeepEqual(got, []string{"product.created", "product.deleted", "product.updated"}) {
		t.Errorf("product-catalog: %v", got)
	}
}

func TestSource_RegisterHooks(t *testing.T) {
	ctx := context.Background()
	t.Run("CreateThenUnchanged", func(t *testing.T) {
		sim, src, _ := startSim(t)
		rows, err := src.Hooks(ctx, target, customerTopics)
		if err != nil || !reflect.DeepEqual(statuses(rows), []string{"customer.created=missing", "customer.deleted=missing", "customer.updated=missing"}) {
			t.Fatalf("check before: %v, %v", statuses(rows), err)
		}
		rows, err = src.RegisterHooks(ctx, target, customerTopics)
		if err != nil || !reflect.DeepEqual(statuses(rows), []string{"customer.created=created", "customer.deleted=created", "customer.updated=created"}) {
			t.Fatalf("register: %v, %v", statuses(rows), err)
		}
		hooks := sim.Webhooks()
		if len(hooks) != 3 {
			t.Fatalf("%d webhooks, want 3", len(hooks))
		}
		for _, h := range hooks {
			if h.DeliveryURL != target || h.Secret != testSecret || h.Status != "active" || h.Name != "synclayer "+h.Topic {
				t.Errorf("webhook %+v; want active at the target with the source's secret", h)
			}
		}
		rows, err = src.RegisterHooks(ctx, target, customerTopics)
		if err != nil || !reflect.DeepEqual(statuses(rows), []string{"customer.created=unchanged", "customer.deleted=unchanged", "customer.updated=unchanged"}) {
			t.Errorf("again: %v, %v", statuses(rows), err)
		}
		if n := sim.Requests("POST webhooks"); n != 3 || len(sim.Webhooks()) != 3 {
			t.Errorf("%d creates, %d webhooks; a rerun changes nothing", n, len(sim.Webhooks()))
		}
		rows, err = src.Hooks(ctx, target, customerTopics)
		if err != nil || !reflect.DeepEqual(statuses(rows), []string{"customer.created=ok", "customer.deleted=ok", "customer.updated=ok"}) {
			t.Errorf("check after: %v, %v", statuses(rows), err)
		}
	})
	t.Run("DisabledIsInactiveThenUpdated", func(t *testing.T) {
		sim, src, _ := startSim(t)
		h := sim.AddWebhook(woosim.Webhook{Name: "Customer updated", Topic: "customer.updated", DeliveryURL: target, Secret: "old-secret"})
		sim.SetWebhookStatus(h.ID, "disabled")
		rows, err := src.Hooks(ctx, target, []string{"customer.updated"})
		if err != nil || len(rows) != 1 || rows[0].Status != synclayer.HookInactive || !strings.Contains(rows[0].Detail, "failed deliveries") || rows[0].ID != "1" {
			t.Fatalf("check: %+v, %v; want inactive, disabled after failures", rows, err)
		}
		rows, err = src.RegisterHooks(ctx, target, []string{"customer.updated"})
		if err != nil || len(rows) != 1 || rows[0].Status != synclayer.HookUpdated || rows[0].Detail != "was disabled" {
			t.Fatalf("register: %+v, %v", rows, err)
		}
		got := sim.Webhooks()
		if len(got) != 1 || got[0].Status != "active" || got[0].Secret != testSecret || got[0].Name != "Customer updated" {
			t.Errorf("webhook %+v; want the same one, active, with the source's secret", got)
		}
	})
	t.Run("PausedIsInactive", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.AddWebhook(woosim.Webhook{Topic: "order.created", DeliveryURL: target, Status: "paused"})
		rows, err := src.Hooks(ctx, target, []string{"order.created"})
		if err != nil || len(rows) != 1 || rows[0].Status != synclayer.HookInactive || !strings.Contains(rows[0].Detail, "paused") {
			t.Errorf("check: %+v, %v", rows, err)
		}
	})
	t.Run("OtherHostIsElsewhereThenUpdated", func(t *testing.T) {
		sim, src, _ := startSim(t)
		sim.AddWebhook(woosim.Webhook{Topic: "customer.created", DeliveryURL: "https://old-sync.example.com/webhooks/shop-eu", Secret: testSecret})
		sim.AddWebhook(woosim.Webhook{Topic: "customer.created", DeliveryURL: "https://crm.example.com/hooks/woo"})
		rows, err := src.Hooks(ctx, target, []string{"customer.created"})
		if err != nil || len(rows) != 1 || rows[0].Status != synclayer.HookElsewhere || rows[0].URL != "https://old-sync.example.com/webhooks/shop-eu" {
			t.Fatalf("check: %+v, %v; want one elsewhere row, another app's webhook left out", rows, err)
		}
		rows, err = src.RegisterHooks(ctx, target, []string{"customer.created"})
		if err != nil || len(rows) != 1 || rows[0].Status != synclayer.HookUpdated || rows[0].URL != target || !strings.Contains(rows[0].Detail, "old-sync.example.com") {
			t.Fatalf("register: %+v, %v", rows, err)
		}
		got := sim.Webhooks()
		if got[0].DeliveryURL != target || got[1].DeliveryURL != "https://crm.example.com/hooks/woo" {
			t.Errorf("webhooks %+v; want the old host's moved and the other app's kept", got)
		}
		if rows, _ := src.Hooks(ctx, target, []string{"customer.created"}); len(rows) != 1 || rows[0].Status != synclayer.HookOK {
			t.Errorf("check after: %+v", rows)
		}
	})
	t.Run("RegisteredDeliveriesVerify", func(t *testing.T) {
		sim, src, _ := startSim(t)
		var parsed []*synclayer.Event
		var perr error
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			parsed, perr = src.Parse(r.Header, b, now)
		}))
		defer hs.Close()
		sim.Ping = hs.Client()
		if _, err := src.RegisterHooks(ctx, hs.URL+"/webhooks/shop-eu", []string{"customer.updated"}); err != nil {
			t.Fatal(err)
		}
		if got := sim.Pings(); len(got) != 1 || got[0] != 200 || perr != nil || parsed != nil {
			t.Errorf("the ping on save: answered %v, Parse %v, %v; want 200 and no events", got, parsed, perr)
		}
		sim.Put(woosim.Customers, woosim.Customer(5, base))
		if _, err := sim.Deliver(ctx, hs.Client(), "customer.updated", woosim.Customers, 5); err != nil {
			t.Fatal(err)
		}
		if perr != nil || len(parsed) != 1 || parsed[0].Customer.SourceID != "5" {
			t.Errorf("the delivery of a webhook register made: %v, %v", parsed, perr)
		}
	})
	t.Run("NoSecret", func(t *testing.T) {
		_, _, url := startSim(t)
		api, _ := (&woocommerce.APISettings{URL: url, ConsumerKey: testKey, ConsumerSecret: testAPISec}).Config()
		noSecret := woocommerce.New(woocommerce.Config{API: &api})
		if _, err := noSecret.RegisterHooks(ctx, target, customerTopics); !permanent(err) {
			t.Errorf("register without a secret: %v", err)
		}
	})
	t.Run("RefusedKey", func(t *testing.T) {
		_, _, url := startSim(t)
		_, err := openSource(t, url, testKey, "cs_wrong").RegisterHooks(ctx, target, customerTopics)
		if !permanent(err) || !strings.Contains(err.Error(), "sources.shop-eu.api.consumer_key") {
			t.Errorf("refused key: %v", err)
		}
	})
	t.Run("NoAPI", func(t *testing.T) {
		src := woocommerce.New(woocommerce.Config{Secrets: []string{testSecret}})
		if _, err := src.Hooks(ctx, target, customerTopics); !permanent(err) || synclayer.ErrorCode(err) != synclayer.EINVALID {
			t.Errorf("Hooks without api: %v", err)
		}
	})
}
