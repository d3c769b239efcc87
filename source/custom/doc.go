// Package custom receives customer events from any system that signs its
// webhooks the Standard Webhooks way (standardwebhooks.com).
//
// A delivery carries webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature, a space-separated list of "v1,<base64>" entries, each an
// HMAC-SHA256 of "id.timestamp.body" keyed with the secret ("whsec_" +
// base64). A delivery older or newer than the tolerance is refused, so a
// captured request cannot be replayed later. webhook-id is stable across
// retries and is the dedupe key.
//
// The body is the customer-sync event:
//
//	{"event": "customer_updated", "timestamp": "2024-10-02T14:24:09Z",
//	 "data": {"id": "cust_12345", "email": "jane@example.com", "tags": ["vip"],
//	          "emailConsent": "subscribed", "attributes": {"loyaltyPoints": 120}}}
//
// data uses the canonical field names; a partial update lists the changed
// fields as {"changes": {"phone": {"old": null, "new": "+14155552671"}}}.
//
// Order and product events use the same envelope (commerce.go):
// order_created, order_updated and order_cancelled carry {id, email or
// customer_id, status, currency, total, items: [{product_id, variant_id,
// sku, price, quantity}], created_at, updated_at}; order_refunded carries
// {id, order_id, amount, created_at}; product_created, product_updated and
// product_deleted carry {id, sku, name, price, stock, url, image_url,
// categories, parent_id, updated_at}. Amounts are decimals, as numbers or
// strings, and stay exact; unknown keys are refused, so a misspelt amount
// is reported rather than lost.
// ParseEvent reads a body without a signature, for manual triggers.
package custom
