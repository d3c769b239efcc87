package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
	"synclayer/source/bigcommerce/bigcommercesim"
	"synclayer/source/magento/magentosim"
)

// customer is one canonical customer record of the source conformance
// suite: a driver maps it to its platform's payload. at is its update
// time, in minutes after the env's base time; subscribed is an email
// marketing opt-in dated by at (false: no consent sent, or "not
// subscribed" where the platform always says).
type customer struct {
	id         int64
	email      string
	first      string
	subscribed bool
	at         int
}

// storeDriver is one way a store reaches synclayer. save and optOut
// return the answer to the delivery (for a polled store: 200 and the
// number of new events as "events").
type storeDriver interface {
	// save creates or updates a customer record.
	save(c customer) (int, map[string]any)
	// optOut unsubscribes c at c.at the platform's way.
	optOut(c customer) (int, map[string]any)
	// redeliver sends the last delivery again, same id and body.
	redeliver() (int, map[string]any)
	// delete deletes customer id.
	delete(id int64) (int, map[string]any)
	// consent is "" when the platform carries an email marketing opt-in
	// synclayer reads, else why not.
	consent() string
	// optOuts is "" when synclayer hears of an unsubscribe this way, else
	// why not.
	optOuts() string
	// deletes is "" when synclayer hears of a deleted customer this way,
	// else why not.
	deletes() string
	// invalid is how a customer with an invalid email is recorded:
	// "event" (stored failed, the webhook answered 200 saying so) or
	// "dead" (the record read back is dead-lettered with the reason).
	invalid() string
}

// sourceDrivers are the ways a store reaches synclayer, by name.
var sourceDrivers = []string{"shopify", "woocommerce", "magento-webhooks", "magento-polling", "bigcommerce"}

// senv is a running synclayer with every store source, and the driver
// under test.
type senv struct {
	*env
	base time.Time // the time customer.at counts from
	// epoch moves each case's times on, so a polled store's records are
	// changed after the last poll, as a real store's are.
	epoch int
	d     storeDriver
}

// startSourceConformance runs the program against a Brevo simulator with
// every store source: Shopify and WooCommerce webhooks, Magento (signed
// with magentosim's key, its REST API on magentosim, polled only when the
// test asks) and BigCommerce (its API on bigcommercesim).
func startSourceConformance(t *testing.T, storage envOption, driver string) *senv {
	t.Helper()
	mage := magentosim.New("", &magentoOAuth)
	ms := httptest.NewServer(mage)
	t.Cleanup(ms.Close)
	bc := bigcommercesim.New("abc123", "bc-e2e-token")
	bs := httptest.NewServer(bc)
	t.Cleanup(bs.Close)
	opts := []envOption{func(c *Config) {
		c.Sources["magento"] = &SourceConfig{Secret: magentosim.TestPublicKey, Settings: map[string]any{
			"api_url": ms.URL, "poll_interval": "0", "page_size": 2,
			"oauth": map[string]any{"consumer_key": magentoOAuth.ConsumerKey, "consumer_secret": magentoOAuth.ConsumerSecret,
				"access_token": magentoOAuth.AccessToken, "access_token_secret": magentoOAuth.AccessTokenSecret}}}
		c.Sources["bigcommerce"] = &SourceConfig{Secret: bigcommerceClientSecret, Settings: map[string]any{
			"store_hash": "abc123", "access_token": "bc-e2e-token", "api_url": bs.URL}}
		c.Skills.CustomerSync.Source = append(c.Skills.CustomerSync.Source, "magento", "bigcommerce")
	}}
	if storage != nil {
		opts = append(opts, storage)
	}
	e := &senv{env: startEnv(t, brevosim.Options{}, opts...)}
	// Whole seconds: Magento's dates have no fraction. Webhooks say what
	// changed in the past; a polled store's changes come after the first
	// poll started, which lists only what changed since.
	e.base = time.Now().Add(-6 * time.Hour).Truncate(time.Second).UTC()
	if driver == "magento-polling" {
		e.base = time.Now().Add(time.Minute).Truncate(time.Second).UTC()
	}
	switch driver {
	case "shopify":
		e.d = &shopifyDriver{e: e, seen: map[int64]bool{}}
	case "woocommerce":
		e.d = &wooDriver{e: e, seen: map[int64]bool{}}
	case "magento-webhooks":
		e.d = &magentoHookDriver{e: e}
	case "magento-polling":
		e.d = &magentoPollDriver{e: e, sim: mage}
	case "bigcommerce":
		e.d = &bigcommerceDriver{e: e, sim: bc, seen: map[int64]bool{}}
	default:
		t.Fatalf("no driver %s", driver)
	}
	return e
}

