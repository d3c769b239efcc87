// Package klaviyosim is an in-memory Klaviyo API: profiles with
// properties, email marketing consent and suppressions, lists and their
// members, subscribe, unsubscribe and data-privacy deletion jobs, profile
// bulk import jobs with their import errors, metric events (deduplicated
// by unique_id per profile and metric) and their reads (get_events,
// get_metrics), profiles listed by suppression time, and the catalog's
// items, variants and categories. It is an http.Handler that follows Klaviyo's
// documentation and OpenAPI spec (docs/platforms/klaviyo.md): the
// Klaviyo-API-Key and revision headers are required, errors are JSON:API
// error documents, and each endpoint
// bucket has burst and steady windows that answer 429 with Retry-After.
//
// The program mounts it when no API key is configured, and tests use it
// over httptest: it records every call, can be put in an outage, and lets
// a test act inside Klaviyo as a person or Klaviyo would
// (UnsubscribeInKlaviyo, MarkAsSpam, Suppress): each records the metric
// event Klaviyo records for it and moves the profile's updated. Every
// answer's Date header is the simulator's clock. Subscription and
// deletion jobs are applied before the 202 answer; a profile bulk import
// job runs on the first read of it after Options.BulkJobDelay (BulkJobs).
package klaviyosim
