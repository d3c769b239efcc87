package magento_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"synclayer"
	"synclayer/source/magento"
	"synclayer/source/magento/magentosim"
)

const hookURL = "https://sync.example.com/webhooks/magento"

func statuses(states []synclayer.HookState) map[string]string {
	m := map[string]string{}
	for _, s := range states {
		m[s.Topic] = s.Status
	}
	return m
}

func every(states []synclayer.HookState, status string) bool {
	for _, s := range states {
		if s.Status != status {
			return false
		}
	}
	return len(states) > 0
}

// TestSource_HookTopics: each skill's webhook methods in Adobe's names,
// sorted, once each; cart-events adds none.
func TestSource_HookTopics(t *testing.T) {
	src := newSource(t, magento.Settings{})
	got := src.HookTopics([]string{"product-catalog", "customer-sync", "order-events", "cart-events", "customer-sync"})
	want := []string{"observer.catalog_product_delete_after", "observer.catalog_product_save_after", "observer.customer_delete_after",
		"observer.customer_save_after", "observer.newsletter_subscriber_save_after", "observer.sales_order_save_after"}
	if !slices.Equal(got, want) {
		t.Errorf("HookTopics = %q, want %q", got, want)
	}
	if got := src.HookTopics([]string{"cart-events"}); len(got) != 0 {
		t.Errorf("cart-events: %q, want none", got)
	}
	// Every registered method is one Parse reads.
	for _, m := range want {
		body := magentosim.Webhook(m, "data_object", map[string]any{"entity_id": 1})
		_, err := src.Parse(magentosim.Headers(body), body, now)
		if err != nil && strings.Contains(err.Error(), "is not a webhook method synclayer reads") {
			t.Errorf("%s is registered but not parsed: %v", m, err)
		}
	}
}

// TestSource_RegisterHooks: against magentosim's webhooks endpoints,
// check finds every method missing, register subscribes each (optional,
// POST, with timeouts, in batch synclayer, named after the source, signed
// with OAuth like every other call), a rerun changes nothing and check
// says ok. A hook moved to an old host is elsewhere and register moves it
// back under its own names; one an admin made required is updated; a
// hook of another path is left alone.
func TestSource_RegisterHooks(t *testing.T) {
	sim, src := startSim(t)
	ctx := context.Background()
	topics := src.HookTopics([]string{"customer-sync", "order-events"})

	st, err := src.Hooks(ctx, hookURL, topics)
	if err != nil || !every(st, synclayer.HookMissing) || len(st) != len(topics) {
		t.Fatalf("check before register: %+v %v", st, err)
	}
	st, err = src.RegisterHooks(ctx, hookURL, topics)
	if err != nil || !every(st, synclayer.HookCreated) || len(st) != len(topics) {
		t.Fatalf("register: %+v %v", st, err)
	}
	hooks := sim.Webhooks()
	if len(hooks) != len(topics) {
		t.Fatalf("%d hooks in the store, want %d: %v", len(hooks), len(topics), hooks)
	}
	for _, h := range hooks {
		if h["url"] != hookURL || h["webhook_type"] != "after" || h["batch_name"] != "synclayer" || h["hook_name"] != "synclayer_magento" ||
			h["required"] != false || h["method"] != "POST" || h["timeout"] != float64(5000) || h["soft_timeout"] != float64(1000) {
			t.Errorf("hook %v", h)
		}
	}
	var posts int
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPost {
			posts++
			if !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") || r.URL.Path != "/rest/all/V1/webhooks/subscribe" {
				t.Errorf("subscribe request %s %s, Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
			}
		}
	}
	if posts != len(topics) {
		t.Errorf("%d subscribe requests, want %d", posts, len(topics))
	}
	if st, err := src.RegisterHooks(ctx, hookURL, topics); err != nil || !every(st, synclayer.HookUnchanged) {
		t.Errorf("register again: %+v %v", st, err)
	}
	if n := len(sim.Requests()); n != len(topics)+3 {
		t.Errorf("%d requests after a rerun, want %d: a rerun only lists", n, len(topics)+3)
	}
	if st, err := src.Hooks(ctx, hookURL, topics); err != nil || !every(st, synclayer.HookOK) {
		t.Errorf("check: %+v %v", st, err)
	}

	// An admin edits two hooks and adds one of another integration.
	sim.AddWebhook(map[string]any{"webhook_method": "observer.sales_order_save_after", "webhook_type": "after", "batch_name": "synclayer",
		"hook_name": "synclayer_magento", "url": "https://old-host.example.com/webhooks/magento", "required": false,
		"headers": []any{map[string]any{"name": "X-Tenant", "value": "eu"}}})
	sim.AddWebhook(map[string]any{"webhook_method": "observer.customer_delete_after", "webhook_type": "after", "batch_name": "synclayer",
		"hook_name": "synclayer_magento", "url": hookURL, "required": true})
	sim.RemoveWebhook("observer.customer_save_after", "after", "synclayer", "synclayer_magento")
	sim.AddWebhook(map[string]any{"webhook_method": "observer.customer_save_after", "webhook_type": "before", "batch_name": "erp",
		"hook_name": "erp", "url": "https://erp.example.com/hooks/customer"})
	st, err = src.Hooks(ctx, hookURL, topics)
	got := statuses(st)
	if err != nil || got["observer.sales_order_save_after"] != synclayer.HookElsewhere || got["observer.customer_save_after"] != synclayer.HookMissing ||
		got["observer.customer_delete_after"] != synclayer.HookOK || got["observer.newsletter_subscriber_save_after"] != synclayer.HookOK {
		t.Errorf("check after the edits: %v %v", got, err)
	}
	for _, s := range st {
		if s.Topic == "observer.customer_delete_after" && !strings.Contains(s.Detail, "required") {
			t.Errorf("a required hook's row does not say so: %+v", s)
		}
	}
	st, err = src.RegisterHooks(ctx, hookURL, topics)
	got = statuses(st)
	if err != nil || got["observer.sales_order_save_after"] != synclayer.HookUpdated || got["observer.customer_save_after"] != synclayer.HookCreated ||
		got["observer.customer_delete_after"] != synclayer.HookUpdated || got["observer.newsletter_subscriber_save_after"] != synclayer.HookUnchanged {
		t.Errorf("register after the edits: %v %v", got, err)
	}
	if hooks := sim.Webhooks(); len(hooks) != len(topics)+1 {
		t.Errorf("%d hooks, want synclayer's %d and the ERP's: %v", len(hooks), len(topics), hooks)
	}
	for _, h := range sim.Webhooks() {
		if h["batch_name"] == "erp" && h["url"] != "https://erp.example.com/hooks/customer" {
			t.Errorf("another integration's hook was changed: %v", h)
		}
		if h["batch_name"] == "synclayer" && (h["url"] != hookURL || h["required"] != false) {
			t.Errorf("hook not put back: %v", h)
		}
		if h["webhook_method"] == "observer.sales_order_save_after" && fmt.Sprint(h["headers"]) != "[map[name:X-Tenant value:eu]]" {
			t.Errorf("the moved hook lost its headers: %v", h)
		}
	}
	if st, err := src.Hooks(ctx, hookURL, topics); err != nil || !every(st, synclayer.HookOK) {
		t.Errorf("check after register: %+v %v", st, err)
	}
}

