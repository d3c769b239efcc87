package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevospec"
	"synclayer/destination/conformance"
	"synclayer/destination/hubspot/hubspotspec"
	"synclayer/destination/klaviyo/klaviyospec"
	"synclayer/destination/mailchimp/mailchimpspec"
	"synclayer/destination/pipedrive/pipedrivespec"
)

// conformanceSpecs validates each destination type's requests in the
// suite against the platform's own OpenAPI spec. It is the one line a new
// destination adds here, since spec checkers are test code and the
// registry ships in the binary.
var conformanceSpecs = map[string]func(testing.TB) func(*http.Request, []byte) error{
	"brevo":     func(tb testing.TB) func(*http.Request, []byte) error { return brevospec.Load(tb).Validate },
	"klaviyo":   func(tb testing.TB) func(*http.Request, []byte) error { return klaviyospec.Load(tb).Validate },
	"mailchimp": func(tb testing.TB) func(*http.Request, []byte) error { return mailchimpspec.Load(tb).Validate },
	"hubspot":   func(tb testing.TB) func(*http.Request, []byte) error { return hubspotspec.Load(tb).Validate },
	"pipedrive": func(tb testing.TB) func(*http.Request, []byte) error { return pipedrivespec.Load(tb).Validate },
}

// cenv is one running synclayer whose customer-sync runs on the built-in
// simulators of the named destinations.
type cenv struct {
	*env
	targets map[string]conformance.Target
}

// startConformance runs synclayer with customer-sync from shopify and
// woocommerce on destinations, each a block of its own type with no key,
// so each runs its built-in simulator; nested selects the nested shape
// even for one destination.
func startConformance(t *testing.T, storage envOption, nested bool, destinations []string, opts ...envOption) *cenv {
	t.Helper()
	cfg := &Config{
		Server:       ServerConfig{Listen: "127.0.0.1:0"},
		Storage:      StorageConfig{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "synclayer.db")},
		Sources:      map[string]*SourceConfig{"shopify": {Secret: shopifySecret}, "woocommerce": {Secret: wooSecret}},
		Destinations: map[string]*DestinationSection{},
		Skills:       SkillsConfig{CustomerSync: &CustomerSyncConfig{Enabled: true, Source: StringList{"shopify", "woocommerce"}}},
		Queue:        QueueConfig{Poll: 50 * time.Millisecond},
	}
	if storage != nil {
		storage(cfg)
	}
	cs := cfg.Skills.CustomerSync
	for _, d := range destinations {
		cfg.Destinations[d] = &DestinationSection{Settings: map[string]any{}}
	}
	// The simulators' own options and mappings are known only once they
	// run, so the config is finished in two steps: open each to ask.
	probe := map[string]conformance.Target{}
	for _, d := range destinations {
		dest, err := cfg.openDestination(d, checkEnv())
		if err != nil {
			t.Fatal(err)
		}
		subj, ok := dest.(conformance.Subject)
		if !ok {
			t.Fatalf("destination type %s does not take part in the conformance suite: its Destination has no Conformance method", d)
		}
		probe[d] = subj.Conformance()
	}
	if len(destinations) == 1 && !nested {
		cs.Destination = destinations[0]
		cs.FieldMapping, cs.Options.Extra = probe[destinations[0]].Mapping(), probe[destinations[0]].Options()
	} else {
		cs.Destinations = map[string]*CustomerSyncTarget{}
		for _, d := range destinations {
			cs.Destinations[d] = &CustomerSyncTarget{FieldMapping: probe[d].Mapping(), Options: probe[d].Options()}
		}
	}
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.finish(nil); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sw := &syncWriter{w: &logs}
	m := &Main{Config: cfg, Stderr: sw}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &cenv{env: &env{t: t, m: m, base: "http://" + m.Addr, logs: sw}, targets: map[string]conformance.Target{}}
	for _, d := range destinations {
		tg := m.destinations[d].(conformance.Subject).Conformance()
		if spec, ok := conformanceSpecs[m.destinations[d].Type()]; ok {
			tg.Validate(spec(t))
		} else {
			t.Errorf("destination type %s has no spec checker in conformanceSpecs", m.destinations[d].Type())
		}
		e.targets[d] = tg
	}
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
		for name, tg := range e.targets {
			for _, v := range tg.Violations() {
				t.Errorf("request to %s violates its OpenAPI spec: %s", name, v)
			}
		}
	})
	return e
}