func (e *senv) at(min int) time.Time { return e.base.Add(time.Duration(e.epoch+min) * time.Minute) }

// delivery is a webhook as sent, to send again.
type delivery struct {
	path string
	body []byte
	h    http.Header
}

func (e *senv) send(d *delivery, last **delivery) (int, map[string]any) {
	e.t.Helper()
	*last = d
	return e.post(d.path, d.body, d.h)
}

func (e *senv) again(last *delivery) (int, map[string]any) {
	e.t.Helper()
	if last == nil {
		e.t.Fatal("nothing delivered yet to deliver again")
	}
	return e.post(last.path, last.body, last.h)
}

// Shopify: signed customers/create (first save of an id), customers/update
// and customers/delete, consent in email_marketing_consent.
type shopifyDriver struct {
	e    *senv
	seen map[int64]bool
	last *delivery
}

func (d *shopifyDriver) payload(c customer, state string) map[string]any {
	at := d.e.at(c.at).Format(time.RFC3339)
	p := map[string]any{"id": c.id, "email": c.email, "first_name": c.first, "last_name": "Doe", "created_at": d.e.at(-60).Format(time.RFC3339), "updated_at": at}
	if state != "" {
		p["email_marketing_consent"] = map[string]any{"state": state, "opt_in_level": "single_opt_in", "consent_updated_at": at}
	}
	return p
}

func (d *shopifyDriver) hook(topic string, p map[string]any) (int, map[string]any) {
	body := mustMarshal(p)
	return d.e.send(&delivery{"/webhooks/shopify", body, shopifyHeaders(topic, fmt.Sprintf("wh-%d", d.e.n.Add(1)), body, shopifySecret)}, &d.last)
}

func (d *shopifyDriver) save(c customer) (int, map[string]any) {
	topic := "customers/update"
	if !d.seen[c.id] {
		topic, d.seen[c.id] = "customers/create", true
	}
	state := ""
	if c.subscribed {
		state = "subscribed"
	}
	return d.hook(topic, d.payload(c, state))
}

func (d *shopifyDriver) optOut(c customer) (int, map[string]any) {
	return d.hook("customers/update", d.payload(c, "unsubscribed"))
}
func (d *shopifyDriver) redeliver() (int, map[string]any) { return d.e.again(d.last) }
func (d *shopifyDriver) delete(id int64) (int, map[string]any) {
	return d.hook("customers/delete", map[string]any{"id": id})
}
func (d *shopifyDriver) consent() string { return "" }
func (d *shopifyDriver) optOuts() string { return "" }
func (d *shopifyDriver) invalid() string { return "event" }
func (d *shopifyDriver) deletes() string { return "" }

// WooCommerce: X-WC-Webhook-Signature'd customer.created, .updated and
// .deleted; a customer carries no marketing consent.
type wooDriver struct {
	e    *senv
	seen map[int64]bool
	last *delivery
}

func (d *wooDriver) hook(topic string, p map[string]any) (int, map[string]any) {
	body := mustMarshal(p)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-WC-Webhook-Topic", topic)
	h.Set("X-WC-Webhook-Signature", hmacBase64(wooSecret, body))
	h.Set("X-WC-Webhook-Source", "https://shop.example/")
	h.Set("X-WC-Webhook-Delivery-ID", fmt.Sprint(d.e.n.Add(1)))
	return d.e.send(&delivery{"/webhooks/woocommerce", body, h}, &d.last)
}

