// Package brevosim is an in-memory simulator of the Brevo API v3 contact
// and e-commerce endpoints (orders, products, categories), behaving as
// Brevo documents them: 201 vs 204 upserts, silent dropping of unknown or
// mistyped attributes, SMS format checks, Brevo's {code, message} error
// bodies, the api-key header, and fixed-window rate limiting per bucket
// (contacts, orders, products, other) with x-sib-ratelimit-* headers on
// every response. It keeps webhooks (GET, POST, PUT, DELETE /webhooks) and
// can deliver marketing events to them (SendMarketing, Unsubscribe), so a
// test can have Brevo report an unsubscribe, or lose the report
// (UnsubscribeSilently). GET /contacts lists the contacts by modifiedSince,
// limit, offset and sort (of creation, as at Brevo), every write moves a
// contact's modifiedAt, and the Date header follows the simulator's
// clock, so a test can reconcile what the webhooks missed.
//
// Tests mount it with httptest.NewServer and can inject outages, latency and
// a request validator (see brevospec). The synclayer binary also serves it
// when no Brevo API key is configured, so it imports neither testing nor
// kin-openapi. It answers both at the root and under /v3.
package brevosim
