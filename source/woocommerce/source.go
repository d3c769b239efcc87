package woocommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

const sourceName = "woocommerce"

const (
	headerSignature = "X-WC-Webhook-Signature"
	headerTopic     = "X-WC-Webhook-Topic"
	headerDelivery  = "X-WC-Webhook-Delivery-ID"
)

// Config configures the WooCommerce source.
type Config struct {
	// Secrets are the webhooks' secrets. A delivery signed with any of them
	// is accepted, so a secret can be rotated without losing deliveries;
	// the first is the one RegisterHooks gives the webhooks it makes.
	Secrets []string
	// API is the store's REST API, from the api: block; nil lists nothing
	// and registers no webhooks.
	API *APIConfig
	// Name is the source's name in the config (sources.<name>), which the
	// API's errors name; "" is woocommerce.
	Name string
	// HTTP and Now are what tests change; nil is a client with a 30 s
	// timeout and time.Now.
	HTTP *http.Client
	Now  func() time.Time
}

// Source parses WooCommerce webhooks and, with an API, lists records and
// registers webhooks. It is safe for concurrent use.
type Source struct {
	keys      [][]byte
	secret    string // the current secret, as configured
	api       *client
	reconcile time.Duration
}

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg. Blank secrets are ignored; with none left,
// Parse refuses every signed delivery.
func New(cfg Config) *Source {
	s := &Source{}
	if cfg.API != nil {
		name := cfg.Name
		if name == "" {
			name = sourceName
		}
		s.api = &client{cfg: *cfg.API, http: cfg.HTTP, now: cfg.Now, errors: "sources." + name + ".api"}
		if s.api.http == nil {
			s.api.http = &http.Client{Timeout: 30 * time.Second}
		}
		if s.api.now == nil {
			s.api.now = time.Now
		}
		s.reconcile = cfg.API.ReconcileInterval
	}
	for _, secret := range cfg.Secrets {
		if secret = strings.TrimSpace(secret); secret == "" {
			continue
		}
		if s.secret == "" {
			s.secret = secret
		}
		s.keys = append(s.keys, []byte(secret))
		// WooCommerce signs with the secret HTML-entity-decoded
		// (wp_specialchars_decode), so "a&amp;b" as stored signs as "a&b".
		if dec := html.UnescapeString(secret); dec != secret {
			s.keys = append(s.keys, []byte(dec))
		}
	}
	return s
}

// Name returns "woocommerce".
func (s *Source) Name() string { return sourceName }

var eventTypes = map[string]synclayer.EventType{
	"customer.created": synclayer.EventCustomerCreated,
	"customer.updated": synclayer.EventCustomerUpdated,
	"customer.deleted": synclayer.EventCustomerDeleted,
	"order.created":    synclayer.EventOrderCreated,
	"order.updated":    synclayer.EventOrderUpdated,
	"order.deleted":    synclayer.EventOrderDeleted,
	"product.created":  synclayer.EventProductCreated,
	"product.updated":  synclayer.EventProductUpdated,
	"product.deleted":  synclayer.EventProductDeleted,
}

const topicList = "customer.created, customer.updated, customer.deleted, order.created, order.updated, order.deleted, " +
	"product.created, product.updated and product.deleted"

// Parse verifies a delivery over its raw body and returns the one event it
// carries, or nothing for WooCommerce's unsigned ping. Errors are
// EUNAUTHORIZED when no secret is configured or the signature is missing or
// wrong, and EINVALID, naming the header or payload field, when the topic
// is not one it reads or the body cannot be read.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if isPing(h, body) {
		return nil, nil
	}
	if err := s.verify(header(h, headerSignature), body); err != nil {
		return nil, err
	}
	topic := header(h, headerTopic)
	_, ok := eventTypes[topic]
	switch {
	case topic == "":
		return nil, synclayer.FieldErrorf(headerTopic, "missing %s header; WooCommerce sends the topic with every webhook", headerTopic)
	case !ok:
		return nil, synclayer.FieldErrorf(headerTopic, "unsupported topic %q; subscribe this endpoint only to "+topicList, normalize.Clip(topic))
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	return s.record(topic, obj, body, header(h, headerDelivery), now)
}

