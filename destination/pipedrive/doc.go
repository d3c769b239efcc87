// Package pipedrive is the Pipedrive destination: customer-sync to
// persons through the v2 API, authenticated with a user's personal API
// token in the x-api-token header.
//
// A contact is found by email (GET /api/v2/persons/search, exact match)
// and created (POST /api/v2/persons) or updated (PATCH
// /api/v2/persons/{id}); once its ID is in the sync state, a change is
// one PATCH. Mapped fields go to the person's name (first_name and
// last_name together), primary email and phone, owner_id, and custom
// person fields, found by name or key and created at start when missing
// (GET and POST /api/v2/personFields). Consent is the person's
// marketing_status: an opt-out is written as unsubscribed, an explicit
// opt-in as subscribed only when options.marketing_status allows it, and
// never over unsubscribed (plan.go).
//
// The client paces itself by the x-ratelimit-* headers of Pipedrive's
// 2-second window, waits out a 429, returns the daily budget's 429
// (x-daily-requests-left: 0) as synclayer.Throttled until midnight UTC,
// and reports both for the dashboard (ratelimit.go). Without a token the
// destination runs pipedrivesim, mounted on the server.
//
// The contact's company is an organization, found by name or created,
// that the person is linked to (organizations.go). Because Pipedrive's
// search lags a create, an organization or person is created under a
// claim in the store's synclayer.SharedKeys, and its ID stored there, so
// instances sharing the store make one, not one each (shared.go). order-events makes
// one v2 deal per order, keyed by the synclayer_order_id deal field
// (deals.go). Workflow create_task and create_note are a task activity
// and a v1 note on the person, found again by the key they carry
// (actions.go); Owners are the active users (owners.go). With a webhook
// block, Pipedrive's v2 person webhooks, checked by their basic-auth
// credentials, bring back owner changes and Campaigns unsubscribes
// (inbound.go), and the webhook is registered at start (webhook.go).
// docs/platforms/pipedrive.md has the facts and their sources.
package pipedrive