func (d *wooDriver) save(c customer) (int, map[string]any) {
	topic := "customer.updated"
	if !d.seen[c.id] {
		topic, d.seen[c.id] = "customer.created", true
	}
	return d.hook(topic, map[string]any{"id": c.id, "email": c.email, "first_name": c.first, "last_name": "Doe",
		"date_created_gmt": d.e.at(-60).Format("2006-01-02T15:04:05"), "date_modified_gmt": d.e.at(c.at).Format("2006-01-02T15:04:05")})
}
func (d *wooDriver) optOut(customer) (int, map[string]any) { panic("woocommerce carries no consent") }
func (d *wooDriver) redeliver() (int, map[string]any)      { return d.e.again(d.last) }
func (d *wooDriver) delete(id int64) (int, map[string]any) {
	return d.hook("customer.deleted", map[string]any{"id": id})
}
func (d *wooDriver) consent() string {
	return "a WooCommerce customer carries no marketing consent (the source reads none)"
}
func (d *wooDriver) optOuts() string { return d.consent() }
func (d *wooDriver) invalid() string { return "event" }
func (d *wooDriver) deletes() string { return "" }

// Adobe Commerce webhooks: observer.customer_save_commit_after,
// observer.customer_delete_commit_after, and the newsletter subscriber's
// save for an unsubscribe (is_subscribed false is "not subscribed").
type magentoHookDriver struct {
	e    *senv
	last *delivery
}

func (d *magentoHookDriver) hook(event, key string, rec map[string]any) (int, map[string]any) {
	body := magentosim.Webhook(event, key, rec)
	return d.e.send(&delivery{"/webhooks/magento", body, magentosim.Headers(body)}, &d.last)
}

func magentoRecord(e *senv, c customer) map[string]any {
	return map[string]any{"id": c.id, "entity_id": fmt.Sprint(c.id), "email": c.email, "firstname": c.first, "lastname": "Doe",
		"created_at": magentoTime(e.at(-60)), "updated_at": magentoTime(e.at(c.at)),
		"extension_attributes": map[string]any{"is_subscribed": c.subscribed}}
}

func (d *magentoHookDriver) save(c customer) (int, map[string]any) {
	return d.hook("observer.customer_save_commit_after", "customer", magentoRecord(d.e, c))
}
func (d *magentoHookDriver) optOut(c customer) (int, map[string]any) {
	return d.hook("observer.newsletter_subscriber_save_after", "subscriber", map[string]any{
		"subscriber_id": fmt.Sprint(900 + c.id), "customer_id": fmt.Sprint(c.id), "subscriber_email": c.email,
		"subscriber_status": "3", "change_status_at": magentoTime(d.e.at(c.at))})
}
func (d *magentoHookDriver) redeliver() (int, map[string]any) { return d.e.again(d.last) }
func (d *magentoHookDriver) delete(id int64) (int, map[string]any) {
	return d.hook("observer.customer_delete_commit_after", "customer", map[string]any{"entity_id": fmt.Sprint(id)})
}
func (d *magentoHookDriver) consent() string { return "" }
func (d *magentoHookDriver) optOuts() string { return "" }
func (d *magentoHookDriver) invalid() string { return "event" }
func (d *magentoHookDriver) deletes() string { return "" }

// Magento polled: the record is put in magentosim's REST API and the
// program's poll of customers lists it; redelivering is polling again.
type magentoPollDriver struct {
	e   *senv
	sim *magentosim.Server
}

func (d *magentoPollDriver) poll() (int, map[string]any) {
	d.e.t.Helper()
	p, ok := d.e.m.sources["magento"].(synclayer.Poller)
	if !ok {
		d.e.t.Fatalf("the magento source is %T, not a Poller", d.e.m.sources["magento"])
	}
	n, err := d.e.m.poll(context.Background(), "magento", synclayer.ListCustomers, p)
	if err != nil {
		return http.StatusInternalServerError, map[string]any{"error": err.Error()}
	}
	return http.StatusOK, map[string]any{"events": float64(n)}
}

