// Package klaviyo is the Klaviyo destination: a thin client for the parts
// of Klaviyo's JSON:API (https://a.klaviyo.com/api) that synclayer uses,
// its config section (Type), and its side of customer-sync (ContactSync,
// also a synclayer.ContactBatcher through bulk profile import jobs, which
// carry profiles only: never consent, a list, a clear or an email change)
// and of the commerce skills: order-events (OrderSync: Placed Order,
// Ordered Product, Refunded Order and Cancelled Order events, each sent
// once by unique_id), product-catalog (ProductSync: catalog items,
// variants and categories) and cart-events (CartSync: one Abandoned
// Checkout event per abandonment). Events never carry consent. The
// Destination is also a synclayer.ActionDestination for workflow rules'
// contact actions (actions.go): an event, profile fields by Klaviyo ID,
// and list membership, none of which changes consent. And it is a
// synclayer.Reconciler (reconcile.go): every reconcile_interval it reads
// the opt-outs made inside Klaviyo (unsubscribes, spam complaints,
// bounces, suppressions), for which Klaviyo sends no webhook synclayer
// can rely on, and returns them as email opt-outs at Klaviyo's own time.
//
// Every request carries the private key as "Authorization: Klaviyo-API-Key
// <key>" and a pinned revision header (Revision), so a Klaviyo release
// cannot change the shapes the client reads.
//
// Failures are classified for the queue: network errors and 5xx come back
// as plain (retryable) errors, 429 as synclayer.RetryAfter with Klaviyo's
// Retry-After, and every other 4xx as synclayer.Permanent. All of them wrap
// an *APIError when Klaviyo answered; its text holds Klaviyo's error codes
// and details, never the key or a request body.
//
// The client throttles itself per endpoint bucket: the steady window from
// the RateLimit-* headers of each answer, and the burst window Klaviyo
// documents for the endpoint, so traffic below the limits meets no 429.
//
// Consent is the reason this package is careful. Klaviyo's subscribe job
// lifts UNSUBSCRIBE, SPAM_COMPLAINT and USER_SUPPRESSED suppressions, so a
// subscribe sent at the wrong time resubscribes someone who opted out
// inside Klaviyo. ContactSync subscribes only a Marketable contact, and
// only after reading that Klaviyo holds no opt-out or suppression it did
// not get from synclayer. See docs/platforms/klaviyo.md.
//
// klaviyosim is an in-memory Klaviyo that the program mounts when no API
// key is configured; klaviyospec validates requests against Klaviyo's
// OpenAPI spec in tests.
package klaviyo
