package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/source/magento"
	"synclayer/source/magento/magentosim"
)

var magentoOAuth = magento.OAuth{ConsumerKey: "mage-ck", ConsumerSecret: "mage-cs", AccessToken: "mage-at", AccessTokenSecret: "mage-ats"}

// startMagento runs the program with a Magento source whose webhooks are
// signed with magentosim's test key and whose REST API is magentosim,
// signed with OAuth 1.0a, two records a page; poll is its poll_interval.
// opts change the config after.
func startMagento(t *testing.T, poll string, opts ...envOption) (*env, *magentosim.Server) {
	t.Helper()
	sim := magentosim.New("", &magentoOAuth)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources["magento"] = &SourceConfig{Secret: magentosim.TestPublicKey, Settings: map[string]any{
			"api_url": hs.URL, "poll_interval": poll, "page_size": 2,
			"oauth": map[string]any{"consumer_key": magentoOAuth.ConsumerKey, "consumer_secret": magentoOAuth.ConsumerSecret,
				"access_token": magentoOAuth.AccessToken, "access_token_secret": magentoOAuth.AccessTokenSecret}}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "magento")
		c.Skills.CustomerSync.FieldMapping = map[string]string{"email": "email", "firstName": "FIRSTNAME"}
		c.Skills.OrderEvents = &CommerceSkillConfig{Enabled: true, Source: StringList{"magento"}}
		c.Skills.ProductCatalog = &CommerceSkillConfig{Enabled: true, Source: StringList{"magento"}}
		for _, o := range opts {
			o(c)
		}
	})
	return e, sim
}

func (e *env) magento(eventName, key string, rec map[string]any) (int, map[string]any) {
	body := magentosim.Webhook(eventName, key, rec)
	return e.post("/webhooks/magento", body, magentosim.Headers(body))
}

func magentoTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func (e *env) poller() synclayer.Poller {
	e.t.Helper()
	p, ok := e.m.sources["magento"].(synclayer.Poller)
	if !ok {
		e.t.Fatalf("the magento source is %T, not a Poller", e.m.sources["magento"])
	}
	return p
}

