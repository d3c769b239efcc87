// Package faults is the fault-injection harness for synclayer's promise
// "nothing lost, nothing doubled, nobody resubscribed".
//
// It builds the real binary, runs it as a child process against Brevo and
// Shopify Admin API simulators served from this process, and drives signed
// Shopify and custom webhooks generated from a model (model.go), and
// Brevo's own (below): creates, updates with increasing updated_at,
// redeliveries, reordered deliveries, opt-outs, opt-ins from the consent
// owner, and opt-in claims from a source that does not own consent. While
// it does, it kills the server with SIGKILL, restarts the database, takes
// Brevo down (dropped connections, 500s, timeouts) and rate-limits it to a
// trickle.
//
// The model only records what acknowledged (2xx) webhooks imply. A send the
// kill interrupted may or may not have been applied, so it is retried with
// the same webhook id, as a platform would, until it is acknowledged; the
// final state is then fully determined. At the end Compare (check.go) holds
// the simulator's contacts and every contact write it received against the
// model.
//
// The server also runs order-events, cart-events (abandon_after 2s) and a
// workflow rule: an order of 500 or more posts to a Slack receiver and
// sends a signed webhook to a receiver that deduplicates by webhook-id,
// both served from this process (receiver.go). The shop side (shop.go,
// shop_run.go) mixes high- and low-value orders, redelivered and sent
// again under other webhook ids, into the schedule, and runs one script
// per cart: left behind, converted by completed_at or by an order with
// its checkout_token (before or after the cart), changed in the wait or
// after an abandonment, redelivered, said abandoned by the platform, from
// Shopify or the custom source, by contacts with and without consent.
// Cart waits span the random kills; an aimed kill lands while Slack's,
// the webhook's and Brevo's answers are held, with another cart's wait
// running; a cart changes while its event is in flight; one order and one
// cart are delivered several times at once; done jobs are dead-lettered
// and replayed with `synclayer dlq retry`, which must send nothing. CompareShop (shop_check.go) then wants one Slack message and
// one webhook per high-value order, none for the others, and one
// cart_abandoned per abandonment, none for a converted cart or a contact
// without consent. Slack and Brevo events take no idempotency key, so a
// repeat is allowed only when a kill or PostgreSQL restart the harness
// made fell between the two arrivals; those are reported as in-doubt
// repeats, and any other repeat or loss fails the run. A conversion
// acknowledged after the wait could have ended allows one event more,
// never two.
//
// Consent also flows back (brevo_side.go, admin.go, writeback.go). For a
// share of the contacts Brevo holds, "Brevo" blocklists the contact and
// sends its marketing webhook to POST /webhooks/brevo with the bearer
// token: unsubscribed, and some hard_bounced and spam, retried with the
// same payload until acknowledged, a few redelivered, and one sent just
// before each kill and PostgreSQL restart. The model records each as an
// opt-out of source brevo at its ts_event, which is dated after one of
// its contact's events, so that the contact's later Shopify updates
// still saying subscribed are stale and must lift nothing, while a newer
// owner opt-in does. Brevo's own block may then stay (synclayer lifts
// only a block it made), and Compare allows that. The server reconciles
// nothing (reconcile_interval: off), since a reconciliation dates a block
// at Brevo's modifiedAt, today, and the model's statements are in its
// past.
//
// The Shopify source has the Admin API configured against a shopifysim
// served from this process, holding every customer of the model, behind
// a recorder of each consent mutation and its answer. It goes down with
// Brevo (drop, 500, timeout), answers 429s and 5xx now and then, and its
// cost bucket is emptied (THROTTLED). Every opt-out that did not come
// from Shopify (Brevo's, the custom source's) is written back by the
// consent-writeback@shopify job; after each applied write the harness
// sends the echo Shopify would, customers/update with
// email_marketing_consent unsubscribed at the written consentUpdatedAt
// (and no other field, so the echo dates no name or tag in the model's
// past). An aimed kill lands while Shopify's answer to an applied write
// is held; its echo is then sent once more in a quiet queue, where any
// Brevo write or Admin call would be its own; and done write-back jobs
// are replayed from the dead-letter queue. CompareWriteBack (writeback_check.go) then wants every contact
// whose final email opt-out came from elsewhere and who is a Shopify
// customer UNSUBSCRIBED in Shopify at that statement's time; no call
// setting any other state (synclayer never subscribes anyone in the
// store); each statement (customer, consentUpdatedAt) written once, a
// repeat allowed only with a kill or restart between the write and its
// commit (an in-doubt repeat); no SMS write, no write of Shopify's own
// opt-out; no echo applied, and no replayed job writing; and the store's
// canonical email consent equal to the model's, since Brevo cannot show
// a wrong one behind a block it made itself.
//
// TestFaults runs a short mode by default, small enough for CI, and a long
// mode with SYNCLAYER_FAULTS=long (see faults_test.go).
package faults