// customer posts a Shopify customers/update for id at minute min past a
// fixed hour, with marketing consent state ("" for none).
func (e *cenv) customer(id int64, email, first, consent string, min int) {
	e.t.Helper()
	at := time.Date(2026, 11, 20, 10, min, 0, 0, time.UTC).Format(time.RFC3339)
	p := map[string]any{"id": id, "email": email, "first_name": first, "last_name": "Doe", "updated_at": at}
	if consent != "" {
		p["email_marketing_consent"] = map[string]any{"state": consent, "consent_updated_at": at}
	}
	status, reply := e.shopify("customers/update", p)
	if status != 200 {
		e.t.Fatalf("customers/update %s: %d %v", email, status, reply)
	}
}

// holds returns what destination d holds for email, failing when nothing.
func (e *cenv) holds(d, email string) *conformance.Contact {
	e.t.Helper()
	c := e.targets[d].Contact(email)
	if c == nil {
		e.t.Fatalf("%s holds no contact %s", d, email)
	}
	return c
}

// conformanceStorages are the databases the suite runs on.
func conformanceStorages(t *testing.T) map[string]func() envOption {
	return map[string]func() envOption{
		"sqlite":   func() envOption { return nil },
		"postgres": func() envOption { return withPostgres(t) },
	}
}

// TestDestinationConformance runs the sample records every integration
// must be tried with against every registered destination, on both
// databases, through the real program.
func TestDestinationConformance(t *testing.T) {
	for _, typ := range destinationTypes {
		for db, storage := range conformanceStorages(t) {
			t.Run(typ.Type+"/"+db, func(t *testing.T) {
				t.Parallel()
				runConformance(t, typ.Type, storage)
			})
		}
	}
}

