package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// AdminSettings are the keys of a Shopify source's admin: block, which
// lets synclayer call the shop's Admin GraphQL API: to write opt-outs made
// elsewhere back to Shopify, to list customers, orders and products
// (backfill --from, reconciliation) and to register its webhooks:
//
//	admin: { shop: demo.myshopify.com, access_token: "${SHOPIFY_ADMIN_TOKEN}", api_version: "2025-10" }
type AdminSettings struct {
	Shop        string `json:"shop"`
	AccessToken string `json:"access_token"`
	APIVersion  string `json:"api_version,omitempty"`
	// BaseURL replaces https://<shop> (a prefix, such as the simulator's
	// URL, to which /admin/api/<api_version>/graphql.json is appended), or
	// is the whole endpoint when it ends in /graphql.json.
	BaseURL string `json:"base_url,omitempty"`
	// BulkThreshold is the number of customers above which a full
	// listing runs one bulk operation instead of paging (list_bulk.go);
	// nil is DefaultBulkThreshold.
	BulkThreshold *int `json:"bulk_threshold,omitempty"`
	// ReconcileInterval is how often the program lists the customers
	// updated lately, for webhooks that never came; nil is
	// DefaultReconcileInterval, "off" turns it off.
	ReconcileInterval *synclayer.Interval `json:"reconcile_interval,omitempty"`
}

// Defaults of the listing settings. A daily reconciliation costs one
// page of customers per 100 changed in the day, which a shop's bucket
// refills in seconds; below 10,000 customers paging a full listing takes
// a few minutes, above it one bulk operation is cheaper and cannot be cut
// short by the rate limit.
const (
	DefaultBulkThreshold = 10000
	// MaxBulkThreshold is the most customersCount counts to by default
	// (from 2025-07): a larger threshold could not be told from it.
	MaxBulkThreshold         = 10000
	DefaultReconcileInterval = 24 * time.Hour
	MinReconcileInterval     = time.Minute
)

// adminSettingNames is what a key the admin: block does not have is told.
const adminSettingNames = "Shopify admin setting; the admin block takes shop, access_token, api_version, base_url, bulk_threshold and reconcile_interval"

// UnmarshalJSON decodes the block refusing unknown keys, with each error's
// field named from the source block (admin.shop), so the program can
// point at the line.
func (a *AdminSettings) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '{' && string(t) != "null" {
		return synclayer.FieldErrorf("admin", "must be a block of settings, such as { shop: demo.myshopify.com, access_token: \"${SHOPIFY_ADMIN_TOKEN}\" }")
	}
	type plain AdminSettings
	var p plain
	if err := synclayer.DecodeBlock(b, &p, "admin", adminSettingNames); err != nil {
		return err
	}
	*a = AdminSettings(p)
	return nil
}

// apiVersionPattern is a stable or release-candidate version: Shopify
// releases one each quarter, named for its first month.
var apiVersionPattern = regexp.MustCompile(`^[0-9]{4}-(01|04|07|10)$`)

