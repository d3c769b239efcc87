// Package hubspotsim is an in-memory HubSpot for tests and for synclayer's
// built-in simulator: CRM v3 contacts (batch upsert, read, update,
// archive, GDPR delete), contact properties, and the communication
// preferences v3 subscriptions API, with a private app's Bearer token,
// HubSpot's error bodies ({status, message, correlationId, category}),
// the X-HubSpot-RateLimit-* headers and 429s over a small configurable
// budget, and outages (simkit). An email unsubscribed from a
// subscription, or opted out of all email, is refused a subscribe, as
// HubSpot refuses to resubscribe through the API. The lifecycle stage
// moves forward only through the API (a backwards write changes nothing;
// "" clears it). The CRM search (POST /crm/v3/objects/contacts/search)
// filters and sorts on lastmodifieddate, pages by offset and refuses
// pages past 10,000 results. With SetWebhook, SetProperty and
// DeleteContact stand for a user in HubSpot's interface and deliver the
// app's webhook at once, signed with signature v3 (SignV3); changes made
// through the API send none.
package hubspotsim
