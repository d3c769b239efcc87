// Package woocommerce verifies and normalizes WooCommerce webhooks of
// customers, orders and products.
//
// X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body, keyed
// with the webhook's secret. The body of customer.created and
// customer.updated is the REST API (v3) customer resource; customer.deleted
// carries only {"id": N}.
//
// WooCommerce's delivery ID is a hash of the webhook ID and the current
// second, so two deliveries in one second share it. Events are
// deduplicated on woocommerce:<kind>:<id>:<date_modified_gmt> instead,
// the key a listed record makes too (list.go), and deletes (which carry
// no date) on the topic, delivery ID and record id.
//
// When a webhook is saved, WooCommerce pings it with an unsigned form body
// "webhook_id=N" and no X-WC-* headers, and refuses to save unless the
// answer is 200; Parse returns no events and no error for it.
//
// With an api: block (api.go) the source also reads the store's REST API
// (v3, consumer key and secret over HTTP Basic): it lists customers,
// orders and products for backfill and reconciliation (list.go), through
// the one mapping a webhook's body goes through, and registers and checks
// its webhooks (hook.go). docs/platforms/woocommerce.md has the facts and
// their sources.
package woocommerce
