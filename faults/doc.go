// Package faults is the fault-injection harness for synclayer's promise
// "nothing lost, nothing doubled, nobody resubscribed".
//
// It builds the real binary, runs it as a child process against a Brevo
// simulator served from this process, and drives signed Shopify and custom
// webhooks generated from a model (model.go): creates, updates with
// increasing updated_at, redeliveries, reordered deliveries, opt-outs, opt-ins
// from the consent owner, and opt-in claims from a source that does not own
// consent. While it does, it kills the server with SIGKILL, restarts the
// database, takes Brevo down (dropped connections, 500s, timeouts) and
// rate-limits it to a trickle.
//
// The model only records what acknowledged (2xx) webhooks imply. A send the
// kill interrupted may or may not have been applied, so it is retried with
// the same webhook id, as a platform would, until it is acknowledged; the
// final state is then fully determined. At the end Compare (check.go) holds
// the simulator's contacts and every contact write it received against the
// model.
//
// TestFaults runs a short mode by default, small enough for CI, and a long
// mode with SYNCLAYER_FAULTS=long (see faults_test.go).
package faults