// TestMagento_Webhooks: Adobe Commerce's signed webhooks for a customer,
// an order and a product reach Brevo once each, a redelivery is a
// duplicate, an unsigned or forged one is refused, and an unsubscribe
// (the newsletter subscriber's status) blocklists the contact even after
// an older customer save that still says subscribed.
func TestMagento_Webhooks(t *testing.T) {
	t.Parallel()
	e, _ := startMagento(t, "0")
	cust := map[string]any{"entity_id": "41", "email": "Ann@Example.com", "firstname": "Ann", "lastname": "Lee",
		"created_at": "2026-11-20 10:00:00", "updated_at": "2026-11-20 10:00:00", "extension_attributes": map[string]any{"is_subscribed": true}}
	e.mustAccept(e.magento("observer.customer_save_commit_after", "customer", cust))
	// Adobe Commerce's webhooks module reads an operation in the answer.
	if code, reply := e.magento("observer.customer_save_commit_after", "customer", cust); code != 200 || reply["status"] != "duplicate" || reply["op"] != "success" {
		t.Errorf("a redelivered webhook: %d %v, want a duplicate", code, reply)
	}
	body := magentosim.Webhook("observer.customer_save_commit_after", "customer", cust)
	if code, _ := e.post("/webhooks/magento", body, http.Header{"Content-Type": {"application/json"}}); code != http.StatusUnauthorized {
		t.Errorf("an unsigned webhook: %d, want 401", code)
	}
	if code, _ := e.post("/webhooks/magento", body, magentosim.Headers([]byte(`{"eventName":"x"}`))); code != http.StatusUnauthorized {
		t.Errorf("a webhook signed over another body: %d, want 401", code)
	}
	e.mustAccept(e.magento("observer.sales_order_save_commit_after", "order", map[string]any{
		"entity_id": "300", "increment_id": "000000300", "state": "processing", "customer_id": "41", "customer_is_guest": "0",
		"customer_email": "ann@example.com", "order_currency_code": "EUR", "grand_total": "109.5000",
		"created_at": "2026-11-20 10:30:00", "updated_at": "2026-11-20 10:31:00",
		"items": []map[string]any{{"item_id": "1", "product_id": "77", "sku": "TEE", "name": "Tee", "price_incl_tax": "54.7500", "qty_ordered": "2.0000"}}}))
	e.mustAccept(e.magento("observer.catalog_product_save_commit_after", "product", map[string]any{
		"entity_id": "77", "sku": "TEE", "name": "Tee", "price": "54.75", "url_key": "tee", "updated_at": "2026-11-20 09:00:00"}))
	e.waitIdle(30 * time.Second)
	if c := e.contact("ann@example.com"); c.Attributes["FIRSTNAME"] != "Ann" || c.EmailBlacklisted {
		t.Errorf("Brevo contact %+v, want FIRSTNAME Ann, subscribed", c)
	}
	if o := e.order("magento:300"); o.Amount != "109.5000" || o.Status != "paid" || len(o.Products) != 1 {
		t.Errorf("Brevo order %+v, want 109.5000 paid with one product", o)
	}
	if p, ok := e.sim.ProductByID("magento:77"); !ok || p.Name != "Tee" {
		t.Errorf("Brevo product %+v (%v)", p, ok)
	}
	if n := e.contactCalls(http.MethodPost); n != 1 {
		t.Errorf("%d contact creations for one customer, want 1", n)
	}

	e.mustAccept(e.magento("observer.newsletter_subscriber_save_after", "subscriber", map[string]any{
		"subscriber_id": "9", "customer_id": "41", "subscriber_email": "ann@example.com", "subscriber_status": "3", "change_status_at": "2026-11-21 12:00:00"}))
	e.mustAccept(e.magento("observer.customer_save_commit_after", "customer", map[string]any{"entity_id": "41", "email": "ann@example.com",
		"created_at": "2026-11-20 10:00:00", "updated_at": "2026-11-21 11:00:00", "extension_attributes": map[string]any{"is_subscribed": true}}))
	e.waitIdle(30 * time.Second)
	if c := e.contact("ann@example.com"); !c.EmailBlacklisted {
		t.Errorf("Brevo contact %+v after the unsubscribe and an older save, want blocklisted", c)
	}
	if e.sentBlacklistFalse() {
		t.Error("a request sent emailBlacklisted:false")
	}
}

// TestMagento_Polling: with no webhooks, the program's poll (started at
// once, then every poll_interval) lists customers, orders and products
// changed since it first ran through the REST API, and each reaches
// Brevo once: polling again reads the last seconds again but sends
// nothing more.
func TestMagento_Polling(t *testing.T) {
	t.Parallel()
	e, sim := startMagento(t, "0")
	p := e.poller()
	if p.PollInterval() != 0 {
		t.Fatalf("poll_interval 0: %v", p.PollInterval())
	}
	at := magentoTime(time.Now().Add(time.Minute)) // changes after the first poll's start
	for id := 1; id <= 3; id++ {
		sim.Put(magentosim.Customers, map[string]any{"id": id, "email": fmt.Sprintf("poll%d@example.com", id), "firstname": fmt.Sprintf("P%d", id),
			"created_at": at, "updated_at": at, "extension_attributes": map[string]any{"is_subscribed": true}})
	}
	sim.Put(magentosim.Orders, map[string]any{"entity_id": 500, "increment_id": "500", "state": "complete", "customer_id": 1, "customer_email": "poll1@example.com",
		"order_currency_code": "USD", "grand_total": 20, "created_at": at, "updated_at": at,
		"items": []map[string]any{{"item_id": 1, "product_id": 9, "sku": "S", "name": "Sock", "price": 10, "qty_ordered": 2}}})
	sim.Put(magentosim.Products, map[string]any{"id": 9, "sku": "S", "name": "Sock", "price": 10, "created_at": at, "updated_at": at})
	ctx := context.Background()
	for range 2 {
		e.m.pollSource(ctx, "magento", p)
		e.waitIdle(30 * time.Second)
	}
	for id := 1; id <= 3; id++ {
		if c := e.contact(fmt.Sprintf("poll%d@example.com", id)); c.Attributes["FIRSTNAME"] != fmt.Sprintf("P%d", id) {
			t.Errorf("Brevo contact %+v", c)
		}
	}
	if o := e.order("magento:500"); o.Status != "completed" {
		t.Errorf("Brevo order %+v, want completed", o)
	}
	if _, ok := e.sim.ProductByID("magento:9"); !ok {
		t.Error("Brevo has no product magento:9")
	}
	if n := e.contactCalls(http.MethodPost); n != 3 {
		t.Errorf("%d contact creations for three customers polled twice, want 3", n)
	}
	if n, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p); n != 0 || err != nil {
		t.Errorf("a third poll with nothing changed: %d new events, %v; want 0 (the last seconds read again are duplicates)", n, err)
	}
	for _, r := range sim.Requests() {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
			t.Errorf("a request without OAuth: %s", r.URL)
		}
	}
}

