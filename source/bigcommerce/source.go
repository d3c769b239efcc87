// Package bigcommerce is the BigCommerce source. BigCommerce's webhooks
// carry only the scope and the record's id: Parse verifies the delivery
// (Standard Webhooks keyed with the app's client secret when its headers
// are there, else the custom header set on the hook) and returns one
// notification, which is stored and acknowledged; the source's fetch
// queue then reads the record through the REST API with the store's
// access token (Fetch, fetch.go). Deletions that cannot be read back
// (store/customer/deleted, store/product/deleted, store/order/archived)
// are events of their own. Carts (cart.go) are read back for cart-events,
// except store/cart/converted and store/cart/deleted, whose cart is gone;
// newsletter subscribers (subscriber.go) are email consent. The same REST API lists customers, orders and
// products changed since a time (List, list.go: backfill and the daily
// reconciliation, reconcile_interval), through the record parsers Fetch
// uses (record.go), and makes the store's webhooks (HookRegistrar,
// hooks.go: sources register and check). Facts and sources:
// docs/platforms/bigcommerce.md.
package bigcommerce

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
	"synclayer/normalize"
)

// DefaultAPIURL is where the REST API is read.
const DefaultAPIURL = "https://api.bigcommerce.com"

// Tolerance is how far webhook-timestamp may be from now.
const Tolerance = 5 * time.Minute

// Settings are a bigcommerce block's own keys.
type Settings struct {
	StoreHash   string `json:"store_hash"`   // the {store_hash} of api.bigcommerce.com/stores/{store_hash}
	AccessToken string `json:"access_token"` // an API account's token, sent as X-Auth-Token
	APIURL      string `json:"api_url"`
	HeaderName  string `json:"header_name"`  // the custom header set on each hook, for stores that do not sign
	HeaderValue string `json:"header_value"` // its value
	// ReconcileInterval is how often the customers changed in the last
	// window are listed and reconciled with the store (SourceReconciler):
	// DefaultReconcileInterval unless set, "off" turns it off.
	ReconcileInterval *synclayer.Interval `json:"reconcile_interval,omitempty"`
}

// DefaultReconcileInterval and MinReconcileInterval bound
// reconcile_interval.
const (
	DefaultReconcileInterval = 24 * time.Hour
	MinReconcileInterval     = time.Minute
)

const settingNames = "BigCommerce source setting; the settings are store_hash, access_token, api_url, header_name, header_value and reconcile_interval"

// Type is BigCommerce in the program's registry of sources.
var Type = synclayer.SourceType{Type: "bigcommerce", Open: open, SecretKeys: []string{"access_token", "header_value"}}

