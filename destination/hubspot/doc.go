// Package hubspot is the HubSpot destination: customer-sync to CRM v3
// contacts, keyed by email, through a private app's access token.
//
// Contacts are written with POST /crm/v3/objects/contacts/batch/upsert
// (idProperty email), one at a time in realtime and up to 100 a call in
// batch mode; an email change is a PATCH of the old address; a soft
// delete archives the contact, a hard one is a GDPR delete. Prepare reads
// GET /crm/v3/properties/contacts and creates the mapped properties that
// are missing.
//
// Marketing email consent is not a contact property in HubSpot: it is the
// communication preferences API. With options.subscription_id set, an
// opt-out unsubscribes the address from that subscription; an opt-in
// subscribes it only when options.legal_basis is set, only after reading
// the address's status (an address HubSpot reports opted out is never
// subscribed), and never after any unsubscribe. Without subscription_id
// no consent is written, and each plan says so.
//
// Requests wait when the X-HubSpot-RateLimit-* headers say the window is
// spent; a 429 is waited out for the interval the headers give
// (X-HubSpot-RateLimit-Interval-Milliseconds), then returned as
// synclayer.RetryAfter. A 401 is permanent and names access_token. See
// docs/platforms/hubspot.md for the facts and their sources.
package hubspot
