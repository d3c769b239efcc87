package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// sourceName is the source's name in config, URLs and events.
const sourceName = "shopify"

// Config configures the Shopify source.
type Config struct {
	// Secrets are the app's client secrets. A delivery signed with any of
	// them is accepted: after a rotation Shopify keeps signing with the old
	// secret for up to an hour, so list the new and the old one until then.
	Secrets []string
	// ShopDomain, when set, is the one shop whose webhooks this source
	// takes (its X-Shopify-Shop-Domain, johns-apparel.myshopify.com). An
	// app signs the webhooks of every shop it is installed on with the
	// same client secret, so without it two Shopify sources of one app
	// (shopify-eu, shopify-us) would each take the other's webhooks.
	ShopDomain string
}

// Settings are a Shopify source block's own keys (sources.shopify).
type Settings struct {
	ShopDomain string `json:"shop_domain,omitempty"`
	// Admin, when set, lets the source write opt-outs back to the shop
	// through the Admin API (admin_settings.go).
	Admin *AdminSettings `json:"admin,omitempty"`
}

// settingNames is what a key a Shopify block does not have is told.
const settingNames = "Shopify source setting; besides type, secret, secret_file, previous_secrets and rate_limit it takes shop_domain and admin (shop, access_token, api_version, base_url, bulk_threshold, reconcile_interval)"

// Source parses Shopify webhooks and, given an Admin API client (an
// admin: block), lists records and registers webhooks. It is safe for
// concurrent use.
type Source struct {
	secrets [][]byte
	shop    string

	admin         *Admin // nil without an admin: block
	bulkThreshold int
	reconcile     time.Duration
	bulk          bulkCache
}

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg. Blank secrets are ignored; with none left,
// Parse refuses every delivery.
func New(cfg Config) *Source {
	s := &Source{shop: strings.ToLower(strings.TrimSpace(cfg.ShopDomain))}
	for _, secret := range cfg.Secrets {
		if secret = strings.TrimSpace(secret); secret != "" {
			s.secrets = append(s.secrets, []byte(secret))
		}
	}
	return s
}

// Name returns "shopify".
func (s *Source) Name() string { return sourceName }

// Parse verifies a delivery over its raw body and returns the one event it
// carries. Errors are EUNAUTHORIZED when no secret is configured or the
// signature is missing or wrong, and EINVALID, naming the header or payload
// field, when the topic is not one it reads, a required header is
// missing or the body cannot be read.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	hd := readHeaders(h)
	if err := s.verify(hd, body); err != nil {
		return nil, err
	}
	if shop := hd.get("Shop-Domain"); s.shop != "" && !strings.EqualFold(strings.TrimSpace(shop), s.shop) {
		return nil, synclayer.Errorf(synclayer.EFORBIDDEN,
			"%s is %q, but this source takes only the webhooks of %s (its shop_domain): point that shop's webhooks at its own source, such as /webhooks/shopify-us with type: shopify",
			hd.name("Shop-Domain"), normalize.Clip(shop), s.shop)
	}
	t, err := hd.topic()
	if err != nil {
		return nil, err
	}
	key, err := hd.dedupeKey()
	if err != nil {
		return nil, err
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	var (
		ch *synclayer.CustomerChange
		oc *synclayer.OrderChange
		pc *synclayer.ProductChange
		cc *synclayer.CartChange
		at time.Time
	)
	switch t.kind {
	case kindCustomer:
		var v string
		if v, err = hd.apiVersion(); err == nil {
			ch, at, err = parseCustomer(obj, v)
		}
	case kindDelete:
		ch, err = parseDelete(obj)
	case kindEmailConsent:
		ch, at, err = parseEmailConsent(obj)
	case kindSMSConsent:
		ch, at, err = parseSMSConsent(obj)
	case kindOrder:
		oc, at, err = parseOrder(obj)
	case kindRefund:
		oc, at, err = parseRefund(obj)
	case kindProduct:
		pc, at, err = parseProduct(obj, hd.get("Shop-Domain"))
	case kindProductDelete:
		pc, err = parseProductDelete(obj)
	case kindCheckout:
		cc, at, err = parseCheckout(obj)
	}
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		if at, err = hd.triggeredAt(now); err != nil {
			return nil, err
		}
	}
	return []*synclayer.Event{{
		Source:     sourceName,
		DedupeKey:  key,
		Topic:      hd.get("Topic"),
		Type:       t.typ,
		OccurredAt: at.UTC(),
		ReceivedAt: now.UTC(),
		Customer:   ch,
		Order:      oc,
		Product:    pc,
		Cart:       cc,
		Payload:    body,
	}}, nil
}

// verify checks the HMAC before anything else reads the body.
func (s *Source) verify(hd headers, body []byte) error {
	if len(s.secrets) == 0 {
		return synclayer.Errorf(synclayer.EUNAUTHORIZED,
			"no secret configured for source shopify; set the shopify source's secrets to the app's client secret")
	}
	name := hd.name("Hmac-Sha256")
	got := hd.get("Hmac-Sha256")
	if got == "" {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: name,
			Message: "missing " + name + " header; Shopify signs every webhook it sends to an app"}
	}
	sig, err := base64.StdEncoding.DecodeString(got)
	if err != nil || len(sig) != sha256.Size {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: name,
			Message: name + " is not a base64 HMAC-SHA256 signature"}
	}
	for _, key := range s.secrets {
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), sig) {
			return nil
		}
	}
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: name,
		Message: name + " does not match the body signed with any configured secret; check the app's client secret " +
			"(webhooks created under Settings > Notifications are not signed with it)"}
}

