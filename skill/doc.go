// Package skill holds what every destination's skills share. A skill's
// platform side lives in the destination's package (Brevo's customer-sync
// in destination/brevo); the runner here drives it through the root
// package's capability interfaces (synclayer.ContactSync), so the record
// reads, the read-back after an unanswered attempt, the intent recorded
// before a call, the no-op skip, the sync state and the trace are written
// once for every destination.
package skill
