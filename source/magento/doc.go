// Package magento is the Magento 2 / Adobe Commerce source. It reads
// records two ways, with one set of parsers (customer.go, order.go,
// product.go):
//
//   - Adobe Commerce webhooks (the Adobe Commerce Webhooks module, PaaS or
//     cloud service): Parse verifies x-adobe-commerce-webhook-signature, an
//     RSA-SHA256 signature made with the merchant's key pair, against the
//     public key configured here (webhook.go), and reads the observer
//     event's customer, order or product. The hooks themselves are made
//     through the webhooks module's REST API (/V1/webhooks/list and
//     /V1/webhooks/subscribe): the source is a HookRegistrar (hook.go)
//     for `synclayer sources register` and `check`.
//   - the REST API (client.go, list.go): a Lister over GET
//     /rest/<store>/V1/customers/search, /orders, /products and
//     /carts/search (quotes, for cart-events: cart.go), and a Poller,
//     because Magento Open Source has no webhooks at all. Requests carry an
//     integration's access token as a bearer token, or, since 2.4.4 turned
//     that off by default, are signed with OAuth 1.0a HMAC-SHA256
//     (oauth.go).
//
// A record read both ways is one event: the dedupe key is
// magento:<kind>:<id>:<updated_at> on either path. Facts and their
// sources: docs/platforms/magento.md.
package magento
