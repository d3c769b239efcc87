package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/source/bigcommerce/bigcommercesim"
	"synclayer/source/magento/magentosim"
	"synclayer/source/shopify/shopifysim"
	"synclayer/source/woocommerce/woosim"
	"synclayer/store/storetest"
)

const shopToken = "shpat_backfill_token"

// writeAPIConfig writes a config for the CLI with the sources given (a
// YAML mapping's lines, indented under sources:), Brevo at brevoURL and
// the skills given (indented under skills:).
func writeAPIConfig(t *testing.T, brevoURL, sources, skills string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("storage: { driver: sqlite, dsn: %q }\nsources:\n%s\ndestinations:\n  brevo: { api_key: \"xkeysib-batch\", base_url: %q }\nskills:\n%s\n",
		filepath.Join(dir, "synclayer.db"), sources, brevoURL, skills)
	p := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// useStorage rewrites the config at path to store in driver at dsn.
func useStorage(t *testing.T, path, driver, dsn string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "\n")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("storage: { driver: %s, dsn: %q }\n%s", driver, dsn, rest)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// shopWithCustomers starts shopifysim with n seeded customers and a cost
// bucket large enough that the listing is never throttled for long;
// before, when set, runs ahead of each request with its body.
func shopWithCustomers(t *testing.T, n int) (*shopifysim.Server, string, func(func(r *http.Request, body []byte))) {
	t.Helper()
	shop := shopifysim.New(shopifysim.Options{AccessToken: shopToken, Bucket: 100000, RestoreRate: 50000})
	shop.SeedCustomers(n, time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var before func(*http.Request, []byte)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := before
		mu.Unlock()
		if f != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			f(r, body)
		}
		shop.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return shop, hs.URL, func(f func(*http.Request, []byte)) { mu.Lock(); before = f; mu.Unlock() }
}

// shopifyAPISource is a shopify source block with an admin: block at url,
// plus extra admin keys ("bulk_threshold: 1000").
func shopifyAPISource(url, extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return fmt.Sprintf("  shopify: { secret: \"s\", admin: { shop: demo.myshopify.com, access_token: %q, base_url: %q%s } }", shopToken, url, extra)
}

func runBackfillCLI(ctx context.Context, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := runIO(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// sentContacts is how many contact rows reached Brevo: import rows and
// contacts created or updated one by one.
func sentContacts(sim *brevosim.Server) int {
	n := 0
	for _, imp := range sim.Imports() {
		n += imp.Contacts
	}
	for _, c := range sim.Calls() {
		if c.Method == http.MethodPost && c.Path == "/contacts" || c.Method == http.MethodPut && strings.HasPrefix(c.Path, "/contacts/") {
			n++
		}
	}
	return n
}

// TestBackfillFrom_Shopify lists 2,500 customers through shopifysim's
// Admin API, by pages of GraphQL and (above admin.bulk_threshold) by a
// bulk operation: a run killed after its third page resumes after it,
// every customer reaches Brevo once, and a run of the finished backfill
// lists them all again and sends nothing.
func TestBackfillFrom_Shopify(t *testing.T) {
	t.Parallel()
	paged := func(_ *http.Request, body []byte) bool { return bytes.Contains(body, []byte("query customers(")) }
	cases := []struct {
		name, admin string
		page        func(r *http.Request, body []byte) bool // the request reads a page
		postgres    bool
	}{
		{"Paged", "", paged, false},
		{"Bulk", "bulk_threshold: 1000", func(r *http.Request, _ []byte) bool { return strings.Contains(r.URL.Path, "/bulk-results/") }, false},
		{"PagedPostgres", "", paged, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testBackfillFromShopify(t, tc.admin, tc.page, tc.postgres)
		})
	}
}

func testBackfillFromShopify(t *testing.T, admin string, isPage func(*http.Request, []byte) bool, postgres bool) {
	const n = 2500
	shop, shopURL, before := shopWithCustomers(t, n)
	sim, brevoURL := batchSim(t, brevosim.Options{ImportDelay: 20 * time.Millisecond})
	cfg := writeAPIConfig(t, brevoURL, shopifyAPISource(shopURL, admin),
		"  customer-sync: { enabled: true, source: [shopify], options: { list_id: 5, import_list_id: 9 } }")
	if postgres {
		useStorage(t, cfg, "postgres", storetest.NewPostgresDatabase(t))
	}
	args := []string{"backfill", "customer-sync", "--from", "shopify", "--config", cfg}

	// 1: killed as it asks for the fourth page of customers.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	pages := 0
	before(func(r *http.Request, body []byte) {
		if isPage(r, body) {
			mu.Lock()
			if pages++; pages == 4 {
				cancel()
			}
			mu.Unlock()
		}
	})
	_, stderr, err := runBackfillCLI(ctx, args...)
	if err == nil || !strings.Contains(err.Error(), "run the same command again to resume") {
		t.Fatalf("killed run: %v, want it stopped with how to resume\n%s", err, stderr)
	}
	before(nil)
	db := openTestStore(t, cfg)
	cp, err := db.FindCheckpoint(context.Background(), "backfill:customer-sync:api:shopify")
	if err != nil || cp.Position != 3 {
		t.Fatalf("checkpoint after the kill: %+v, %v; want 3 pages", cp, err)
	}
	if got := sentContacts(sim); got != 0 {
		t.Errorf("the killed run sent %d contacts", got)
	}

	// 2: resumes after page 3 and pushes every customer once.
	out, stderr, err := runBackfillCLI(context.Background(), args...)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr)
	}
	t.Logf("second run:\n%s%s", stderr, out)
	if !strings.Contains(stderr, "resuming after page 3 of customers") {
		t.Errorf("second run's stderr does not say it resumed:\n%s", stderr)
	}
	var read, written, skipped, failed int
	if i := strings.Index(out, "records: "); i < 0 {
		t.Fatalf("no summary:\n%s", out)
	} else if _, err := fmt.Sscanf(out[i:], "records: read %d, written %d, skipped %d, failed %d", &read, &written, &skipped, &failed); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if read != n || written != n || skipped != 0 || failed != 0 {
		t.Errorf("summary read %d, written %d, skipped %d, failed %d; want every customer read and written once", read, written, skipped, failed)
	}
	if !strings.Contains(out, "customers from shopify in ") || !strings.Contains(out, "records/s") || !strings.Contains(out, "batch_completed: backfill customer-sync from shopify's API") {
		t.Errorf("output lacks the listing's rate or the summary:\n%s", out)
	}
	if got := len(sim.Contacts()); got != n {
		t.Errorf("Brevo holds %d contacts, want %d", got, n)
	}
	if got := sentContacts(sim); got != n {
		t.Errorf("%d contacts sent to Brevo, want each of the %d once", got, n)
	}
	for i := range n {
		if _, ok := sim.ContactByEmail(fmt.Sprintf("customer%d@example.com", i)); !ok {
			t.Errorf("customer%d is not in Brevo", i)
			break
		}
	}
	assertQueueEmpty(t, cfg)

	// 3: the finished backfill again lists from the start and sends nothing.
	sent := sentContacts(sim)
	out, stderr, err = runBackfillCLI(context.Background(), args...)
	if err != nil {
		t.Fatalf("third run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "finished at") || !strings.Contains(out, fmt.Sprintf("read %d, written 0, skipped %d", n, n)) {
		t.Errorf("third run, of a finished backfill:\n%s%s", stderr, out)
	}
	if got := sentContacts(sim); got != sent {
		t.Errorf("the third run sent %d more contacts", got-sent)
	}
	if admin != "" && shop.BulkOperations() != 2 {
		t.Errorf("%d bulk operations, want one for the killed and resumed run and one for the third", shop.BulkOperations())
	}
}

// TestBackfillFrom_Magento backfills customer-sync and order-events from
// magentosim's REST API, three records a page.
func TestBackfillFrom_Magento(t *testing.T) {
	t.Parallel()
	mage := magentosim.New("", &magentoOAuth)
	hs := httptest.NewServer(mage)
	t.Cleanup(hs.Close)
	at := "2026-11-20 10:00:00"
	for id := 1; id <= 7; id++ {
		mage.Put(magentosim.Customers, map[string]any{"id": id, "email": fmt.Sprintf("mage%d@example.com", id), "firstname": fmt.Sprintf("M%d", id),
			"created_at": at, "updated_at": at, "extension_attributes": map[string]any{"is_subscribed": id%2 == 0}})
	}
	for id := 500; id < 505; id++ {
		mage.Put(magentosim.Orders, map[string]any{"entity_id": id, "increment_id": fmt.Sprint(id), "state": "complete", "customer_id": 1, "customer_email": "mage1@example.com",
			"order_currency_code": "USD", "grand_total": 20, "created_at": at, "updated_at": at,
			"items": []map[string]any{{"item_id": 1, "product_id": 9, "sku": "S", "name": "Sock", "price": 10, "qty_ordered": 2}}})
	}
	sim, brevoURL := batchSim(t, brevosim.Options{})
	source := fmt.Sprintf("  magento: { secret: %q, api_url: %q, page_size: 3, oauth: { consumer_key: %q, consumer_secret: %q, access_token: %q, access_token_secret: %q } }",
		magentosim.TestPublicKey, hs.URL, magentoOAuth.ConsumerKey, magentoOAuth.ConsumerSecret, magentoOAuth.AccessToken, magentoOAuth.AccessTokenSecret)
	got := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	t.Cleanup(hook.Close)
	cfg := writeAPIConfig(t, brevoURL, source, "  customer-sync: { enabled: true, source: [magento], field_mapping: { email: email, firstName: FIRSTNAME }, options: { list_id: 5, import_list_id: 9 } }\n"+
		"  order-events: { enabled: true, source: magento }\n"+
		fmt.Sprintf("notifications: { webhook_url: %q, secret: %q, events: [batch_completed] }", hook.URL, notifySecret))

	out, err := runCLI(t, "backfill", "customer-sync", "--from", "magento", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "listed 7 customers from magento") || !strings.Contains(out, "read 7, written 7, skipped 0, failed 0") {
		t.Errorf("customer-sync:\n%s", out)
	}
	for id := 1; id <= 7; id++ {
		if c, ok := sim.ContactByEmail(fmt.Sprintf("mage%d@example.com", id)); !ok || c.Attributes["FIRSTNAME"] != fmt.Sprintf("M%d", id) {
			t.Errorf("mage%d in Brevo: %+v, %v", id, c, ok)
		}
	}
	select {
	case b := <-got:
		var n struct {
			Type string `json:"type"`
			Data struct {
				Run    string `json:"run"`
				Skill  string `json:"skill"`
				Source string `json:"source"`
				Read   int    `json:"read"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &n); err != nil || n.Type != "batch_completed" || n.Data.Run != "backfill" || n.Data.Skill != "customer-sync" || n.Data.Source != "magento" || n.Data.Read != 7 {
			t.Errorf("notification %s (%v), want batch_completed of the backfill from magento", b, err)
		}
		if bytes.Contains(b, []byte("@example.com")) {
			t.Errorf("the notification carries an email: %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Error("no batch_completed notification")
	}
	out, err = runCLI(t, "backfill", "order-events", "--from", "magento", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "listed 5 orders from magento") || !strings.Contains(out, "read 5, written 5, skipped 0, failed 0") {
		t.Errorf("order-events:\n%s", out)
	}
	for id := 500; id < 505; id++ {
		if o, ok := sim.OrderByID(fmt.Sprintf("magento:%d", id)); !ok || o.Status != "completed" || !o.Historical {
			t.Errorf("order %d in Brevo: %+v, %v; want a completed historical order", id, o, ok)
		}
	}
	assertQueueEmpty(t, cfg)
}

// TestBackfillFrom_UsageErrors: --from with --file or --as-of is a usage
// error, and a source that is not configured, is not the skill's, or
// cannot list says what to change.
func TestBackfillFrom_UsageErrors(t *testing.T) {
	t.Parallel()
	cfg := writeBatchConfig(t, "http://127.0.0.1:1/v3", "  order-events: { enabled: true, source: shopify }\n")
	cases := []struct {
		args  []string
		usage bool
		want  []string
	}{
		{[]string{"customer-sync", "--from", "shopify", "--file", "x.csv"}, true, []string{"--file and --from", "give one"}},
		{[]string{"customer-sync", "--from", "shopify", "--as-of", "2026-01-01T00:00:00Z"}, true, []string{"--as-of dates an export file"}},
		{[]string{"customer-sync"}, true, []string{"--file or --from is required"}},
		{[]string{"customer-sync", "--from", "nope"}, false, []string{"--from nope", "the sources are custom, shopify"}},
		{[]string{"order-events", "--from", "custom"}, false, []string{"order-events takes its events from shopify (skills.order-events.source), not from custom"}},
		{[]string{"customer-sync", "--from", "shopify"}, false, []string{"sources.shopify.admin: is not set"}},
		{[]string{"customer-sync", "--from", "custom"}, false, []string{"does not list custom sources", "--file"}},
	}
	for _, tc := range cases {
		args := append([]string{"backfill"}, tc.args...)
		_, _, err := runBackfillCLI(context.Background(), append(args, "--config", cfg)...)
		var ue *usageError
		if err == nil || errors.As(err, &ue) != tc.usage {
			t.Errorf("%v: %v, want a usage error %v", tc.args, err, tc.usage)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", tc.args, err, w)
			}
		}
	}
}

// TestBackfillFrom_BigCommerceAndWooCommerce: the two other stores that
// list through their API backfill customer-sync the same way: every
// customer once, across pages (BigCommerce's 250, WooCommerce's 100).
func TestBackfillFrom_BigCommerceAndWooCommerce(t *testing.T) {
	t.Parallel()
	const n = 420
	start := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	bc := bigcommercesim.New("abc123", "bc-backfill-token")
	bc.SeedCustomers(1, n, start)
	bcs := httptest.NewServer(bc)
	t.Cleanup(bcs.Close)
	woo := woosim.New("ck_backfill", "cs_backfill")
	woo.Seed(woosim.Customers, n, start, time.Second)
	wos := httptest.NewServer(woo)
	t.Cleanup(wos.Close)
	for _, tc := range []struct{ name, block string }{
		{"bigcommerce", fmt.Sprintf("  bigcommerce: { secret: s, store_hash: abc123, access_token: bc-backfill-token, api_url: %q }", bcs.URL)},
		{"woocommerce", fmt.Sprintf("  woocommerce: { secret: s, api: { url: %q, consumer_key: ck_backfill, consumer_secret: cs_backfill } }", wos.URL)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, brevoURL := batchSim(t, brevosim.Options{})
			cfg := writeAPIConfig(t, brevoURL, tc.block, fmt.Sprintf("  customer-sync: { enabled: true, source: [%s], options: { list_id: 5, import_list_id: 9 } }\n", tc.name))
			out, err := runCLI(t, "backfill", "customer-sync", "--from", tc.name, "--config", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, fmt.Sprintf("listed %d customers from %s", n, tc.name)) || !strings.Contains(out, fmt.Sprintf("read %d, written %d, skipped 0, failed 0", n, n)) {
				t.Errorf("backfill:\n%s", out)
			}
			for id := 1; id <= n; id++ {
				if _, ok := sim.ContactByEmail(fmt.Sprintf("customer%d@example.com", id)); !ok {
					t.Fatalf("customer%d@example.com is not in Brevo (%d contacts there):\n%s", id, len(sim.Contacts()), out)
				}
			}
			if got := len(sim.Contacts()); got != n {
				t.Errorf("%d contacts in Brevo, want %d", got, n)
			}
			assertQueueEmpty(t, cfg)
		})
	}
}
