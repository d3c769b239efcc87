// Package synclayer holds the domain of a customer data sync layer: the
// canonical records, the events that change them, the delivery jobs they
// cause, and the interfaces the outside world is reached through.
//
// Data flows one way:
//
//	sources → ingest → store → skills → queue → destinations
//
// A Source (source/shopify, source/woocommerce, source/custom) verifies a
// webhook over its raw body and normalizes it into Events. Ingest writes the
// event, merges it into the canonical Contact under the newer-wins and
// consent rules of Merge, and enqueues a delivery Job, all in one
// transaction, before the webhook is acknowledged. The queue claims jobs
// with a lease, and a skill (skill/) turns the contact's current state into
// destination calls (destination/brevo). Because a job means "bring record X
// up to date" and reads the state when it runs, jobs coalesce and ordering
// between events stops mattering.
//
// This package imports only the standard library. Storage lives in store/,
// and cmd/synclayer is the only package that knows every other one.
package synclayer