// TestMagento_PollResumes: a poll cancelled in the middle of a listing
// (the server stopping) stored the cursor of each page it ingested, and
// the next poll goes on from there: every customer reaches Brevo once.
func TestMagento_PollResumes(t *testing.T) {
	t.Parallel()
	e, sim := startMagento(t, "0")
	p := e.poller()
	base := time.Now().Add(time.Minute)
	for id := 1; id <= 7; id++ {
		at := magentoTime(base.Add(time.Duration(id/3) * time.Second)) // seconds shared across page boundaries
		sim.Put(magentosim.Customers, map[string]any{"id": id, "email": fmt.Sprintf("r%d@example.com", id), "firstname": "R",
			"created_at": at, "updated_at": at})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var pages atomic.Int32
	sim.OnList(func(kind string, _ int) {
		if kind == magentosim.Customers && pages.Add(1) == 2 {
			cancel()
		}
	})
	if n, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p); err == nil || n > 4 {
		t.Fatalf("cancelled poll: %d events, %v; want it stopped on the second page", n, err)
	}
	sim.OnList(nil)
	if _, err := e.m.poll(context.Background(), "magento", synclayer.ListCustomers, p); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(30 * time.Second)
	for id := 1; id <= 7; id++ {
		e.contact(fmt.Sprintf("r%d@example.com", id))
	}
	if n := e.contactCalls(http.MethodPost); n != 7 {
		t.Errorf("%d contact creations for seven customers, want 7", n)
	}
	cp, err := e.m.DB.FindCheckpoint(context.Background(), pollCheckpoint("magento", synclayer.ListCustomers))
	if err != nil || cp.Position < 4 {
		t.Errorf("checkpoint %+v %v, want a position per page ingested", cp, err)
	}
}

