package woocommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// APISettings are the keys of a WooCommerce source's api: block, which
// lets synclayer call the store's REST API (v3) with a key made under
// WooCommerce > Settings > Advanced > REST API: to list customers, orders
// and products (backfill --from, reconciliation) and to register its
// webhooks:
//
//	api: { url: https://shop.example.com, consumer_key: "${WC_CONSUMER_KEY}", consumer_secret: "${WC_CONSUMER_SECRET}" }
type APISettings struct {
	// URL is the store's site URL; requests go to {url}/wp-json/wc/v3/...
	URL            string `json:"url"`
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret"`
	// ReconcileInterval is how often the program lists the customers
	// updated lately, for webhooks that never came (WooCommerce disables
	// a webhook whose deliveries keep failing); nil is
	// DefaultReconcileInterval, "off" turns it off.
	ReconcileInterval *synclayer.Interval `json:"reconcile_interval,omitempty"`
}

// Defaults of the api: block. A daily reconciliation reads every
// customer (the customers endpoint has no modified filter), a page of 100
// a request.
const (
	DefaultReconcileInterval = 24 * time.Hour
	MinReconcileInterval     = time.Minute
)

const apiSettingNames = "WooCommerce api setting; the api block takes url, consumer_key, consumer_secret and reconcile_interval"

// UnmarshalJSON decodes the block refusing unknown keys, with each
// error's field named from the source block (api.url), so the program
// points at the line.
func (a *APISettings) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && string(t) != "null" {
		return synclayer.FieldErrorf("api", "must be a block of settings, such as { url: https://shop.example.com, consumer_key: \"${WC_CONSUMER_KEY}\", consumer_secret: \"${WC_CONSUMER_SECRET}\" }")
	}
	type plain APISettings
	var p plain
	if err := synclayer.DecodeBlock(b, &p, "api", apiSettingNames); err != nil {
		return err
	}
	*a = APISettings(p)
	return nil
}

// APIConfig is a checked api: block.
type APIConfig struct {
	Base              string // {url}/wp-json/wc/v3
	ConsumerKey       string
	ConsumerSecret    string
	ReconcileInterval time.Duration
}

// Config returns the client configuration the block describes, or an
// EINVALID error for each key that is wrong, joined. No message quotes
// the key or the secret.
func (a *APISettings) Config() (APIConfig, error) {
	var errs []error
	base, err := apiBase(strings.TrimSpace(a.URL))
	if err != nil {
		errs = append(errs, err)
	}
	key, secret := strings.TrimSpace(a.ConsumerKey), strings.TrimSpace(a.ConsumerSecret)
	for _, c := range []struct{ field, value, prefix string }{{"consumer_key", key, "ck_"}, {"consumer_secret", secret, "cs_"}} {
		switch {
		case c.value == "":
			errs = append(errs, synclayer.FieldErrorf("api."+c.field,
				"missing; set it to the REST API key's %s (it starts with %s; WooCommerce > Settings > Advanced > REST API > Add key, Read/Write), for example \"${WC_%s}\"",
				strings.ReplaceAll(c.field, "_", " "), c.prefix, strings.ToUpper(c.field)))
		case strings.ContainsAny(c.value, " \t\r\n:"):
			errs = append(errs, synclayer.FieldErrorf("api."+c.field, "contains white space or a colon; copy it again from the key's page"))
		}
	}
	reconcile := DefaultReconcileInterval
	if a.ReconcileInterval != nil {
		if reconcile = time.Duration(*a.ReconcileInterval); reconcile != 0 && reconcile < MinReconcileInterval {
			errs = append(errs, synclayer.FieldErrorf("api.reconcile_interval",
				"is %s; each pass reads every customer, so it must be at least %s, or off", reconcile, MinReconcileInterval))
		}
	}
	if len(errs) > 0 {
		return APIConfig{}, errors.Join(errs...)
	}
	return APIConfig{Base: base, ConsumerKey: key, ConsumerSecret: secret, ReconcileInterval: reconcile}, nil
}

