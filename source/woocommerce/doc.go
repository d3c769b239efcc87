// Package woocommerce verifies and normalizes WooCommerce customer
// webhooks.
//
// X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body, keyed
// with the webhook's secret. The body of customer.created and
// customer.updated is the REST API (v3) customer resource; customer.deleted
// carries only {"id": N}.
//
// WooCommerce's delivery ID is a hash of the webhook ID and the current
// second, so two deliveries in one second share it. Events are
// deduplicated on topic, customer id and date_modified_gmt instead, and
// deletes (which carry no date) on the delivery ID and customer id.
//
// When a webhook is saved, WooCommerce pings it with an unsigned form body
// "webhook_id=N" and no X-WC-* headers, and refuses to save unless the
// answer is 200; Parse returns no events and no error for it.
package woocommerce