func runConformance(t *testing.T, d string, storage func() envOption) {
	t.Run("NewCustomer", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.customer(1, "new@example.com", "Nia", "subscribed", 0)
		e.customer(2, "quiet@example.com", "Quin", "", 0)
		e.waitIdle(20 * time.Second)
		if c := e.holds(d, "new@example.com"); c.FirstName != "Nia" || c.LastName != "Doe" || c.Marketing != conformance.Subscribed {
			t.Errorf("consenting new customer: %+v", c)
		}
		if c := e.holds(d, "quiet@example.com"); c.FirstName != "Quin" || c.Marketing != conformance.NotSubscribed {
			t.Errorf("a customer without consent must be synced but not subscribed: %+v", c)
		}
	})

	t.Run("ExistingCustomerOnlyChangesAndNoOps", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.customer(1, "ann@example.com", "Ann", "subscribed", 0)
		e.waitIdle(20 * time.Second)
		before := e.targets[d].Writes()
		e.customer(1, "ann@example.com", "Anna", "subscribed", 1)
		e.waitIdle(20 * time.Second)
		if c := e.holds(d, "ann@example.com"); c.FirstName != "Anna" || c.Marketing != conformance.Subscribed {
			t.Errorf("after the update: %+v", c)
		}
		changed := e.targets[d].Writes()
		if changed == before {
			t.Errorf("the update made no write")
		}
		// A newer webhook that changes nothing the mapping sends is a no-op.
		e.customer(1, "ann@example.com", "Anna", "subscribed", 2)
		e.waitIdle(20 * time.Second)
		if n := e.targets[d].Writes(); n != changed {
			t.Errorf("an unchanged customer made %d more writes, want none", n-changed)
		}
	})

	t.Run("DuplicateEmailAcrossSources", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.customer(7, "dup@example.com", "Dee", "subscribed", 0)
		status, reply := e.woo("customer.updated", map[string]any{"id": 70, "email": "dup@example.com", "first_name": "Dee",
			"last_name": "Doe", "date_modified_gmt": "2026-11-20T10:05:00"})
		if status != 200 {
			t.Fatalf("woocommerce: %d %v", status, reply)
		}
		e.waitIdle(20 * time.Second)
		contacts, err := e.m.DB.FindContacts(context.Background(), synclayer.ContactFilter{Email: "dup@example.com"})
		if err != nil || len(contacts) != 1 {
			t.Fatalf("canonical contacts for one email: %d, %v", len(contacts), err)
		}
		if c := e.holds(d, "dup@example.com"); c.Marketing != conformance.Subscribed {
			t.Errorf("one person from two sources: %+v", c)
		}
	})

	t.Run("OptOutSurvivesStaleUpdatesAndResync", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.customer(3, "out@example.com", "Otto", "subscribed", 0)
		e.waitIdle(20 * time.Second)
		e.customer(3, "out@example.com", "Otto", "unsubscribed", 10)
		e.waitIdle(20 * time.Second)
		// A stale statement, older than the opt-out, says subscribed.
		e.customer(3, "out@example.com", "Otto B", "subscribed", 5)
		e.waitIdle(20 * time.Second)
		// A full resync sends every contact again.
		if _, err := e.m.DB.EnqueueAll(context.Background(), "contacts", contactQueue(d), d, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.m.wake("")
		e.waitIdle(20 * time.Second)
		if c := e.holds(d, "out@example.com"); c.Marketing != conformance.Unsubscribed {
			t.Errorf("an opted-out contact was resubscribed: %+v", c)
		}
	})

	t.Run("UnsubscribedInsideStaysUnsubscribed", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.customer(4, "inside@example.com", "Ines", "subscribed", 0)
		e.waitIdle(20 * time.Second)
		e.targets[d].UnsubscribeInside("inside@example.com")
		e.customer(4, "inside@example.com", "Inès", "subscribed", 1)
		e.waitIdle(20 * time.Second)
		if c := e.holds(d, "inside@example.com"); c.Marketing == conformance.Subscribed {
			t.Errorf("a person who unsubscribed at the platform was subscribed again by an update: %+v", c)
		}
	})

	t.Run("RedeliveredWebhookCountsOnce", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		body := mustMarshal(map[string]any{"id": 5, "email": "again@example.com", "first_name": "Al", "updated_at": "2026-11-20T10:00:00Z"})
		for range 3 {
			if status, reply := e.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "same-id", body, shopifySecret)); status != 200 {
				t.Fatalf("%d %v", status, reply)
			}
		}
		e.waitIdle(20 * time.Second)
		once := e.targets[d].Writes()
		e2 := startConformance(t, storage(), false, []string{d})
		if status, _ := e2.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "only-once", body, shopifySecret)); status != 200 {
			t.Fatal(status)
		}
		e2.waitIdle(20 * time.Second)
		if want := e2.targets[d].Writes(); once != want {
			t.Errorf("a webhook delivered three times made %d writes; delivered once, %d", once, want)
		}
	})

	t.Run("OutOfOrderUpdates", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.customer(6, "order@example.com", "Newest", "", 30)
		e.customer(6, "order@example.com", "Older", "", 10)
		e.waitIdle(20 * time.Second)
		if c := e.holds(d, "order@example.com"); c.FirstName != "Newest" {
			t.Errorf("an older update overwrote a newer one: %+v", c)
		}
	})

	t.Run("InvalidEmail", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		status, reply := e.shopify("customers/create", map[string]any{"id": 8, "email": "not-an-email", "updated_at": "2026-11-20T10:00:00Z"})
		// A genuine webhook whose contact cannot be synced is kept and
		// answered 200 "failed" with the reason, so the platform does not
		// redeliver it forever.
		if evs, _ := reply["events"].([]any); status != 200 || len(evs) != 1 ||
			evs[0].(map[string]any)["status"] != "failed" || !strings.Contains(fmt.Sprint(evs[0].(map[string]any)["reason"]), "email") {
			t.Errorf("an invalid email got %d %v, want 200 failed naming the email", status, reply)
		}
		e.waitIdle(20 * time.Second)
		if n := e.targets[d].Writes(); n != 0 {
			t.Errorf("an invalid email made %d writes", n)
		}
	})

	for _, behavior := range []string{"soft", "hard"} {
		t.Run("Delete/"+behavior, func(t *testing.T) {
			e := startConformance(t, storage(), false, []string{d}, withDelete(behavior))
			e.customer(9, "gone@example.com", "Gil", "subscribed", 0)
			e.waitIdle(20 * time.Second)
			if status, reply := e.shopify("customers/delete", map[string]any{"id": 9}); status != 200 {
				t.Fatalf("%d %v", status, reply)
			}
			e.waitIdle(20 * time.Second)
			c := e.targets[d].Contact("gone@example.com")
			switch {
			case behavior == "hard" && c != nil && !c.Deleted:
				t.Errorf("hard delete left %+v", c)
			case behavior == "soft" && c != nil && c.Marketing == conformance.Subscribed && !c.Deleted:
				t.Errorf("soft delete left the contact subscribed: %+v", c)
			}
		})
	}

	t.Run("OutageDuringBurst", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.targets[d].SetOutage(true)
		for i := range 20 {
			e.customer(int64(100+i), fmt.Sprintf("burst%d@example.com", i), "B", "subscribed", 0)
		}
		time.Sleep(1500 * time.Millisecond)
		e.targets[d].SetOutage(false)
		e.waitIdle(90 * time.Second)
		for i := range 20 {
			if c := e.holds(d, fmt.Sprintf("burst%d@example.com", i)); c.Marketing != conformance.Subscribed {
				t.Errorf("after the outage: %+v", c)
			}
		}
	})

	t.Run("BurstUnderRateLimit", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		for i := range 15 {
			e.customer(int64(200+i), fmt.Sprintf("paced%d@example.com", i), "P", "", 0)
		}
		e.waitIdle(60 * time.Second)
		for i := range 15 {
			e.holds(d, fmt.Sprintf("paced%d@example.com", i))
		}
		if n := e.targets[d].Throttled(); n > 0 {
			t.Errorf("%d requests of a burst under the platform's documented limits were throttled with 429", n)
		}
	})

	t.Run("BurstOverRateLimit", func(t *testing.T) {
		e := startConformance(t, storage(), false, []string{d})
		e.targets[d].SetRateLimit(3)
		for i := range 15 {
			e.customer(int64(300+i), fmt.Sprintf("over%d@example.com", i), "O", "", 0)
		}
		e.waitIdle(90 * time.Second)
		for i := range 15 {
			e.holds(d, fmt.Sprintf("over%d@example.com", i))
		}
		// A 429 is honoured (Retry-After, the rate headers), not retried in
		// a storm: at most about one per contact.
		if n := e.targets[d].Throttled(); n > 15 {
			t.Errorf("%d requests were throttled for 15 contacts: the client does not back off", n)
		}
	})
}