// apiBase reads url into the REST API's base. Plain http is refused but
// for a loopback host (a simulator on this machine): over http
// WooCommerce takes only OAuth 1.0a signatures, which this package does
// not make, and Basic auth would send the secret readable.
func apiBase(raw string) (string, error) {
	if raw == "" {
		return "", synclayer.FieldErrorf("api.url", "missing; set it to the store's site URL, such as https://shop.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", synclayer.FieldErrorf("api.url", "must be the store's site URL with no query, such as https://shop.example.com")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", synclayer.FieldErrorf("api.url",
			"uses http to %s: WooCommerce takes a key over plain http only as an OAuth 1.0a signature, which synclayer does not make, and HTTP Basic would send the consumer secret unencrypted; use https (http only to a simulator on this machine)",
			u.Hostname())
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/wc/v3")
	p = strings.TrimSuffix(p, "/wp-json")
	u.Path, u.RawPath = p+apiPath, ""
	return u.String(), nil
}

// apiPath is the REST API v3's path under the site URL; sites with
// "Plain" permalinks do not serve it.
const apiPath = "/wp-json/wc/v3"

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// client calls the REST API with the key over HTTP Basic.
type client struct {
	cfg    APIConfig
	http   *http.Client
	now    func() time.Time
	errors string // "sources.<name>.api"
}

// APIError is a REST API answer other than 2xx: the status and the
// WordPress error body's code and message.
type APIError struct {
	Status  int
	Code    string // WordPress's error code: woocommerce_rest_authentication_error
	Message string
}

func (e *APIError) Error() string   { return e.Message }
func (e *APIError) HTTPStatus() int { return e.Status }

// retries are the waits before asking again after a 5xx other than 503
// or no answer.
var retries = []time.Duration{250 * time.Millisecond, time.Second}

// call sends method path?query with body as JSON (when not nil) and reads
// the answer into out. Errors: Throttled for a 429 or a 503 (Retry-After,
// 1 s when absent), Permanent for 401/403 naming api.consumer_key, for a
// 404 naming api.url and for other 4xx with WordPress's message; other
// 5xx and no answer are asked again twice, then returned retryable.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out any) (http.Header, error) {
	var (
		h   http.Header
		err error
	)
	for attempt := 0; ; attempt++ {
		var retry bool
		h, retry, err = c.once(ctx, method, path, query, body, out)
		if !retry || attempt >= len(retries) {
			return h, err
		}
		select {
		case <-ctx.Done():
			return h, err
		case <-time.After(retries[attempt]):
		}
	}
}

func (c *client) once(ctx context.Context, method, path string, query url.Values, body, out any) (http.Header, bool, error) {
	what := method + " " + path
	target := c.cfg.Base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, false, synclayer.Permanent(fmt.Errorf("woocommerce: %s: %w", what, err))
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, false, synclayer.Permanent(fmt.Errorf("woocommerce: %s: %w", what, err))
	}
	req.SetBasicAuth(c.cfg.ConsumerKey, c.cfg.ConsumerSecret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, true, fmt.Errorf("woocommerce: %s: the store did not answer; check %s.url", what, c.errors)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.Header, true, fmt.Errorf("woocommerce: %s: %w", what, err)
	}
	if resp.StatusCode/100 == 2 {
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.Header, false, synclayer.Permanent(fmt.Errorf("woocommerce: %s: the answer is not the REST API's JSON; is %s.url the store's site URL, with pretty permalinks on?", what, c.errors))
			}
		}
		return resp.Header, false, nil
	}
	e := apiError(resp.StatusCode, raw)
	e.Message = fmt.Sprintf("woocommerce: %s: %d %s", what, resp.StatusCode, e.Message)
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		e.Message += " (the store or its host is limiting requests; waiting what Retry-After asks)"
		return resp.Header, false, synclayer.Throttled(e, retryAfter(resp.Header.Get("Retry-After"), c.now()))
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Message += fmt.Sprintf(": the REST API key was refused or may not do this; check %s.consumer_key and %s.consumer_secret, and that the key has Read/Write permissions and its user can manage WooCommerce", c.errors, c.errors)
		return resp.Header, false, synclayer.Permanent(e)
	case s == http.StatusNotFound:
		e.Message += fmt.Sprintf(": no such endpoint or record; check %s.url, and that permalinks are not Plain (Settings > Permalinks)", c.errors)
		return resp.Header, false, synclayer.Permanent(e)
	case s >= 500:
		return resp.Header, true, e
	}
	return resp.Header, false, synclayer.Permanent(e)
}

// apiError reads WordPress's error body, {"code", "message", "data":
// {"status"}}.
func apiError(status int, body []byte) *APIError {
	var eb struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	e := &APIError{Status: status}
	if json.Unmarshal(body, &eb) == nil {
		e.Code = normalize.Clip(eb.Code)
		e.Message = normalize.Clip(eb.Message)
		if e.Code != "" {
			e.Message = e.Code + ": " + e.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// retryAfter reads Retry-After, in seconds or as an HTTP date; 1 s when
// absent or unreadable, an hour at most.
func retryAfter(v string, now time.Time) time.Duration {
	d := time.Second
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, time.Second), time.Hour)
}
