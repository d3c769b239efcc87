// Package workflow runs rules of the form trigger → filter → actions.
//
// Rules are compiled once, when the config loads: each filter is a CEL
// expression checked against the variables its trigger has (an order
// rule sees order, contact and event; a ticket rule ticket, contact and
// event), and each message a Go text/template. Ingest fires triggers
// inside its transaction (Rules.Fire): every rule whose filter holds for
// the trigger, with the contact as it stands in that transaction, records
// one row per action, unique on rule, action and trigger key, and queues
// a job of skill workflows for it. A trigger delivered twice finds its
// rows and records nothing. Handler runs one row: it sends the Slack
// message, the signed webhook or the Brevo event, or changes the contact,
// and returns a done marker that the queue commits with the job, so a
// retried, recovered or replayed job never runs an action that finished.
package workflow
