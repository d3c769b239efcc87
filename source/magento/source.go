package magento

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"synclayer"
)

// DefaultPollInterval is how often the REST API is polled when API
// credentials are configured and poll_interval is not.
const DefaultPollInterval = time.Minute

// DefaultStoreCode is the store view the REST API is read in: its
// product names, prices and URL keys are what the main storefront shows.
const DefaultStoreCode = "default"

// Settings are a magento block's own keys.
type Settings struct {
	// APIURL is the store's base URL (https://shop.example.com); requests
	// go to {api_url}/rest/{store_code}/V1/...
	APIURL    string `json:"api_url"`
	StoreCode string `json:"store_code"`
	// AccessToken is an integration's access token sent alone as a bearer
	// token, which works only with "Allow OAuth Access Tokens to be used
	// as standalone Bearer tokens" (oauth/consumer/enable_integration_as_bearer)
	// on; off by default since 2.4.4. Otherwise use OAuth.
	AccessToken string `json:"access_token"`
	OAuth       *OAuth `json:"oauth"`
	// WebhookPublicKey is the PEM public key Adobe Commerce shows under
	// Stores > Configuration > Adobe Services > Webhooks > Digital
	// Signature Configuration; WebhookPublicKeyFile reads it from a file.
	WebhookPublicKey     string   `json:"webhook_public_key"`
	WebhookPublicKeyFile string   `json:"webhook_public_key_file"`
	PollInterval         Duration `json:"poll_interval"`
	// PageSize is the records a listed page holds (DefaultPageSize);
	// Magento 2.4.7's input limits refuse more than 300 by default.
	PageSize int `json:"page_size"`
}

// OAuth are an integration's four OAuth 1.0a credentials, as System >
// Extensions > Integrations shows them once it is activated.
type OAuth struct {
	ConsumerKey       string `json:"consumer_key"`
	ConsumerSecret    string `json:"consumer_secret"`
	AccessToken       string `json:"access_token"`
	AccessTokenSecret string `json:"access_token_secret"`
}

// Duration is a setting written "1m" or "90s", or 0 for off.
type Duration struct {
	D   time.Duration
	Set bool
}

// UnmarshalJSON reads "1m30s" or a number of seconds (0 turns it off).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || v < 0 {
			return synclayer.FieldErrorf("poll_interval", "%q is not a duration: write it like 1m or 30s, or 0 to turn polling off", s)
		}
		d.D, d.Set = v, true
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil || n < 0 {
		return synclayer.FieldErrorf("poll_interval", "must be a duration such as 1m, or 0 to turn polling off")
	}
	d.D, d.Set = time.Duration(n*float64(time.Second)), true
	return nil
}

const settingNames = "Magento source setting; the settings are api_url, store_code, access_token, oauth (consumer_key, consumer_secret, access_token, access_token_secret), webhook_public_key, webhook_public_key_file, poll_interval and page_size"

// Type is Magento in the program's registry of sources.
var Type = synclayer.SourceType{Type: "magento", Open: open, SecretOptional: true, SecretKeys: []string{
	"access_token", "oauth.consumer_key", "oauth.consumer_secret", "oauth.access_token", "oauth.access_token_secret"}}

// Source is one Magento store's webhooks and REST API. Safe for
// concurrent use.
type Source struct {
	name     string
	settings Settings
	keys     []*rsa.PublicKey // webhook_public_key, and PEM keys given as secret / previous_secrets
	base     string           // {api_url}/rest/{store_code}/V1
	rest     string           // {api_url}/rest
	http     *http.Client
	now      func() time.Time
	nonce    func() string
	poll     time.Duration
}

var (
	_ synclayer.Source = (*Source)(nil)
	_ synclayer.Poller = (*Source)(nil)
)

// Options are what tests change about a Source built by New.
type Options struct {
	HTTP  *http.Client
	Now   func() time.Time
	Nonce func() string // OAuth nonces; random unless set
}