// TestMagento_PollLoop: with poll_interval set, the server polls at once
// at start (a restart catches up without waiting a window).
func TestMagento_PollLoop(t *testing.T) {
	t.Parallel()
	sim := magentosim.New("", &magentoOAuth)
	at := magentoTime(time.Now().Add(2 * time.Minute))
	sim.Put(magentosim.Customers, map[string]any{"id": 1, "email": "loop@example.com", "firstname": "L", "created_at": at, "updated_at": at})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	e := startEnv(t, brevosim.Options{}, func(c *Config) {
		c.Sources["magento"] = &SourceConfig{Secret: "unused", Settings: map[string]any{
			"api_url": hs.URL, "poll_interval": "10s",
			"oauth": map[string]any{"consumer_key": magentoOAuth.ConsumerKey, "consumer_secret": magentoOAuth.ConsumerSecret,
				"access_token": magentoOAuth.AccessToken, "access_token_secret": magentoOAuth.AccessTokenSecret}}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "magento")
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := e.sim.ContactByEmail("loop@example.com"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the polled customer never reached Brevo; magento requests: %d", len(sim.Requests()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range sim.Requests() {
		if !strings.HasSuffix(r.URL.Path, "/customers/search") {
			t.Errorf("polled %s, but only customer-sync takes magento", r.URL.Path)
		}
	}
}

// TestParseConfig_MagentoWithoutSecret: a Magento Open Source store is
// only polled and Adobe Commerce signs with a key pair, so a magento
// block needs no shared secret; one with neither API credentials nor a
// webhook key is still refused, saying what to set.
func TestParseConfig_MagentoWithoutSecret(t *testing.T) {
	t.Setenv("MAGENTO_TOKEN", "mage-token")
	polled := "sources:\n  magento:\n    api_url: https://shop.example.com\n    access_token: \"${MAGENTO_TOKEN}\"\n    poll_interval: 5m\nskills:\n  customer-sync:\n    enabled: true\n    source: magento\n"
	if _, err := ParseConfig([]byte(polled), ""); err != nil {
		t.Errorf("a polled Magento store without a secret: %v", err)
	}
	bare := "sources:\n  magento: { store_code: default }\nskills:\n  customer-sync:\n    enabled: true\n    source: magento\n"
	if _, err := ParseConfig([]byte(bare), ""); err == nil || !strings.Contains(err.Error(), "webhook_public_key") {
		t.Errorf("a Magento block with neither API nor webhook key: %v, want it to ask for webhook_public_key or api_url", err)
	}
	if _, err := ParseConfig([]byte("sources:\n  shopify: {}\n"), ""); err == nil || !strings.Contains(err.Error(), "sources.shopify.secret: is required") {
		t.Errorf("a Shopify block without a secret: %v, want it refused", err)
	}
}

// TestSourceChanges: source_silent asks the store's API whether anything
// changed since the last webhook: a quiet store says none, a changed
// one how many; a source without API access is unknown.
func TestSourceChanges(t *testing.T) {
	t.Parallel()
	e, sim := startMagento(t, "0")
	ctx := context.Background()
	last := time.Now().Add(-7 * time.Hour)
	old := magentoTime(last.Add(-time.Hour))
	sim.Put(magentosim.Customers, map[string]any{"id": 1, "email": "quiet@example.com", "firstname": "Q", "created_at": old, "updated_at": old})
	if n, known, err := e.m.sourceChanges(ctx, "magento", last); n != 0 || !known || err != nil {
		t.Errorf("a quiet store: %d changes, known %v, %v; want 0, known", n, known, err)
	}
	// A changed cart is no sign of lost webhooks (Magento sends none for
	// carts): carts are not asked.
	sim.Put(magentosim.Carts, magentoQuote(7, 1, "quiet@example.com", magentoTime(last.Add(time.Minute)), true))
	if n, _, err := e.m.sourceChanges(ctx, "magento", last); n != 0 || err != nil {
		t.Errorf("a store whose only change is a cart: %d changes, %v; want 0", n, err)
	}
	for _, r := range sim.Requests() {
		if strings.Contains(r.URL.Path, "/carts/") {
			t.Errorf("source_silent asked %s", r.URL.Path)
		}
	}
	for id := 2; id <= 4; id++ {
		at := magentoTime(last.Add(time.Duration(id) * time.Minute))
		sim.Put(magentosim.Customers, map[string]any{"id": id, "email": fmt.Sprintf("changed%d@example.com", id), "firstname": "C", "created_at": at, "updated_at": at})
	}
	if n, known, err := e.m.sourceChanges(ctx, "magento", last); n != 3 || !known || err != nil {
		t.Errorf("a changed store: %d changes, known %v, %v; want 3", n, known, err)
	}
	if n, known, err := e.m.sourceChanges(ctx, "shopify", last); n != 0 || known || err != nil {
		t.Errorf("shopify without admin: %d, known %v, %v; want unknown", n, known, err)
	}
}

// TestMagento_Register: sources register subscribes the Adobe Commerce
// hooks of the enabled skills at server.public_url/webhooks/magento
// through the store's REST API (magentosim, OAuth 1.0a), a rerun changes
// nothing, check says ok, and a hook removed in the store makes check
// exit 1 until register puts it back.
func TestMagento_Register(t *testing.T) {
	t.Parallel()
	sim := magentosim.New("", &magentoOAuth)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	key := filepath.Join(dir, "magento-webhook.pem")
	if err := os.WriteFile(key, []byte(magentosim.TestPublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`
server: { public_url: "https://sync.example.com" }
storage: { driver: sqlite, dsn: %q }
sources:
  magento:
    secret_file: %q
    api_url: %q
    poll_interval: 0
    oauth: { consumer_key: %q, consumer_secret: %q, access_token: %q, access_token_secret: %q }
skills:
  customer-sync: { enabled: true, source: magento, options: { list_id: 5 } }
  order-events:  { enabled: true, source: magento }
`, filepath.Join(dir, "synclayer.db"), key, hs.URL, magentoOAuth.ConsumerKey, magentoOAuth.ConsumerSecret, magentoOAuth.AccessToken, magentoOAuth.AccessTokenSecret)
	cfg := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	const target = "https://sync.example.com/webhooks/magento"
	const topics = 4 // customer-sync's save, delete and newsletter; order-events' save

	out, stderr, err := cliRun(t, "sources", "register", "magento", "--config", cfg)
	if rows := hookRows(out); err != nil || !allStatus(rows, synclayer.HookCreated, topics) || rows["observer.sales_order_save_after"] == "" {
		t.Fatalf("register: %v %v\n%s%s", rows, err, out, stderr)
	}
	if !strings.HasPrefix(out, "magento: "+target+"\n") {
		t.Errorf("register does not start with the source and its URL:\n%s", out)
	}
	for _, h := range sim.Webhooks() {
		if h["url"] != target || h["required"] != false || h["hook_name"] != "synclayer_magento" {
			t.Errorf("hook %v", h)
		}
		if strings.Contains(h["webhook_method"].(string), "catalog_product") {
			t.Errorf("hook %v, for a skill that is not enabled", h)
		}
	}
	if out, _, err := cliRun(t, "sources", "register", "--config", cfg); err != nil || !allStatus(hookRows(out), synclayer.HookUnchanged, topics) {
		t.Errorf("register again, every source: %v\n%s", err, out)
	}
	if out, _, err := cliRun(t, "sources", "check", "magento", "--config", cfg); err != nil || !allStatus(hookRows(out), synclayer.HookOK, topics) {
		t.Errorf("check: %v\n%s", err, out)
	}
	sim.RemoveWebhook("observer.customer_save_after", "after", "synclayer", "synclayer_magento")
	out, _, err = cliRun(t, "sources", "check", "magento", "--config", cfg)
	if rows := hookRows(out); err == nil || exitCode(err) != 1 || rows["observer.customer_save_after"] != synclayer.HookMissing || !strings.Contains(out, "run synclayer sources register magento") {
		t.Errorf("check after a removed hook: %v %v\n%s", rows, err, out)
	}
	out, _, err = cliRun(t, "sources", "register", "magento", "--config", cfg)
	if rows := hookRows(out); err != nil || rows["observer.customer_save_after"] != synclayer.HookCreated || rows["observer.sales_order_save_after"] != synclayer.HookUnchanged {
		t.Errorf("register after a removed hook: %v %v\n%s", rows, err, out)
	}
	if n := len(sim.Webhooks()); n != topics {
		t.Errorf("%d hooks, want %d", n, topics)
	}
}
