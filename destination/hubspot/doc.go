// Package hubspot is the HubSpot destination: customer-sync to CRM v3
// contacts, keyed by email, through a private app's access token or an
// OAuth app's tokens.
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
// synclayer.RetryAfter. A 401 is permanent and names access_token.
//
// With the oauth block (settings_oauth.go, oauth.go), access tokens come
// from POST /oauth/v3/token (grant_type refresh_token) and are refreshed
// a tenth of their lifetime (at most 5 minutes) before they expire; one
// refresh serves every concurrent request; a 401 forces one refresh and
// one retry. The current refresh token, access token and expiry are kept
// through synclayer.DestinationEnv.Tokens, which the program seals
// (AES-256-GCM), so a restart reuses them and a rotated refresh token is
// never lost; the configured refresh_token only seeds the grant. A
// refresh HubSpot refuses (400 BAD_REFRESH_TOKEN, invalid_grant, or bad
// client credentials) is permanent, says to reconnect the app, and is not
// sent again.
//
// lifecycleStage and owner are written to lifecyclestage and
// hubspot_owner_id; a stage moved back is cleared first (lifecycle.go).
// With a webhook block the destination takes the app's webhooks at
// /webhooks/<name>, verified with signature v3 over the public URL
// (webhook.go), and reads the contacts they name by record ID
// (inbound.go); a reconciliation searches the contacts changed since a
// cursor for the stage and owner (reconcile.go, search.go). See
// docs/platforms/hubspot.md for the facts and their sources.
package hubspot
