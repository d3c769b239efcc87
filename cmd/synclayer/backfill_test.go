package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/backfill"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
	"synclayer/store"
)

// batchSim starts a simulator that validates every request against
// Brevo's spec and limits the "other" bucket per (shortened) hour.
func batchSim(t *testing.T, o brevosim.Options) (*brevosim.Server, string) {
	t.Helper()
	o.APIKey, o.Validate = "xkeysib-batch", brevospec.Load(t).Validate
	if o.OtherHourlyLimit == 0 {
		o.OtherHourlyLimit = brevosim.DefaultOtherHourlyLimit
	}
	if o.HourlyWindow == 0 {
		o.HourlyWindow = time.Minute
	}
	sim := brevosim.New(o)
	hs := httptest.NewServer(sim)
	t.Cleanup(func() {
		hs.Close()
		for _, v := range sim.Violations() {
			t.Errorf("request violates Brevo's OpenAPI spec: %s", v)
		}
	})
	return sim, hs.URL + "/v3"
}

// writeBatchConfig writes a config for the CLI commands: customer-sync
// from custom (and shopify), list 5, import list 9, plus extra skills.
func writeBatchConfig(t *testing.T, brevoURL, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
storage: { driver: sqlite, dsn: %q }
sources:
  shopify: { secret: "s" }
  custom:  { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
destinations:
  brevo: { api_key: "xkeysib-batch", base_url: %q }
skills:
  customer-sync:
    enabled: true
    source: [custom, shopify]
    options: { list_id: 5, import_list_id: 9 }
%s`, filepath.Join(dir, "synclayer.db"), brevoURL, extra)
	p := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runIO(context.Background(), args, &out, &errOut)
	if err != nil || t.Failed() {
		t.Logf("stderr of %v:\n%s", args[:2], errOut.String())
	}
	return out.String(), err
}

// backfillN is the number of contacts of TestBackfill_Contacts: def, or
// under -race (twenty times slower here) a tenth of it, which keeps CI's
// race run near a minute; SYNCLAYER_BACKFILL_N sets it, e.g. 100000 for
// the full run under -race (about seven minutes on two cores).
func backfillN(t *testing.T, def int) int {
	if s := os.Getenv("SYNCLAYER_BACKFILL_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			t.Fatalf("SYNCLAYER_BACKFILL_N=%q: want a number of contacts, at least 100", s)
		}
		return n
	}
	if raceDetector {
		return def / 10
	}
	return def
}

type backfillCase struct{ optedOut, noConsent, blockedInBrevo bool }

func caseOf(i int) backfillCase {
	return backfillCase{optedOut: i%50 == 0, noConsent: i%5 == 1, blockedInBrevo: i%997 == 3}
}

func writeContactsJSONL(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "contacts.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		consent := "subscribed"
		switch c := caseOf(i); {
		case c.optedOut:
			consent = "unsubscribed"
		case c.noConsent:
			consent = "not_subscribed"
		}
		fmt.Fprintf(w, `{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u%d","email":"user%d@example.com","firstName":"Ann%d","lastName":"Lee","emailConsent":%q}}`+"\n",
			i, i, i, consent)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestBackfill_Contacts backfills contacts (some opted out, some without
// consent, some blocklisted in Brevo already) through the real CLI and
// checks every contact in the simulator: consented ones in list_id, the
// others in import_list_id, opt-outs blocklisted and in no list, Brevo's
// own blocks kept; all within 20 import calls.
func TestBackfill_Contacts(t *testing.T) {
	t.Parallel()
	n := backfillN(t, 100000)
	sim, url := batchSim(t, brevosim.Options{ImportDelay: 30 * time.Millisecond})
	seed := brevo.New(brevo.Config{APIKey: "xkeysib-batch", BaseURL: url})
	for i := range n {
		if caseOf(i).blockedInBrevo {
			if _, err := seed.CreateContact(context.Background(), brevo.CreateContactRequest{Email: fmt.Sprintf("user%d@example.com", i),
				EmailBlacklisted: ptrBool(true), UpdateEnabled: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := writeBatchConfig(t, url, "")
	file := writeContactsJSONL(t, n)

	out, err := runCLI(t, "backfill", "customer-sync", "--file", file, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run:\n%s", out)
	if want := fmt.Sprintf("read %d, written %d, skipped 0, failed 0", n, n); !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
	imports := sim.Imports()
	if len(imports) > 20 || len(imports) == 0 {
		t.Errorf("%d import calls for %d contacts, want 1 to 20", len(imports), n)
	}
	for _, imp := range imports {
		if imp.Status != "completed" || imp.Bytes > brevo.MaxImportBytes {
			t.Errorf("import %d: status %s, %d bytes", imp.ProcessID, imp.Status, imp.Bytes)
		}
	}
	for _, c := range sim.Calls() {
		if strings.HasPrefix(c.Path, "/contacts/batch") {
			t.Errorf("the retired POST /contacts/batch was called")
		}
		if strings.HasPrefix(c.Path, "/contacts/import") && bytes.Contains(bytes.ToLower(c.Body), []byte("blacklist")) {
			t.Errorf("an import carries a blocklist field")
		}
	}
	bad := 0
	for i := range n {
		c, ok := sim.ContactByEmail(fmt.Sprintf("user%d@example.com", i))
		k := caseOf(i)
		var problem string
		switch {
		case !ok:
			problem = "missing"
		case k.optedOut && (!c.EmailBlacklisted || len(c.ListIDs) > 0):
			problem = fmt.Sprintf("opted out, but blocklisted %v, lists %v", c.EmailBlacklisted, c.ListIDs)
		case k.blockedInBrevo && !c.EmailBlacklisted:
			problem = "Brevo's own block was lifted"
		case !k.optedOut && k.noConsent && !slices.Equal(c.ListIDs, []int64{9}):
			problem = fmt.Sprintf("no consent, lists %v, want [9]", c.ListIDs)
		case !k.optedOut && !k.noConsent && !slices.Equal(c.ListIDs, []int64{5}):
			problem = fmt.Sprintf("consented, lists %v, want [5]", c.ListIDs)
		case c.Attributes["FIRSTNAME"] != fmt.Sprintf("Ann%d", i) || c.ExtID == "":
			problem = fmt.Sprintf("attributes %v, ext_id %q", c.Attributes, c.ExtID)
		case !k.optedOut && !k.blockedInBrevo && c.EmailBlacklisted:
			problem = "blocklisted without an opt-out"
		}
		if problem != "" {
			if bad++; bad <= 10 {
				t.Errorf("user%d: %s", i, problem)
			}
		}
	}
	if bad > 10 {
		t.Errorf("… %d contacts wrong in all", bad)
	}
	assertQueueEmpty(t, cfg)

	// The same file again changes nothing and sends nothing.
	out, err = runCLI(t, "backfill", "customer-sync", "--file", file, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("read %d, written 0, skipped %d", n, n); !strings.Contains(out, want) {
		t.Errorf("second run: summary lacks %q:\n%s", want, out)
	}
	if got := len(sim.Imports()); got != len(imports) {
		t.Errorf("second run made %d more imports", got-len(imports))
	}
}

func ptrBool(b bool) *bool { return &b }

// assertQueueEmpty checks that no job is left pending, running or dead.
func assertQueueEmpty(t *testing.T, cfgPath string) {
	t.Helper()
	cfg, err := LoadConfig(cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts, err := db.CountJobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []synclayer.JobState{synclayer.JobPending, synclayer.JobRunning, synclayer.JobDead} {
		if counts[s] > 0 {
			dead, _ := db.FindJobs(context.Background(), synclayer.JobFilter{State: s, Limit: 3})
			t.Errorf("%d jobs %s, e.g. %+v", counts[s], s, dead)
		}
	}
}

// TestBackfill_OrdersThenResync backfills Shopify's order export as
// historical orders in one batch call, with the buyers' contacts and
// totals, then resyncs both skills: Brevo already holds everything, so
// nothing is sent again.
func TestBackfill_OrdersThenResync(t *testing.T) {
	t.Parallel()
	sim, url := batchSim(t, brevosim.Options{})
	cfg := writeBatchConfig(t, url, "  order-events: { enabled: true, source: shopify }\n")
	csv := "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Refunded Amount,Id\n" +
		"#1001,ann@example.com,partially_refunded,2024-01-15 10:31:00 -0500,fulfilled,EUR,25.00,25.00,2024-01-15 10:30:00 -0500,2,Tee,10.00,TEE-1,5.00,450789469\n" +
		"#1001,ann@example.com,,,,,,,,1,Cap,5.00,CAP-1,,\n" +
		"#1002,ann@example.com,paid,2024-02-01 09:00:00 +0000,,EUR,9.00,9.00,2024-02-01 09:00:00 +0000,1,Mug,9.00,MUG,,450789470\n" +
		"#1003,bo@example.com,pending,,,EUR,3.00,3.00,2024-02-02 09:00:00 +0000,1,Pin,3.00,PIN,,450789471\n" +
		"#1004,bo@example.com,paid,,,EUR,oops,oops,2024-02-03 09:00:00 +0000,1,Pin,3.00,PIN,,450789472\n"
	file := filepath.Join(t.TempDir(), "orders_export.csv")
	os.WriteFile(file, []byte(csv), 0o600)
	out, err := runCLI(t, "backfill", "order-events", "--file", file, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "read 4, written 3, skipped 0, failed 1") || !strings.Contains(out, `line 6: "Total"`) {
		t.Errorf("summary:\n%s", out)
	}
	orders := sim.Orders()
	if len(orders) != 3 {
		t.Fatalf("orders %+v", orders)
	}
	for _, o := range orders {
		if !o.Historical {
			t.Errorf("order %s not sent as historical", o.ID)
		}
	}
	if o, _ := sim.OrderByID("shopify:450789469"); o.Amount != "20.00" || len(o.Products) != 2 || o.Status != "completed" {
		t.Errorf("order #1001: %+v", o)
	}
	if n := sim.CallCount("POST", "/orders/status/batch"); n != 1 {
		t.Errorf("%d order batch calls, want 1", n)
	}
	ann, ok := sim.ContactByEmail("ann@example.com")
	if !ok || fmt.Sprint(ann.Attributes["TOTAL_ORDERS"]) != "2" || fmt.Sprint(ann.Attributes["TOTAL_SPENT"]) != "29" {
		t.Errorf("ann %+v", ann)
	}
	assertQueueEmpty(t, cfg)

	before := len(sim.Calls())
	for _, s := range []string{"customer-sync", "order-events"} {
		out, err := runCLI(t, "resync", s, "--config", cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "batch_completed: resync "+s) || !strings.Contains(out, "imported 0 in 0 batch calls") {
			t.Errorf("resync %s:\n%s", s, out)
		}
	}
	for _, c := range sim.Calls()[before:] {
		if c.Method != "GET" {
			t.Errorf("resync of an unchanged store sent %s %s", c.Method, c.Path)
		}
	}
}

// TestBackfill_FailedImportIsRetried fails Brevo's first import process:
// its contacts are queued again and imported by the next one, and the
// batch_completed notification tells the webhook what the run did.
func TestBackfill_FailedImportIsRetried(t *testing.T) {
	t.Parallel()
	sim, url := batchSim(t, brevosim.Options{ImportDelay: 20 * time.Millisecond})
	sim.FailImports(1)
	got := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	t.Cleanup(hook.Close)
	cfg := writeBatchConfig(t, url, fmt.Sprintf("notifications: { webhook_url: %q, secret: %q, events: [batch_completed] }\n", hook.URL, notifySecret))
	file := writeContactsJSONL(t, 120)
	out, err := runCLI(t, "backfill", "customer-sync", "--file", file, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	imports := sim.Imports()
	if len(imports) < 2 || imports[0].Status != "failed" {
		t.Fatalf("imports %+v: want the failed one, then another", imports)
	}
	for i := range 120 {
		c, ok := sim.ContactByEmail(fmt.Sprintf("user%d@example.com", i))
		if !ok || caseOf(i).optedOut != c.EmailBlacklisted {
			t.Errorf("user%d: %+v", i, c)
		}
	}
	assertQueueEmpty(t, cfg)
	select {
	case b := <-got:
		var n struct {
			Type string `json:"type"`
			Data struct {
				Run      string `json:"run"`
				Read     int    `json:"read"`
				Written  int    `json:"written"`
				Imported int    `json:"imported"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &n); err != nil || n.Type != "batch_completed" || n.Data.Run != "backfill" || n.Data.Read != 120 || n.Data.Written != 120 || n.Data.Imported == 0 {
			t.Errorf("notification %s (%v)", b, err)
		}
		if bytes.Contains(b, []byte("@example.com")) {
			t.Errorf("the notification carries an email: %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no batch_completed notification; output:\n%s", out)
	}
}

// checkBackfilledContacts checks every contact of writeContactsJSONL(n)
// in the simulator: consented ones in list 5, the others in list 9,
// opt-outs blocklisted and in no list, attributes and ext_id set.
func checkBackfilledContacts(t *testing.T, sim *brevosim.Server, n int) {
	t.Helper()
	bad := 0
	for i := range n {
		c, ok := sim.ContactByEmail(fmt.Sprintf("user%d@example.com", i))
		k := caseOf(i)
		var problem string
		switch {
		case !ok:
			problem = "missing"
		case k.optedOut && (!c.EmailBlacklisted || len(c.ListIDs) > 0):
			problem = fmt.Sprintf("opted out, but blocklisted %v, lists %v", c.EmailBlacklisted, c.ListIDs)
		case !k.optedOut && k.noConsent && !slices.Equal(c.ListIDs, []int64{9}):
			problem = fmt.Sprintf("no consent, lists %v, want [9]", c.ListIDs)
		case !k.optedOut && !k.noConsent && !slices.Equal(c.ListIDs, []int64{5}):
			problem = fmt.Sprintf("consented, lists %v, want [5]", c.ListIDs)
		case c.Attributes["FIRSTNAME"] != fmt.Sprintf("Ann%d", i) || c.ExtID == "":
			problem = fmt.Sprintf("attributes %v, ext_id %q", c.Attributes, c.ExtID)
		case !k.optedOut && c.EmailBlacklisted:
			problem = "blocklisted without an opt-out"
		}
		if problem != "" {
			if bad++; bad <= 10 {
				t.Errorf("user%d: %s", i, problem)
			}
		}
	}
	if bad > 10 {
		t.Errorf("… %d contacts wrong in all", bad)
	}
}

// TestBackfill_ResumesAfterInterruption interrupts `synclayer backfill`
// twice: in the middle of loading the file, after a chunk was committed,
// and in the middle of the push, once an import was accepted and recorded
// but before its process was checked. Each re-run of the same command
// resumes (the load after its checkpoint, the push with the recorded
// import), and the last one ends with a summary of the whole file and
// every contact right in Brevo.
func TestBackfill_ResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	n := max(backfillN(t, 20000), 3000)
	sim := brevosim.New(brevosim.Options{APIKey: "xkeysib-batch", Validate: brevospec.Load(t).Validate,
		OtherHourlyLimit: brevosim.DefaultOtherHourlyLimit, HourlyWindow: time.Minute, ImportDelay: 20 * time.Millisecond})
	// onCheck, when set, runs as the first import check reaches Brevo.
	var mu sync.Mutex
	var onCheck func()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := onCheck
		if strings.Contains(r.URL.Path, "/processes") {
			onCheck = nil
		} else {
			f = nil
		}
		mu.Unlock()
		if f != nil {
			f()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		for _, v := range sim.Violations() {
			t.Errorf("request violates Brevo's OpenAPI spec: %s", v)
		}
	})
	cfg := writeBatchConfig(t, hs.URL+"/v3", "")
	file := writeContactsJSONL(t, n)
	bf, err := backfill.Open(file, time.Time{}, sourceTypes)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := "backfill:customer-sync:" + bf.Identity
	bf.Close()
	args := []string{"backfill", "customer-sync", "--file", file, "--config", cfg}
	run := func(ctx context.Context) (string, string, error) {
		var out, errOut bytes.Buffer
		err := runIO(ctx, args, &out, &errOut)
		return out.String(), errOut.String(), err
	}

	// 1: cancelled once the first chunk is committed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr string
	go func() {
		var err error
		_, stderr, err = run(ctx)
		done <- err
	}()
	db := openTestStore(t, cfg)
	var firstErr error
	for firstErr == nil {
		select {
		case firstErr = <-done:
			if firstErr == nil {
				t.Fatal("the first run finished before it could be interrupted; make the file longer")
			}
		case <-time.After(2 * time.Millisecond):
			if cp, err := db.FindCheckpoint(context.Background(), checkpoint); err == nil && cp.Position > 0 {
				cancel()
				firstErr = <-done
			}
		}
	}
	cancel()
	if !strings.Contains(firstErr.Error(), "backfill stopped after") || !strings.Contains(firstErr.Error(), "run the same command again to resume") {
		t.Fatalf("first run: %v, want the load interrupted and how to resume\n%s", firstErr, stderr)
	}
	cp, err := db.FindCheckpoint(context.Background(), checkpoint)
	if err != nil || cp.Position <= 0 || cp.Position >= int64(n) {
		t.Fatalf("checkpoint after the interruption: %+v, %v; want one inside the file", cp, err)
	}
	if len(sim.Imports()) != 0 {
		t.Errorf("the interrupted load pushed %d imports", len(sim.Imports()))
	}

	// 2: resumes the load, and is cancelled as it first checks an import.
	ctx, cancel = context.WithCancel(context.Background())
	mu.Lock()
	onCheck = cancel
	mu.Unlock()
	_, stderr, err = run(ctx)
	cancel()
	if want := fmt.Sprintf("resumed after line %d", cp.Position); !strings.Contains(stderr, want) {
		t.Errorf("second run's stderr lacks %q:\n%s", want, stderr)
	}
	if err == nil || !strings.Contains(err.Error(), "the push stopped") {
		t.Fatalf("second run: %v, want the push interrupted\n%s", err, stderr)
	}
	imps, err := db.FindImports(context.Background(), "customer-sync")
	if err != nil || len(imps) == 0 {
		t.Fatalf("imports in flight after the interruption: %d, %v; want them recorded", len(imps), err)
	}

	// 3: finishes the recorded imports and the rest, with the whole
	// file's counts.
	out, stderr, err := run(context.Background())
	if err != nil {
		t.Fatalf("third run: %v\n%s", err, stderr)
	}
	var read, written, skipped, failed int
	i := strings.Index(out, "records: ")
	if i < 0 {
		t.Fatalf("no summary:\n%s", out)
	}
	if _, err := fmt.Sscanf(out[i:], "records: read %d, written %d, skipped %d, failed %d", &read, &written, &skipped, &failed); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	// A chunk cut off by the interruption rolls back and is loaded again;
	// one committed just before its checkpoint is read again as skipped.
	if read != n || written+skipped != n || failed != 0 || written < n-1000 {
		t.Errorf("summary read %d, written %d, skipped %d, failed %d; want read %d and every line written once\n%s", read, written, skipped, failed, n, out)
	}
	if _, err := db.FindCheckpoint(context.Background(), checkpoint); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("the finished run left its checkpoint: %v", err)
	}
	for _, imp := range sim.Imports() {
		if imp.Status != "completed" {
			t.Errorf("import %d: %s", imp.ProcessID, imp.Status)
		}
	}
	checkBackfilledContacts(t, sim, n)
	assertQueueEmpty(t, cfg)
}

// openTestStore opens the store of the config at cfgPath, closed with t.
func openTestStore(t *testing.T, cfgPath string) *store.DB {
	t.Helper()
	cfg, err := LoadConfig(cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