func (d *magentoPollDriver) save(c customer) (int, map[string]any) {
	d.sim.Put(magentosim.Customers, magentoRecord(d.e, c))
	return d.poll()
}
func (d *magentoPollDriver) optOut(customer) (int, map[string]any) {
	panic("polling reads no unsubscribe")
}
func (d *magentoPollDriver) redeliver() (int, map[string]any) { return d.poll() }
func (d *magentoPollDriver) delete(int64) (int, map[string]any) {
	panic("polling reads no delete")
}
func (d *magentoPollDriver) consent() string { return "" }
func (d *magentoPollDriver) optOuts() string {
	return "Magento's REST API lists no newsletter subscribers: polled, is_subscribed false is \"not subscribed\", never an opt-out (docs/platforms/magento.md, Not done)"
}
func (d *magentoPollDriver) invalid() string { return "event" }
func (d *magentoPollDriver) deletes() string {
	return "a deleted Magento customer is not listed: only the delete webhook tells synclayer (docs/platforms/magento.md)"
}

// BigCommerce: the record is stored in bigcommercesim, and a signed
// callback carrying only its id makes the fetch job read it. An older
// record stored after a newer one (the out-of-order case) stands for a
// read that returned stale data: the date_modified read back decides.
type bigcommerceDriver struct {
	e    *senv
	sim  *bigcommercesim.Server
	seen map[int64]bool
	last *delivery
}

func (d *bigcommerceDriver) callback(scope string, id int64) (int, map[string]any) {
	body := bigcommercesim.Callback("abc123", scope, "customer", id, time.Now().Unix()+d.e.n.Add(1))
	h := bigcommercesim.Sign(bigcommerceClientSecret, fmt.Sprintf("msg_%d", d.e.n.Add(1)), time.Now(), body)
	h.Set("Content-Type", "application/json")
	return d.e.send(&delivery{"/webhooks/bigcommerce", body, h}, &d.last)
}

func (d *bigcommerceDriver) save(c customer) (int, map[string]any) {
	scope := "store/customer/updated"
	if !d.seen[c.id] {
		scope, d.seen[c.id] = "store/customer/created", true
	}
	d.sim.AddCustomer(map[string]any{"id": c.id, "email": c.email, "first_name": c.first, "last_name": "Doe",
		"date_created": d.e.at(-60).Format(time.RFC3339), "date_modified": d.e.at(c.at).Format(time.RFC3339),
		"accepts_product_review_abandoned_cart_emails": c.subscribed})
	return d.callback(scope, c.id)
}
func (d *bigcommerceDriver) optOut(customer) (int, map[string]any) {
	panic("bigcommerce carries no marketing consent")
}
func (d *bigcommerceDriver) redeliver() (int, map[string]any) { return d.e.again(d.last) }
func (d *bigcommerceDriver) delete(id int64) (int, map[string]any) {
	return d.callback("store/customer/deleted", id)
}
func (d *bigcommerceDriver) consent() string {
	return "accepts_product_review_abandoned_cart_emails is not marketing consent and the Subscribers API is not read yet (docs/platforms/bigcommerce.md, Consent)"
}
func (d *bigcommerceDriver) optOuts() string { return d.consent() }
func (d *bigcommerceDriver) invalid() string { return "dead" }
func (d *bigcommerceDriver) deletes() string { return "" }

// writes counts the contact writes Brevo received from call index from
// on, by method.
func (e *senv) writes(from int) map[string]int {
	out := map[string]int{}
	for _, c := range e.sim.Calls()[from:] {
		if c.Method != http.MethodGet && strings.HasPrefix(c.Path, "/contacts") && !strings.HasPrefix(c.Path, "/contacts/attributes") {
			out[c.Method]++
		}
	}
	return out
}

// mark is where the calls made from now on begin.
func (e *senv) mark() int { return len(e.sim.Calls()) }