// New builds a source from a magento block's settings, as the registry
// does. secrets are the block's secret and previous_secrets: each that
// is a PEM public key verifies webhooks too, so secret_file can name the
// key file and previous_secrets keeps the old key while a regenerated key
// pair is rolled out. Adobe Commerce signs with a key pair and shares no
// secret, so a secret that is not a PEM key is not used (every source
// block must have one; a polling-only store can set any value). Errors
// name the setting to fix, joined.
func New(name string, secrets []string, s Settings, o Options) (*Source, error) {
	var errs []error
	src := &Source{name: name, settings: s, http: o.HTTP, now: o.Now, nonce: o.Nonce}
	if src.name == "" {
		src.name = "magento"
	}
	if src.http == nil {
		src.http = &http.Client{Timeout: 30 * time.Second}
	}
	if src.now == nil {
		src.now = time.Now
	}
	if src.nonce == nil {
		src.nonce = randomNonce
	}
	if s.WebhookPublicKey != "" && s.WebhookPublicKeyFile != "" {
		errs = append(errs, synclayer.FieldErrorf("webhook_public_key_file", "and webhook_public_key are both set; keep one"))
	}
	pemKey, keyField := s.WebhookPublicKey, "webhook_public_key"
	if s.WebhookPublicKeyFile != "" {
		keyField = "webhook_public_key_file"
		b, err := os.ReadFile(s.WebhookPublicKeyFile)
		if err != nil {
			errs = append(errs, synclayer.FieldErrorf(keyField, "cannot be read: %v", errors.Unwrap(err)))
		}
		pemKey = string(b)
	}
	if strings.TrimSpace(pemKey) != "" {
		k, err := parsePublicKey(pemKey)
		if err != nil {
			errs = append(errs, synclayer.FieldErrorf(keyField, "%s", err.Error()))
		} else {
			src.keys = append(src.keys, k)
		}
	}
	for _, sec := range secrets {
		if strings.Contains(sec, "-----BEGIN") {
			if k, err := parsePublicKey(sec); err == nil {
				src.keys = append(src.keys, k)
			}
		}
	}
	hasToken, hasOAuth := s.AccessToken != "", s.OAuth != nil
	if hasToken && hasOAuth {
		errs = append(errs, synclayer.FieldErrorf("access_token", "and oauth are both set; use oauth (OAuth 1.0a signing works on every Magento 2.4), or access_token alone when the store allows integration tokens as bearer tokens"))
	}
	if hasOAuth {
		for _, f := range []struct{ key, v string }{{"consumer_key", s.OAuth.ConsumerKey}, {"consumer_secret", s.OAuth.ConsumerSecret},
			{"access_token", s.OAuth.AccessToken}, {"access_token_secret", s.OAuth.AccessTokenSecret}} {
			if strings.TrimSpace(f.v) == "" {
				errs = append(errs, synclayer.FieldErrorf("oauth."+f.key, "is required: the integration's %s from System > Extensions > Integrations (Integration Details), e.g. %s: \"${MAGENTO_%s}\"",
					strings.ReplaceAll(f.key, "_", " "), f.key, strings.ToUpper(f.key)))
			}
		}
	}
	if s.StoreCode == "" {
		s.StoreCode = DefaultStoreCode
	} else if strings.ContainsAny(s.StoreCode, "/?#% ") {
		errs = append(errs, synclayer.FieldErrorf("store_code", "%q is not a store view code such as default or all", s.StoreCode))
	}
	if s.APIURL != "" {
		u, err := url.Parse(s.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			errs = append(errs, synclayer.FieldErrorf("api_url", "must be the store's base URL, such as https://shop.example.com"))
		} else {
			src.rest = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(s.APIURL, "/"), "/rest"), "/") + "/rest"
			src.base = src.rest + "/" + s.StoreCode + "/V1"
		}
	}
	creds := hasToken || hasOAuth
	switch {
	case creds && s.APIURL == "":
		errs = append(errs, synclayer.FieldErrorf("api_url", "is required with API credentials: the store's base URL, such as https://shop.example.com"))
	case !creds && s.APIURL != "":
		errs = append(errs, synclayer.FieldErrorf("oauth", "is required with api_url: the integration's consumer_key, consumer_secret, access_token and access_token_secret (or access_token alone, when the store allows bearer integration tokens)"))
	case !creds && len(src.keys) == 0 && secrets != nil:
		// secrets is nil when the program checks the config without
		// reading secret files, so a key given as secret_file is unknown.
		errs = append(errs, synclayer.FieldErrorf("webhook_public_key", "is required without API credentials: the PEM public key of Adobe Commerce's webhook signature; or set api_url and oauth to poll the REST API"))
	}
	if s.PollInterval.Set && s.PollInterval.D > 0 && s.PollInterval.D < 10*time.Second {
		errs = append(errs, synclayer.FieldErrorf("poll_interval", "%v is too often for the store's API; use at least 10s", s.PollInterval.D))
	}
	if s.PollInterval.Set && s.PollInterval.D > 0 && !creds {
		errs = append(errs, synclayer.FieldErrorf("poll_interval", "needs api_url and oauth (or access_token) to poll with"))
	}
	if s.PageSize < 0 || s.PageSize > 300 {
		errs = append(errs, synclayer.FieldErrorf("page_size", "%d is not a page size: use 1 to 300 (Magento's default maximum), or leave it out for %d", s.PageSize, DefaultPageSize))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	src.settings = s
	if creds {
		src.poll = DefaultPollInterval
		if s.PollInterval.Set {
			src.poll = s.PollInterval.D
		}
	}
	return src, nil
}

func open(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	var s Settings
	if err := synclayer.DecodeSettings(st.Section, &s, settingNames); err != nil {
		return nil, err
	}
	return New(st.Name, secrets, s, Options{})
}

// parsePublicKey reads an RSA public key in PEM: SubjectPublicKeyInfo
// ("BEGIN PUBLIC KEY", as Adobe Commerce shows it) or PKCS #1.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("is not a PEM public key: paste the whole key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----")
	}
	if block.Type == "RSA PUBLIC KEY" {
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("is not a readable RSA public key")
		}
		return k, nil
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not a readable public key (%s block)", block.Type)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("is not an RSA key; Adobe Commerce signs webhooks with RSA")
	}
	return k, nil
}

// Name returns the block's name.
func (s *Source) Name() string { return s.name }

// ListKinds are customers, orders, products and carts (quotes, for
// cart-events) when the REST API is configured, and none otherwise.
func (s *Source) ListKinds() []string {
	if s.base == "" {
		return nil
	}
	return []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts, synclayer.ListCarts}
}

// PollInterval is poll_interval: DefaultPollInterval with API credentials,
// 0 (off) without, or when set to 0.
func (s *Source) PollInterval() time.Duration { return s.poll }

// PollStart is now: a first poll lists what changes from the time
// synclayer first polled; the store's history is `synclayer backfill
// --from`'s to read.
func (s *Source) PollStart(now time.Time) time.Time { return now.UTC().Truncate(time.Second) }