func open(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	var s Settings
	if err := synclayer.DecodeSettings(st.Section, &s, settingNames); err != nil {
		return nil, err
	}
	var errs []error
	if s.StoreHash == "" || strings.ContainsAny(s.StoreHash, "/?#% ") {
		errs = append(errs, synclayer.FieldErrorf("store_hash", "is required: the store's hash, as in https://api.bigcommerce.com/stores/<store_hash>/v3; e.g. store_hash: abc123"))
	}
	if s.AccessToken == "" {
		errs = append(errs, synclayer.FieldErrorf("access_token", "is required: the webhooks name only the record, which is read with an API account's access token (Customers, Orders, Products read-only, and Carts read-only for cart-events; Information & Settings to register hooks); e.g. access_token: \"${BIGCOMMERCE_ACCESS_TOKEN}\""))
	}
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	} else if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, synclayer.FieldErrorf("api_url", "must be an http:// or https:// URL, such as %s", DefaultAPIURL))
	}
	if (s.HeaderName == "") != (s.HeaderValue == "") {
		errs = append(errs, synclayer.FieldErrorf("header_name", "and header_value go together: the custom header BigCommerce sends on each hook, and its value"))
	}
	if s.HeaderName != "" && !validHeaderName(s.HeaderName) {
		errs = append(errs, synclayer.FieldErrorf("header_name", "%q is not an HTTP header name", normalize.Clip(s.HeaderName)))
	}
	reconcile := DefaultReconcileInterval
	if s.ReconcileInterval != nil {
		if reconcile = time.Duration(*s.ReconcileInterval); reconcile != 0 && reconcile < MinReconcileInterval {
			errs = append(errs, synclayer.FieldErrorf("reconcile_interval",
				"is %s; each pass lists the customers changed since the last, so it must be at least %s, or off", reconcile, MinReconcileInterval))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	src := &Source{name: st.Name, settings: s, base: strings.TrimRight(s.APIURL, "/") + "/stores/" + s.StoreHash,
		http: &http.Client{Timeout: 30 * time.Second}, now: time.Now, reconcile: reconcile, shared: st.Shared}
	if src.name == "" {
		src.name = "bigcommerce"
	}
	for _, k := range secrets {
		if k = strings.TrimSpace(k); k != "" {
			wh, _ := standardwebhooks.NewWebhookRaw([]byte(k)) // never fails
			src.hooks = append(src.hooks, wh)
		}
	}
	return src, nil
}

func validHeaderName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

// Source is one BigCommerce store's webhooks. Safe for concurrent use.
type Source struct {
	name     string
	settings Settings
	hooks    []*standardwebhooks.Webhook // the app's client secret, and one being rotated out
	base     string                      // {api_url}/stores/{store_hash}
	http     *http.Client
	now      func() time.Time
	// reconcile is reconcile_interval in effect: 0 is off.
	reconcile time.Duration

	mu         sync.Mutex
	pauseUntil time.Time // the rate-limit window's reset when the last answer left no requests
	// subscribers are the emails of the newsletter subscribers read, by
	// id: a store/subscriber/deleted callback names only the id. shared
	// keeps them across restarts and instances (nil without a store).
	subscribers map[string]string
	shared      synclayer.SharedKeys
}

var _ synclayer.Fetcher = (*Source)(nil)

// Name returns the block's name.
func (s *Source) Name() string { return s.name }

// Settings returns the block's settings, for the register command.
func (s *Source) Settings() Settings { return s.settings }

// callback is BigCommerce's webhook body.
type callback struct {
	Scope     string          `json:"scope"`
	StoreID   json.RawMessage `json:"store_id"`
	Producer  string          `json:"producer"`
	Hash      string          `json:"hash"`
	CreatedAt json.RawMessage `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// Parse verifies a delivery and returns a notification of the record its
// scope names, or the event of a record that cannot be read back: a
// deletion, a cart converted (completed, with its order) or deleted
// (ended, emptied). Scopes synclayer does not read (an address, a coupon,
// a cart's line item) are acknowledged and give nothing. A delivery that is not signed is
// EUNAUTHORIZED naming the header; one from another store (producer) or
// without data.id is EINVALID naming the field.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	id, err := s.verify(h, body, now)
	if err != nil {
		return nil, err
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, synclayer.FieldErrorf("body", "is not a BigCommerce webhook callback")
	}
	if want := "stores/" + s.settings.StoreHash; cb.Producer != want {
		return nil, synclayer.FieldErrorf("producer", "is %q, not %q: the hook belongs to another store; check store_hash", normalize.Clip(cb.Producer), want)
	}
	parts := strings.Split(cb.Scope, "/")
	if len(parts) < 3 || parts[0] != "store" {
		return nil, synclayer.FieldErrorf("scope", "is %q, not a store/<resource>/<event> scope", normalize.Clip(cb.Scope))
	}
	data, err := normalize.Object("data", obj["data"])
	if err != nil {
		return nil, err
	}
	kind, err := normalize.String("data.type", data["type"])
	if err != nil {
		return nil, err
	}
	rid, err := normalize.ID("data.id", data["id"])
	if err != nil {
		return nil, err
	}
	resource, event := parts[1], strings.Join(parts[2:], "/")
	read := map[string]map[string]bool{
		"customer":   {"created": true, "updated": true, "deleted": true},
		"order":      {"created": true, "updated": true, "statusUpdated": true, "archived": true, "refund/created": true},
		"product":    {"created": true, "updated": true, "deleted": true, "inventory/updated": true, "inventory/order/updated": true},
		"cart":       {"created": true, "updated": true, "deleted": true, "abandoned": true, "converted": true},
		"subscriber": {"created": true, "updated": true, "deleted": true},
	}
	if !read[resource][event] || resource == "cart" && kind == "cart_line_item" {
		return nil, nil // a cart scope's data "can be cart or cart_line_item": a line item's is not read
	}
	if kind != resource {
		return nil, synclayer.FieldErrorf("data.type", "is %q, but the scope %s names a %s", normalize.Clip(kind), cb.Scope, resource)
	}
	if rid == "" {
		return nil, synclayer.FieldErrorf("data.id", "missing; the callback names the record to read")
	}
	at := now.UTC()
	if n, ok, err := normalize.Int64("created_at", obj["created_at"]); err != nil {
		return nil, err
	} else if ok && n > 0 && n < 1<<40 {
		at = time.Unix(n, 0).UTC()
	}
	key := cb.Scope + "|" + rid + "|" + cb.Hash
	if id != "" {
		key = id
	} else if cb.Hash == "" {
		return nil, synclayer.FieldErrorf("hash", "missing, and so is webhook-id; one is needed to drop duplicate deliveries")
	}
	ev := &synclayer.Event{Source: s.name, DedupeKey: key, Topic: cb.Scope, OccurredAt: at, ReceivedAt: now.UTC(), Payload: body}
	switch {
	case resource == "customer" && event == "deleted":
		ev.Type = synclayer.EventCustomerDeleted
		ev.Customer = &synclayer.CustomerChange{SourceID: rid, Delete: true}
	case resource == "product" && event == "deleted":
		ev.Type = synclayer.EventProductDeleted
		ev.Product = &synclayer.ProductChange{SourceID: rid, Delete: true}
	case resource == "order" && event == "archived":
		ev.Type = synclayer.EventOrderDeleted
		ev.Order = &synclayer.OrderChange{SourceID: rid, Delete: true}
	case resource == "cart" && (event == "converted" || event == "deleted"):
		if ev.Cart, ev.Type, err = cartCallback(event, rid, data, at); err != nil {
			return nil, err
		}
	case resource == "cart" && event == "abandoned":
		ev.Type = synclayer.EventFetchRequested
		ev.Fetch = &synclayer.FetchRef{Kind: kindCartAbandoned, ID: rid}
	case resource == "subscriber" && event == "deleted":
		ev.Type = synclayer.EventFetchRequested
		ev.Fetch = &synclayer.FetchRef{Kind: kindSubscriberDeleted, ID: deletedRef(rid, at)}
	default:
		ev.Type = synclayer.EventFetchRequested
		ev.Fetch = &synclayer.FetchRef{Kind: resource, ID: rid}
	}
	return []*synclayer.Event{ev}, nil
}

// verify checks a delivery before anything reads the body: Standard
// Webhooks when webhook-signature is sent (its id is returned, to dedupe
// on), else the configured custom header. A delivery carrying neither is
// refused, so no one downgrades a signed store to an unsigned check.
func (s *Source) verify(h http.Header, body []byte, now time.Time) (string, error) {
	if h.Get(standardwebhooks.HeaderWebhookSignature) != "" || h.Get(standardwebhooks.HeaderWebhookID) != "" {
		return s.verifyStandard(h, body, now)
	}
	if s.settings.HeaderName == "" {
		if len(s.hooks) == 0 {
			return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "secret", Message: "no client secret or header_name is configured for this source: set sources.<name>.secret to the app's client secret, or header_name and header_value to the hook's custom header"}
		}
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "webhook-signature", Message: "missing; BigCommerce signs callbacks with webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks); for a store that sends a custom header instead, set header_name and header_value"}
	}
	got := h.Get(s.settings.HeaderName)
	if got == "" {
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: s.settings.HeaderName, Message: "missing; the hooks are registered with this header (synclayer sources register sets it)"}
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.settings.HeaderValue)) != 1 {
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: s.settings.HeaderName, Message: "does not match header_value; register the hooks again with the current value"}
	}
	return "", nil
}

func (s *Source) verifyStandard(h http.Header, body []byte, now time.Time) (string, error) {
	if len(s.hooks) == 0 {
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "secret", Message: "the callback is signed, but no client secret is configured: set sources.<name>.secret to the app's client secret"}
	}
	id, ts := h.Get(standardwebhooks.HeaderWebhookID), h.Get(standardwebhooks.HeaderWebhookTimestamp)
	for _, hd := range [][2]string{{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", h.Get(standardwebhooks.HeaderWebhookSignature)}} {
		if strings.TrimSpace(hd[1]) == "" {
			return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: hd[0], Message: "missing; a Standard Webhooks callback carries webhook-id, webhook-timestamp and webhook-signature"}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "webhook-timestamp", Message: fmt.Sprintf("must be Unix seconds, not %q", normalize.Clip(ts))}
	}
	if d := now.Sub(time.Unix(unix, 0)); d > Tolerance || d < -Tolerance {
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "webhook-timestamp", Message: fmt.Sprintf("%d is more than %v from now; a replayed or delayed callback", unix, Tolerance)}
	}
	sig := http.Header{}
	sig.Set(standardwebhooks.HeaderWebhookID, id)
	sig.Set(standardwebhooks.HeaderWebhookTimestamp, ts)
	sig.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(h.Values(standardwebhooks.HeaderWebhookSignature), " "))
	for _, wh := range s.hooks {
		if wh.VerifyIgnoringTimestamp(body, sig) == nil {
			return id, nil
		}
	}
	return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "webhook-signature", Message: "no v1 signature matches the body signed with the client secret; check sources.<name>.secret"}
}
