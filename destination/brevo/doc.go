// Package brevo is a thin client for the parts of the Brevo API v3 that
// synclayer delivers to: contacts and contact attributes.
//
// It is written against net/http rather than Brevo's Go SDK because the SDK
// always sends emailBlacklisted:false, which resubscribes people who opted
// out. Here the blacklist fields are pointers and are sent only when set.
//
// The client classifies failures for the queue: network errors, 5xx and 425
// come back as plain (retryable) errors, 429 as synclayer.RetryAfter with
// the window reset from x-sib-ratelimit-reset, and every other 4xx as
// synclayer.Permanent. All of them wrap an *APIError when Brevo answered.
//
// It also throttles itself per rate-limit bucket from the x-sib-ratelimit-*
// headers, so traffic below the account's limit does not meet 429s even
// with many concurrent callers.
//
// Brevo's marketing webhooks come back in through the destination's
// Inbound source (inbound.go): unsubscribes, hard bounces and spam
// complaints become opt-outs, additions to a synced list opt-ins, and
// contact edits made in Brevo canonical field changes. RegisterWebhook
// creates the webhook, with a bearer token, in the account
// (docs/brevo-webhooks.md has the payloads and where each fact comes from).
// Reconcile (reconcile.go) reads the contacts Brevo changed since a cursor
// and reports the blocklisted ones as opt-outs, for the webhooks that were
// lost, taking at most half of the contacts rate limit.
//
// The brevosim subpackage is an in-memory Brevo simulator, and brevospec
// validates requests against Brevo's OpenAPI spec in tests.
package brevo