// TestSource_RegisterHooksPlaceholderURL: a webhooks.xml hook whose url
// starts with {env:...} is compared by its path: elsewhere, not missing.
func TestSource_RegisterHooksPlaceholderURL(t *testing.T) {
	sim, src := startSim(t)
	sim.AddWebhook(map[string]any{"webhook_method": "observer.sales_order_save_after", "webhook_type": "after", "batch_name": "sync",
		"hook_name": "orders", "url": "{env:SYNCLAYER_URL}/webhooks/magento", "required": false})
	st, err := src.Hooks(context.Background(), hookURL, []string{"observer.sales_order_save_after"})
	if err != nil || len(st) != 1 || st[0].Status != synclayer.HookElsewhere || st[0].ID != "observer.sales_order_save_after:after/sync/orders" {
		t.Errorf("check: %+v %v", st, err)
	}
}

// TestSource_RegisterHooksErrors: a store without the webhooks module, or
// without its subscriber module, is a permanent error saying which
// module version is needed, the second with the webhooks.xml to write;
// a refused credential is permanent; a source without api_url names it.
func TestSource_RegisterHooksErrors(t *testing.T) {
	ctx := context.Background()
	topics := []string{"observer.customer_save_after"}

	sim, src := startSim(t)
	sim.NoWebhooksModule()
	if _, err := src.Hooks(ctx, hookURL, topics); !permanent(err) || !strings.Contains(err.Error(), "webhooks module") || !strings.Contains(err.Error(), "1.8.0") {
		t.Errorf("no webhooks module: %v", err)
	}

	sim, src = startSim(t)
	sim.NoSubscriber()
	if st, err := src.Hooks(ctx, hookURL, topics); err != nil || !every(st, synclayer.HookMissing) {
		t.Errorf("check without the subscriber module: %+v %v", st, err)
	}
	_, err := src.RegisterHooks(ctx, hookURL, topics)
	if !permanent(err) || !strings.Contains(err.Error(), "Magento_AdobeCommerceWebhooksSubscriber") ||
		!strings.Contains(err.Error(), `<method name="observer.customer_save_after" type="after">`) ||
		!strings.Contains(err.Error(), `<hook name="synclayer_magento" url="`+hookURL+`"`) {
		t.Errorf("register without the subscriber module: %v", err)
	}

	sim = magentosim.New("right", nil)
	hs := httptestServer(t, sim)
	bad, err := magento.New("magento", nil, magento.Settings{APIURL: hs, AccessToken: "wrong"}, magento.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.RegisterHooks(ctx, hookURL, topics); !permanent(err) || !strings.Contains(err.Error(), "access_token") {
		t.Errorf("refused token: %v", err)
	}

	hookOnly, err := magento.New("magento", []string{"x"}, magento.Settings{WebhookPublicKey: magentosim.TestPublicKey}, magento.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hookOnly.Hooks(ctx, hookURL, topics); !permanent(err) || !strings.Contains(err.Error(), "api_url") {
		t.Errorf("no API: %v", err)
	}
}

// TestSource_SubscribeBody: the subscribe request's body is the
// documented {"webhook": {...}} with the attributes Adobe requires.
func TestSource_SubscribeBody(t *testing.T) {
	var body map[string]map[string]any
	sim := magentosim.New("tok", nil)
	hs := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_ = json.NewDecoder(r.Body).Decode(&body)
			w.Write([]byte("true"))
			return
		}
		sim.ServeHTTP(w, r)
	}))
	src, err := magento.New("shop-eu", nil, magento.Settings{APIURL: hs, AccessToken: "tok"}, magento.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.RegisterHooks(context.Background(), hookURL, []string{"observer.sales_order_save_after"}); err != nil {
		t.Fatal(err)
	}
	w := body["webhook"]
	for k, v := range map[string]any{"webhook_method": "observer.sales_order_save_after", "webhook_type": "after", "batch_name": "synclayer",
		"hook_name": "synclayer_shop_eu", "url": hookURL, "method": "POST", "required": false, "timeout": float64(5000), "soft_timeout": float64(1000)} {
		if w[k] != v {
			t.Errorf("webhook.%s = %v, want %v (body %v)", k, w[k], v, body)
		}
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
