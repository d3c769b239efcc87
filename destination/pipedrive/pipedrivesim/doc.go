// Package pipedrivesim is an in-memory Pipedrive for tests and for
// synclayer serve without an API token: the v2 persons API (search by
// email, get, create, update, delete) and person fields, organizations,
// deals and deal fields, and activities, and v1 notes, users and
// webhooks (crm.go, deals.go, activities.go, webhooks.go), all behind
// Pipedrive's x-api-token header auth, its {"success": false, "error":
// ...} error bodies, its 2-second rate-limit window reported in the
// x-ratelimit-limit, -remaining and -reset headers (429 beyond), the
// daily POST/PUT/PATCH budget in x-daily-requests-left, and simkit's
// outages. Persons' marketing_status follows the rule the API reference
// states: a change that is not allowed leaves the status unchanged, and
// an unsubscribed person is never subscribed again through the API.
// Changes "made in Pipedrive" (ChangePersonInPipedrive,
// DeletePersonInPipedrive) are sent as v2 webhooks with the webhook's
// HTTP basic auth. Options.SearchLag hides a new organization or person
// from search for a while, as Pipedrive's search index does.
package pipedrivesim