// TestCustomerSync_SeveralDestinations syncs one Shopify customer to every
// registered destination at once with the nested shape: the opt-in and
// then the opt-out reach all of them, and one destination's outage delays
// none of the others.
func TestCustomerSync_SeveralDestinations(t *testing.T) {
	var names []string
	for _, typ := range destinationTypes {
		names = append(names, typ.Type)
	}
	e := startConformance(t, nil, true, names)
	e.customer(1, "all@example.com", "Alle", "subscribed", 0)
	e.waitIdle(20 * time.Second)
	for _, d := range names {
		if c := e.holds(d, "all@example.com"); c.Marketing != conformance.Subscribed || c.FirstName != "Alle" {
			t.Errorf("%s: %+v", d, c)
		}
	}
	e.customer(1, "all@example.com", "Alle", "unsubscribed", 5)
	e.waitIdle(20 * time.Second)
	for _, d := range names {
		if c := e.holds(d, "all@example.com"); c.Marketing != conformance.Unsubscribed {
			t.Errorf("the opt-out did not reach %s: %+v", d, c)
		}
	}

	down := names[0]
	e.targets[down].SetOutage(true)
	e.customer(2, "while@example.com", "Wile", "subscribed", 0)
	deadline := time.Now().Add(15 * time.Second)
	for _, d := range names[1:] {
		for e.targets[d].Contact("while@example.com") == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if e.targets[d].Contact("while@example.com") == nil {
			t.Errorf("%s's outage delayed %s", down, d)
		}
	}
	if e.targets[down].Contact("while@example.com") != nil {
		t.Errorf("%s received a contact during its outage", down)
	}
	e.targets[down].SetOutage(false)
	e.waitIdle(60 * time.Second)
	if c := e.holds(down, "while@example.com"); c.Marketing != conformance.Subscribed {
		t.Errorf("after its outage, %s: %+v", down, c)
	}
}

