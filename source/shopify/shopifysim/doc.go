// Package shopifysim is an in-memory simulator of the part of Shopify's
// Admin GraphQL API that synclayer calls: the two consent mutations,
// customerEmailMarketingConsentUpdate and customerSmsMarketingConsentUpdate,
// at POST /admin/api/<version>/graphql.json (under any prefix); the
// customers, orders and products connections and customersCount; bulk
// query operations (bulkOperationRunQuery, currentBulkOperation and the
// JSONL results at <prefix>/bulk-results/<id>.jsonl); and webhook
// subscriptions (webhookSubscriptions, webhookSubscriptionCreate and
// webhookSubscriptionUpdate).
//
// It behaves as Shopify documents it: the X-Shopify-Access-Token header
// (401 with Shopify's body when it is missing or wrong), the payload shape
// (data.<mutation>.customer and userErrors {field, message, code}), only
// SUBSCRIBED, UNSUBSCRIBED and PENDING as input states, null
// smsMarketingConsent for a customer without a phone number, the
// extensions.cost of every answer, and the cost-based leaky bucket, which
// answers THROTTLED when it is empty. Where Shopify does not document a
// message (a customer it does not have, SMS consent for a customer with
// no phone number), the simulator's text is its own; docs/platforms/shopify.md
// lists which facts are documented and which are assumed.
//
// The consent mutations are recognized by the first field of the
// operation and their input read from variables.input, and answer every
// field the client may select. The other operations are parsed (query.go):
// their answers hold only the fields selected, and their cost is computed
// from the selection. An operation it does not know gets a GraphQL error.
// A test checks the requests against the schema with Options.Validate.
//
// Tests mount it with httptest.NewServer and can inject outages, latency,
// HTTP errors (FailNext: 429, 402, 423, 5xx, ...) and an empty bucket
// (SetAvailable). It imports nothing from testing, so the synclayer binary
// can serve it too.
package shopifysim
