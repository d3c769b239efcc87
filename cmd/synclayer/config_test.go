package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseConfig_IssueExample(t *testing.T) {
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", "s1")
	t.Setenv("WOOCOMMERCE_WEBHOOK_SECRET", "s2")
	t.Setenv("CUSTOM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("BREVO_API_KEY", "xkeysib-test")
	cfg, err := ParseConfig([]byte(sampleConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	cs := cfg.Skills.CustomerSync
	if cfg.Sources["shopify"].Secret != "s1" || setting(cfg, "brevo", "api_key") != "xkeysib-test" {
		t.Errorf("env not expanded: %+v", cfg.Sources["shopify"])
	}
	if optionInt(cs.Options, "list_id") != 5 || cs.FieldMapping["phone"] != "SMS" || cs.Source[0] != "shopify" || !slices.Contains(cfg.consentSources(cs), "shopify") {
		t.Errorf("customer-sync parsed wrong: %+v", cs)
	}
}

func TestParseConfig_Errors(t *testing.T) {
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", "s1")
	for _, tc := range []struct{ name, doc, want string }{
		{"UnknownKey", "server:\n  listen: x\n  lisen: y\n", `line 3: server.lisen: is not a key synclayer knows; did you mean listen?`},
		{"WrongType", "skills:\n  customer-sync:\n    options:\n      list_id: five\n", "list_id"},
		{"BadDriver", "storage:\n  driver: mysql\n", "line 2: storage.driver: must be sqlite or postgres"},
		{"UnsetEnv", "sources:\n  custom:\n    secret: \"${SYNCLAYER_TEST_UNSET_VAR}\"\n", "line 3: sources.custom.secret: environment variable SYNCLAYER_TEST_UNSET_VAR is not set"},
		{"MissingSecret", "sources:\n  shopify: {}\n", "sources.shopify.secret: is required"},
		{"BatchTooFast", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    options:\n      sync_mode: batch\n      batch: { interval: 10ms }\n", "line 9: skills.customer-sync.options.batch.interval: must be at least 1s"},
		{"BatchWithoutBatchMode", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    options:\n      batch: { max_size: 10 }\n", "skills.customer-sync.options.batch: is only used with sync_mode: batch"},
		{"ImportListIsTheList", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    options:\n      list_id: 5\n      import_list_id: 5\n", "line 9: skills.customer-sync.options.import_list_id: must differ from list_id"},
		// A platform's name gets a generated secret (config_compose_test.go);
		// any other name must be configured, with its type.
		{"UnconfiguredSource", "skills:\n  customer-sync:\n    enabled: true\n    source: [shopify-eu]\n", `line 4: skills.customer-sync.source[0]: source "shopify-eu" is not configured`},
		// field_mapping keys no source fills are refused, not sent empty.
		{"MappingNearMiss", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    field_mapping: { email: email, FirstName: FIRSTNAME }\n", "line 7: skills.customer-sync.field_mapping.FirstName: is not a field synclayer knows; did you mean firstName?"},
		{"MappingNobodySends", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    field_mapping: { email: email, loyalty: LOYALTY }\n", `skills.customer-sync.field_mapping.loyalty: no source of this skill sends "loyalty"`},
		{"MappingAliasTwice", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    field_mapping: { email: email, firstName: FIRSTNAME, first_name: FNAME }\n", "skills.customer-sync.field_mapping.first_name: is firstName written again"},
		// The shared keys of an options block are checked like any other,
		// each at its own key and line, all at once.
		{"OptionsKinds", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    options:\n      clear_unmapped: \"yes\"\n      delete_behavior: [a]\n", "line 8: skills.customer-sync.options.clear_unmapped: must be true or false, not the text \"yes\"\n  line 9: skills.customer-sync.options.delete_behavior: must be text, not a list"},
		// A duration that does not parse names its key and line, wherever it is.
		{"BadDuration", "queue:\n  concurrency: 2\n  lease: soon\n", `line 3: queue.lease: "soon" is not a duration; write it like 30s, 5m, 1h or 7d`},
		{"NumberAsDuration", "sources:\n  custom: {secret: x, tolerance: 5}\n", `line 2: sources.custom.tolerance: "5" is not a duration`},
		// A source block's own keys are its package's, checked by it.
		{"SourceKeyTypo", "sources:\n  shopify:\n    secret: x\n    shop_domian: a.myshopify.com\n", "line 4: sources.shopify.shop_domian: is not a Shopify source setting; besides type, secret, secret_file, previous_secrets and rate_limit it takes shop_domain"},
		{"SourceKeyNobodyHas", "sources:\n  eu:\n    type: woocommerce\n    secret: x\n    shop_domain: a.example.com\n", "line 5: sources.eu.shop_domain: is not a WooCommerce source setting"},
		{"ShopDomainURL", "sources:\n  shopify: {secret: x, shop_domain: \"https://a.myshopify.com/\"}\n", "line 2: sources.shopify.shop_domain: must be the shop's myshopify domain"},
		// fields: names canonical fields and configured systems.
		{"FieldUnknown", "sources:\n  shopify: {secret: x}\nfields:\n  lastname: {owner: shopify}\n", "line 4: fields.lastname: is not a field synclayer knows; did you mean lastName?"},
		{"FieldOwnerUnknown", "sources:\n  shopify: {secret: x}\nfields:\n  phone: {owner: [shopify, hubspot]}\n", `fields.phone.owner[1]: "hubspot" is not a configured source or destination`},
		{"FieldOwnerMissing", "sources:\n  shopify: {secret: x}\nfields:\n  phone: {}\n", "fields.phone.owner: is required"},
		{"FieldAggregate", "sources:\n  shopify: {secret: x}\nskills:\n  order-events: {enabled: true, source: shopify}\nfields:\n  totalSpent: {owner: shopify}\n", "fields.totalSpent: is computed by order-events"},
		{"BadAbandonAfter", "sources:\n  custom: {secret: x}\nskills:\n  cart-events:\n    enabled: true\n    source: [custom]\n    options: { abandon_after: an hour }\n", `line 7: skills.cart-events.options.abandon_after: "an hour" is not a duration`},
		{"BadBatchInterval", "sources:\n  shopify: {secret: x}\nskills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    options:\n      sync_mode: batch\n      batch: { interval: 1x }\n", `line 9: skills.customer-sync.options.batch.interval: "1x" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseConfig_SecretNotInErrors(t *testing.T) {
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", "very-secret-value-123")
	_, err := ParseConfig([]byte("sources:\n  shopify: {secret: \"${SHOPIFY_WEBHOOK_SECRET}\"}\nstorage:\n  driver: nope\n"), "")
	if err == nil || strings.Contains(err.Error(), "very-secret-value-123") {
		t.Fatalf("error %v must exist and not contain the secret", err)
	}
}

const sampleConfig = `
server:
  listen: "127.0.0.1:8080"
storage:
  driver: sqlite
  dsn: "data/synclayer.db"
sources:
  shopify:     { secret: "${SHOPIFY_WEBHOOK_SECRET}" }
  woocommerce: { secret: "${WOOCOMMERCE_WEBHOOK_SECRET}" }
  custom:      { secret: "${CUSTOM_WEBHOOK_SECRET}" }
destinations:
  brevo:
    api_key: "${BREVO_API_KEY}"
    base_url: "https://api.brevo.com/v3"
skills:
  customer-sync:
    enabled: true
    source: shopify
    field_mapping:
      email: email
      firstName: FIRSTNAME
      lastName: LASTNAME
      phone: SMS
      totalOrders: TOTAL_ORDERS
      totalSpent: TOTAL_SPENT
      lastOrderDate: LAST_ORDER_DATE
      customerTier: CUSTOMER_TIER
      tags: TAGS
    options:
      sync_mode: realtime
      delete_behavior: soft
      list_id: 5
    debug: false
    log_level: info
`

// setting is a destination block's setting as a string, "" when unset.
func setting(c *Config, destination, key string) string {
	sec := c.Destinations[destination]
	if sec == nil {
		return ""
	}
	s, _ := sec.Settings[key].(string)
	return s
}

// optionInt is a destination option of customer-sync as a number.
func optionInt(o CustomerSyncOptions, key string) int64 {
	n, _ := strconv.ParseInt(fmt.Sprint(o.Extra[key]), 10, 64)
	return n
}