// TestBatchConformance runs customer-sync in batch mode on every
// destination with a batch path: contacts without consent travel in
// batch calls, and the opt-in and the opt-out go realtime at once, so
// consent never waits for a batch and no batch changes it.
func TestBatchConformance(t *testing.T) {
	for _, typ := range destinationTypes {
		t.Run(typ.Type, func(t *testing.T) {
			t.Parallel()
			if !hasBatchPath(t, typ.Type) {
				// The config refuses batch mode on it, so the check after
				// startConformance would never be reached.
				t.Skipf("%s has no batch path", typ.Type)
			}
			e := startConformance(t, nil, false, []string{typ.Type}, func(c *Config) {
				o := &c.Skills.CustomerSync.Options
				o.SyncMode, o.Batch = "batch", BatchOptions{Interval: Duration(time.Second)}
				if typ.Type == "brevo" {
					o.Extra["import_list_id"] = 9
				}
			})
			bt, ok := e.targets[typ.Type].(conformance.BatchTarget)
			if !ok {
				t.Skipf("%s has no batch path", typ.Type)
			}
			const n = 40
			for i := range n {
				e.customer(int64(500+i), fmt.Sprintf("quiet%d@example.com", i), "Q", "", 0)
			}
			e.customer(600, "yes@example.com", "Y", "subscribed", 0)
			deadline := time.Now().Add(60 * time.Second)
			held := func() int {
				k := 0
				for i := range n {
					if e.targets[typ.Type].Contact(fmt.Sprintf("quiet%d@example.com", i)) != nil {
						k++
					}
				}
				return k
			}
			for held() < n && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			e.customer(500, "quiet0@example.com", "Q", "unsubscribed", 5)
			e.waitIdle(60 * time.Second)
			if k := held(); k != n {
				t.Fatalf("%d of %d contacts arrived", k, n)
			}
			if c := e.holds(typ.Type, "yes@example.com"); c.Marketing != conformance.Subscribed {
				t.Errorf("the opt-in in batch mode: %+v", c)
			}
			if c := e.holds(typ.Type, "quiet0@example.com"); c.Marketing != conformance.Unsubscribed {
				t.Errorf("the opt-out in batch mode: %+v", c)
			}
			for i := 1; i < n; i++ {
				if c := e.holds(typ.Type, fmt.Sprintf("quiet%d@example.com", i)); c.Marketing == conformance.Subscribed {
					t.Fatalf("a batch subscribed a contact without consent: %+v", c)
				}
			}
			calls, rows := bt.BatchCalls()
			if rows < n/2 || calls == 0 || calls >= rows {
				t.Errorf("%d batch calls carried %d contacts; want most of the %d in a few calls", calls, rows, n)
			}
			t.Logf("%s: %d contacts in %d batch calls", typ.Type, rows, calls)
		})
	}
}

// hasBatchPath reports whether destination type typ, on its built-in
// simulator, has a batch path for customer-sync: a flusher of its own or
// a ContactBatcher (Pipedrive has neither: its API has no batch create or
// update of persons).
func hasBatchPath(t *testing.T, typ string) bool {
	t.Helper()
	cfg := &Config{Destinations: map[string]*DestinationSection{typ: {Settings: map[string]any{}}}}
	d, err := cfg.openDestination(typ, checkEnv())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(synclayer.BatchDestination); ok {
		return true
	}
	tg := d.(conformance.Subject).Conformance()
	opts, err := json.Marshal(tg.Options())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{Mapping: tg.Mapping(), Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	_, ok := cs.(synclayer.ContactBatcher)
	return ok
}
