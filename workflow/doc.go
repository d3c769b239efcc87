// Package workflow runs rules of the form trigger → filter → actions.
//
// Rules are compiled once, when the config loads: each filter is a CEL
// expression checked against the variables its trigger has (an order
// rule sees order, contact and event; a ticket rule ticket, contact and
// event), and each message a Go text/template. Ingest fires triggers
// inside its transaction (Rules.Fire): every rule whose filter holds for
// the trigger, with the contact as it stands in that transaction, records
// one row per action, unique on rule, action and trigger key, and queues
// jobs of skill workflows for it: one for a Slack, webhook or add_tag
// action, and one for each destination the rule names for a contact
// action (the event, set_attribute, the lists), each in its
// destination's queue. A trigger delivered twice finds its rows and
// records nothing. Handler runs one job: it sends the Slack message, the
// signed webhook or the destination's event, or changes the contact, and
// returns a done marker, keyed by the job (JobKey), that the queue
// commits with it, so a retried, recovered or replayed job never runs an
// action that finished, and a destination's retry never repeats what
// another destination's job did.
package workflow
