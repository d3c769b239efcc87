// Package shopify verifies and normalizes Shopify customer webhooks.
//
// A delivery is signed with the app's client secret: X-Shopify-Hmac-Sha256
// is the base64 HMAC-SHA256 of the raw body. The body is the REST customer
// resource, whose shape depends on X-Shopify-API-Version:
//
//   - before 2022-04, email consent is accepts_marketing (a bool);
//   - from 2022-04, email_marketing_consent and sms_marketing_consent;
//   - from 2025-01, customer payloads carry no tags and no consent: those
//     arrive on customer.tags_added/removed and on the two consent topics,
//     so they are left as they are rather than cleared.
//
// Events are deduplicated on shop domain, topic and X-Shopify-Webhook-Id
// (the per-delivery key), falling back to X-Shopify-Event-Id.
//
// A source block with an admin: block (shop, access_token, api_version)
// opens an AdminSource, which also writes opt-outs made elsewhere back to
// the shop through the Admin GraphQL API (synclayer.ConsentWriter), so
// the shop's own mails stop too: customerEmailMarketingConsentUpdate and
// customerSmsMarketingConsentUpdate, paced by Shopify's query cost bucket.
// With the same block the source lists customers, orders and products
// (synclayer.Lister: backfill --from, the daily reconciliation), through
// one bulk operation for a full listing of a large shop, and registers
// its webhooks (synclayer.HookRegistrar). Listed records are rewritten
// into the webhook's REST payload and parsed by the webhook's parsers, so
// each is the event its webhook would be.
// shopifysim simulates those calls; docs/platforms/shopify.md records the
// Shopify facts the client relies on.
package shopify
