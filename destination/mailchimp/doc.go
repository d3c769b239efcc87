// Package mailchimp is a thin client for the parts of the Mailchimp
// Marketing API 3.0 that synclayer delivers to (audience members, their
// tags, and merge fields; an e-commerce store's orders, products and
// carts), the "mailchimp" destination type, and its side of
// customer-sync, order-events, product-catalog and cart-events.
//
// Mailchimp's danger is consent: a PUT with status "subscribed" resubscribes
// a member whom an admin or an integration unsubscribed. So the client
// sends status only when the plan asks for it, and the plan asks only for
// an explicit opt-in, never "subscribed" to a member Mailchimp holds as
// unsubscribed or cleaned (see contact_plan.go). The e-commerce API has a
// second door: an order's or cart's customer with opt_in_status true
// subscribes a new or transactional address, so the e-commerce skills
// always send false and never update it (commerce.go).
//
// The client classifies failures for the queue: network errors, 408 and
// 5xx come back as plain (retryable) errors, 429 as synclayer.RetryAfter
// once its own retries are spent, and every other 4xx as
// synclayer.Permanent. All of them wrap an *APIError when Mailchimp
// answered. It never holds more than MaxConnections requests in flight
// per API key, Mailchimp's limit of simultaneous connections.
//
// Customer-sync also runs in batches (contact_batch.go) through
// Mailchimp's Batch Operations: one POST /batches of member PUTs, each
// with status_if_new "transactional" and no status, polled with
// GET /batches/{batch_id}, whose results archive names the operations
// that failed. Only a contact whose plan is such a PUT travels that way;
// anything touching consent goes realtime.
//
// Cart-events mirrors carts (cart_events.go, synclayer.CartMirror):
// Mailchimp's own abandoned-cart automation decides when to email, from
// the carts its store holds, so each cart is created and updated there as
// it changes and deleted once it converts or empties; synclayer's
// judgement of an abandonment sends Mailchimp nothing.
//
// Workflow rules' contact actions (actions.go, synclayer.ActionDestination)
// act on the audience of the destination setting audience_id: a member
// event, merge fields by PATCH, and tags as the member's "lists". None
// sends a status, and a member not created yet is a RetryAfter.
//
// Changes made inside Mailchimp come back by its audience webhooks
// (inbound.go, synclayer.InboundDestination): an unsubscribe or a cleaned
// address becomes an email opt-out of the destination's name, a signup to
// a synced audience an opt-in, a profile edit the mapped merge fields.
// RegisterWebhook (webhook.go) creates or updates synclayer's webhook on
// each synced audience, triggered by the member and admins but not the
// API, so synclayer's own writes never come back. Mailchimp signs nothing:
// a secret in the webhook URL's query authenticates each delivery, and
// the server passes that query to Parse in the QueryHeader header.
//
// The mailchimpsim subpackage is an in-memory Mailchimp simulator, and
// mailchimpspec validates requests against the vendored OpenAPI spec in
// tests.
package mailchimp