// headers reads Shopify's headers. Event deliveries use an un-prefixed set
// (shopify-hmac-sha256, shopify-topic, ...) and, for now, the X-Shopify-*
// set too; they are recognized by shopify-hmac-sha256, and each header is
// then read from the un-prefixed set first.
type headers struct {
	h        http.Header
	prefixed bool
}

func readHeaders(h http.Header) headers {
	return headers{h: h, prefixed: header(h, "shopify-hmac-sha256") == ""}
}

// name returns the header's name as the delivery spells it, for messages.
func (hd headers) name(suffix string) string {
	if hd.prefixed {
		return "X-Shopify-" + suffix
	}
	return "shopify-" + strings.ToLower(suffix)
}

func (hd headers) get(suffix string) string {
	if !hd.prefixed {
		if v := header(hd.h, "shopify-"+suffix); v != "" {
			return v
		}
	}
	return header(hd.h, "X-Shopify-"+suffix)
}

func (hd headers) topic() (topic, error) {
	name, v := hd.name("Topic"), hd.get("Topic")
	if v == "" {
		return topic{}, synclayer.FieldErrorf(name, "missing %s header; Shopify sends the topic with every webhook", name)
	}
	t, ok := topics[v]
	if !ok {
		return topic{}, synclayer.FieldErrorf(name, "unsupported topic %q; subscribe this endpoint only to %s", normalize.Clip(v), topicList)
	}
	return t, nil
}

func (hd headers) dedupeKey() (string, error) {
	shop := hd.get("Shop-Domain")
	if shop == "" {
		name := hd.name("Shop-Domain")
		return "", synclayer.FieldErrorf(name, "missing %s header; Shopify sends the shop's domain with every webhook", name)
	}
	id := hd.get("Webhook-Id")
	if id == "" {
		id = hd.get("Event-Id")
	}
	if id == "" {
		return "", synclayer.FieldErrorf("X-Shopify-Webhook-Id",
			"missing X-Shopify-Webhook-Id and X-Shopify-Event-Id headers; one is needed to drop duplicate deliveries")
	}
	return shop + "|" + hd.get("Topic") + "|" + id, nil
}

var versionPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)

// apiVersion returns the API version the body was serialized with:
// "YYYY-MM", or "unstable", which sorts after every dated version.
func (hd headers) apiVersion() (string, error) {
	name, v := hd.name("API-Version"), strings.TrimSpace(hd.get("API-Version"))
	switch {
	case v == "":
		return "", synclayer.FieldErrorf(name, "missing %s header; it tells which payload shape to read", name)
	case v != "unstable" && !versionPattern.MatchString(v):
		return "", synclayer.FieldErrorf(name, "%q is not a Shopify API version such as 2024-10", normalize.Clip(v))
	}
	return v, nil
}

// triggeredAt is when Shopify triggered the delivery, or now when the header
// is absent; it dates events whose payload carries no time of its own.
func (hd headers) triggeredAt(now time.Time) (time.Time, error) {
	v := hd.get("Triggered-At")
	if v == "" {
		return now, nil
	}
	t, err := normalize.Time(v)
	if err != nil {
		name := hd.name("Triggered-At")
		return time.Time{}, synclayer.FieldErrorf(name, "%s", synclayer.ErrorMessage(err))
	}
	return t, nil
}

// header returns the first value of the named header. HTTP/2 delivers
// header names in lowercase; net/http canonicalizes them, but a header map
// built by hand may not be, so other spellings are matched too.
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

// Type is Shopify in the program's registry of sources. A block with an
// admin: key opens an *AdminSource, which is also a
// synclayer.ConsentWriter and lists and registers through the API;
// without one, a plain *Source, which writes nothing and whose ListKinds
// is empty.
var Type = synclayer.SourceType{Type: sourceName, Exports: []synclayer.ExportFormat{Export}, SecretKeys: []string{"admin.access_token"},
	Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
		s, err := parseSettings(st.Section)
		if err != nil {
			return nil, err
		}
		cfg := Config{Secrets: secrets, ShopDomain: s.ShopDomain}
		if s.Admin == nil {
			return New(cfg), nil
		}
		admin, err := s.Admin.AdminConfig()
		if err != nil {
			return nil, err
		}
		if d := strings.ToLower(s.ShopDomain); d != "" && d != admin.Shop {
			return nil, synclayer.FieldErrorf("admin.shop",
				"is %s, but shop_domain is %s: both name the one shop this source serves; give each shop its own source", admin.Shop, d)
		}
		return NewAdminSource(cfg, admin)
	}}

// shopDomainPattern is a bare host name: no scheme, path or port.
var shopDomainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