// kinds are the listing kinds of the webhook resources, which the
// DedupeKey names so a record listed and the same record delivered by a
// webhook are one event.
var kinds = map[string]string{"customer": synclayer.ListCustomers, "order": synclayer.ListOrders, "product": synclayer.ListProducts}

// record is the one mapping of a REST resource to its event, for a
// webhook's body and a listed record alike: topic is the webhook's
// (a listed record reads as <resource>.updated), raw the bytes kept as
// the Payload, delivery the webhook's delivery ID ("" for a listed
// record). Changes are deduplicated on
// woocommerce:<kind>:<id>:<date_modified_gmt>; a delete, which carries
// no date, on its topic, id and delivery ID.
func (s *Source) record(topic string, obj map[string]json.RawMessage, raw []byte, delivery string, now time.Time) ([]*synclayer.Event, error) {
	typ := eventTypes[topic]
	var (
		ch       *synclayer.CustomerChange
		oc       *synclayer.OrderChange
		pc       *synclayer.ProductChange
		id       string
		modified string
		at       time.Time
		err      error
	)
	deleted := strings.HasSuffix(topic, ".deleted")
	resource, _, _ := strings.Cut(topic, ".")
	switch resource {
	case "order":
		oc, modified, at, err = parseOrder(obj, deleted)
		if oc != nil {
			id = oc.SourceID
		}
	case "product":
		pc, modified, at, err = parseProduct(obj, deleted)
		if pc != nil {
			id = pc.SourceID
		}
	default:
		ch, modified, at, err = parseCustomer(obj, typ)
		if ch != nil {
			id = ch.SourceID
		}
	}
	if err != nil {
		return nil, err
	}
	var key string
	switch {
	case modified != "" && !deleted:
		key = sourceName + ":" + kinds[resource] + ":" + id + ":" + modified
	case delivery != "":
		key = topic + "|" + id + "|" + delivery
	case deleted:
		return nil, synclayer.FieldErrorf(headerDelivery, "missing %s header; it tells one delete delivery from another", headerDelivery)
	default:
		return nil, synclayer.FieldErrorf("date_modified_gmt", "missing, and so is the %s header; one is needed to drop duplicate deliveries", headerDelivery)
	}
	if at.IsZero() {
		at = now
	}
	return []*synclayer.Event{{
		Source:     sourceName,
		DedupeKey:  key,
		Topic:      topic,
		Type:       typ,
		OccurredAt: at.UTC(),
		ReceivedAt: now.UTC(),
		Customer:   ch,
		Order:      oc,
		Product:    pc,
		Payload:    raw,
	}}, nil
}

// verify checks the HMAC before anything else reads the body.
func (s *Source) verify(got string, body []byte) error {
	if len(s.keys) == 0 {
		return synclayer.Errorf(synclayer.EUNAUTHORIZED,
			"no secret configured for source woocommerce; set the woocommerce source's secrets to the webhook's secret")
	}
	if got == "" {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: headerSignature,
			Message: "missing " + headerSignature + " header; give the webhook a secret in WooCommerce > Settings > Advanced > Webhooks"}
	}
	sig, err := base64.StdEncoding.DecodeString(got)
	if err != nil || len(sig) != sha256.Size {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: headerSignature,
			Message: headerSignature + " is not a base64 HMAC-SHA256 signature"}
	}
	for _, key := range s.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), sig) {
			return nil
		}
	}
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: headerSignature,
		Message: headerSignature + " does not match the body signed with any configured secret; check the webhook's secret"}
}