// AdminConfig returns the client configuration the block describes, or
// an EINVALID error for each key that is wrong, joined. No message
// quotes the access token.
func (a *AdminSettings) AdminConfig() (AdminConfig, error) {
	var errs []error
	shop := strings.ToLower(strings.TrimSpace(a.Shop))
	switch {
	case shop == "":
		errs = append(errs, synclayer.FieldErrorf("admin.shop",
			"missing; set it to the shop's myshopify.com domain, such as demo.myshopify.com (Shopify admin > Settings > Domains)"))
	case !shopDomainPattern.MatchString(shop):
		errs = append(errs, synclayer.FieldErrorf("admin.shop",
			"must be a bare domain with no scheme or path, such as demo.myshopify.com, not %q", normalize.Clip(a.Shop)))
	case !strings.HasSuffix(shop, ".myshopify.com"):
		errs = append(errs, synclayer.FieldErrorf("admin.shop",
			"must be the shop's myshopify.com domain, such as demo.myshopify.com, not %q: the Admin API is served there, not at the shop's own domain (Shopify admin > Settings > Domains lists it)",
			normalize.Clip(a.Shop)))
	}
	token := strings.TrimSpace(a.AccessToken)
	switch {
	case token == "":
		errs = append(errs, synclayer.FieldErrorf("admin.access_token",
			"missing; set it to the Admin API access token of the shop's app (a custom app's token starts with shpat_), for example \"${SHOPIFY_ADMIN_TOKEN}\", with the write_customers scope"))
	case strings.ContainsAny(token, " \t\r\n"):
		errs = append(errs, synclayer.FieldErrorf("admin.access_token",
			"contains white space; copy the token again from the app's API credentials"))
	}
	version := strings.TrimSpace(a.APIVersion)
	if version == "" {
		version = DefaultAPIVersion
	} else if version != "unstable" && !apiVersionPattern.MatchString(version) {
		errs = append(errs, synclayer.FieldErrorf("admin.api_version",
			"%q is not a Shopify API version: versions are named for the quarter they start, such as %s (YYYY-01, -04, -07 or -10)",
			normalize.Clip(a.APIVersion), DefaultAPIVersion))
	}
	endpoint := ""
	if raw := strings.TrimSpace(a.BaseURL); raw != "" {
		var err error
		if endpoint, err = endpointFromBase(raw, version); err != nil {
			errs = append(errs, err)
		}
	} else if shop != "" {
		endpoint = "https://" + shop + adminPath(version)
	}
	bulk := DefaultBulkThreshold
	if a.BulkThreshold != nil {
		if bulk = *a.BulkThreshold; bulk < 1 || bulk > MaxBulkThreshold {
			errs = append(errs, synclayer.FieldErrorf("admin.bulk_threshold",
				"is %d; it is the number of customers above which a full listing runs a bulk operation, from 1 to %d, the most Shopify's customer count counts to (default %d)",
				bulk, MaxBulkThreshold, DefaultBulkThreshold))
		}
	}
	reconcile := DefaultReconcileInterval
	if a.ReconcileInterval != nil {
		if reconcile = time.Duration(*a.ReconcileInterval); reconcile != 0 && reconcile < MinReconcileInterval {
			errs = append(errs, synclayer.FieldErrorf("admin.reconcile_interval",
				"is %s; each pass lists the customers changed since the last, so it must be at least %s, or off", reconcile, MinReconcileInterval))
		}
	}
	if len(errs) > 0 {
		return AdminConfig{}, errors.Join(errs...)
	}
	return AdminConfig{Shop: shop, AccessToken: token, APIVersion: version, Endpoint: endpoint,
		BulkThreshold: bulk, ReconcileInterval: reconcile}, nil
}

// adminPath is the Admin GraphQL API's path for version.
func adminPath(version string) string { return "/admin/api/" + version + "/graphql.json" }

// endpointFromBase reads base_url. Plain http is taken only for a
// loopback host (a simulator on this machine): anywhere else the access
// token would cross the network readable.
func endpointFromBase(raw, version string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", synclayer.FieldErrorf("admin.base_url",
			"must be an absolute http(s) URL with no query, such as http://127.0.0.1:8080/simulator/shopify; leave it out to call https://<shop>/admin/api/<api_version>/graphql.json")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", synclayer.FieldErrorf("admin.base_url",
			"uses http to %s, which would send the access token unencrypted; use https, or http only to a simulator on this machine (127.0.0.1 or localhost)",
			u.Hostname())
	}
	if strings.HasSuffix(u.Path, "/graphql.json") {
		return u.String(), nil
	}
	u.Path = strings.TrimRight(u.Path, "/") + adminPath(version)
	u.RawPath = ""
	return u.String(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AdminSource is a Shopify source whose config has an admin: block: it
// parses the shop's webhooks like a Source and also writes opt-outs made
// elsewhere back to the shop (synclayer.ConsentWriter), so the shop's own
// mails stop too. Its Source lists records and registers webhooks
// through the same client (list.go, hook.go).
type AdminSource struct {
	*Source
	*Admin
}

var _ synclayer.ConsentWriter = (*AdminSource)(nil)

// NewAdminSource returns the source of cfg that writes consent with the
// Admin API client of admin.
func NewAdminSource(cfg Config, admin AdminConfig) (*AdminSource, error) {
	a, err := NewAdmin(admin)
	if err != nil {
		return nil, err
	}
	s := New(cfg)
	s.admin = a
	s.bulkThreshold = admin.BulkThreshold
	if s.bulkThreshold <= 0 {
		s.bulkThreshold = DefaultBulkThreshold
	}
	s.reconcile = admin.ReconcileInterval
	return &AdminSource{Source: s, Admin: a}, nil
}

// parseSettings decodes a Shopify source block's own keys.
func parseSettings(section json.RawMessage) (Settings, error) {
	var s Settings
	if err := synclayer.DecodeSettings(section, &s, settingNames); err != nil {
		return Settings{}, err
	}
	if d := s.ShopDomain; d != "" && !shopDomainPattern.MatchString(strings.ToLower(d)) {
		return Settings{}, synclayer.FieldErrorf("shop_domain", "must be the shop's myshopify domain as Shopify sends it in X-Shopify-Shop-Domain, such as johns-apparel.myshopify.com, not %q", normalize.Clip(d))
	}
	return s, nil
}