// isPing reports whether the request is the unsigned ping WooCommerce sends
// when a webhook is saved: no X-WC-Webhook-* headers and the form body
// webhook_id=N. It reads nothing else, so it cannot let a signed delivery
// skip verification.
func isPing(h http.Header, body []byte) bool {
	if len(body) > 64 {
		return false
	}
	for k := range h {
		if len(k) >= len("X-WC-") && strings.EqualFold(k[:len("X-WC-")], "X-WC-") {
			return false
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || len(form) != 1 || len(form["webhook_id"]) != 1 {
		return false
	}
	id := form["webhook_id"][0]
	return id != "" && strings.Trim(id, "0123456789") == ""
}

// parseCustomer reads a REST customer resource, or the {"id": N} of a
// delete. It returns the change, date_modified_gmt as sent (for the dedupe
// key) and the time of the change.
func parseCustomer(obj map[string]json.RawMessage, typ synclayer.EventType) (ch *synclayer.CustomerChange, modified string, at time.Time, err error) {
	ch = &synclayer.CustomerChange{}
	if ch.SourceID, err = normalize.ID("id", obj["id"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if ch.SourceID == "" {
		return nil, "", time.Time{}, synclayer.FieldErrorf("id", "missing; is the webhook's API version WP REST API Integration v3?")
	}
	if typ == synclayer.EventCustomerDeleted {
		ch.Delete = true
		return ch, "", time.Time{}, nil
	}
	ch.Fields = map[string]json.RawMessage{}
	for _, f := range []struct{ from, to string }{
		{"email", synclayer.FieldEmail},
		{"first_name", synclayer.FieldFirstName},
		{"last_name", synclayer.FieldLastName},
	} {
		if raw, ok := obj[f.from]; ok {
			if ch.Fields[f.to], err = normalize.Text(f.from, raw); err != nil {
				return nil, "", time.Time{}, err
			}
		}
	}
	// Phone lives only in the billing address.
	if raw, ok := obj["billing"]; ok && !normalize.IsNull(raw) {
		billing, err := normalize.Object("billing", raw)
		if err != nil {
			return nil, "", time.Time{}, err
		}
		if raw, ok := billing["phone"]; ok {
			if ch.Fields[synclayer.FieldPhone], err = normalize.Text("billing.phone", raw); err != nil {
				return nil, "", time.Time{}, err
			}
		}
		if raw, ok := billing["company"]; ok {
			company, err := normalize.Text("billing.company", raw)
			if err != nil {
				return nil, "", time.Time{}, err
			}
			if !normalize.IsNull(company) && string(company) != `""` {
				ch.Fields[synclayer.FieldCompany] = company
			}
		}
	}
	if modified, err = normalize.String("date_modified_gmt", obj["date_modified_gmt"]); err != nil {
		return nil, "", time.Time{}, err
	}
	// The _gmt dates carry no offset but are UTC; the others are site-local.
	for _, name := range []string{"date_modified_gmt", "date_created_gmt"} {
		if _, at, err = normalize.Date(name, obj[name]); err != nil || !at.IsZero() {
			break
		}
	}
	if err != nil {
		return nil, "", time.Time{}, err
	}
	return ch, modified, at, nil
}

// header returns the first value of the named header, matching the name in
// any case, as HTTP/2 lowercases it.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return strings.TrimSpace(v)
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return strings.TrimSpace(vs[0])
		}
	}
	return ""
}

// Settings are a woocommerce block's own keys.
type Settings struct {
	API *APISettings `json:"api"`
}

const settingNames = "WooCommerce source setting; it takes type, secret, secret_file, previous_secrets, rate_limit and api (url, consumer_key, consumer_secret, reconcile_interval)"

// Type is WooCommerce in the program's registry of sources. A block with
// an api: key lists records and registers webhooks through the store's
// REST API; without one the source only parses webhooks and ListKinds is
// empty.
var Type = synclayer.SourceType{Type: sourceName, SecretKeys: []string{"api.consumer_key", "api.consumer_secret"},
	Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
		var set Settings
		if err := synclayer.DecodeSettings(st.Section, &set, settingNames); err != nil {
			return nil, err
		}
		cfg := Config{Secrets: secrets, Name: st.Name}
		if set.API != nil {
			api, err := set.API.Config()
			if err != nil {
				return nil, err
			}
			cfg.API = &api
		}
		return New(cfg), nil
	}}
