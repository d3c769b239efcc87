// Package normalize turns the values platforms send into the canonical forms
// the store keeps.
//
// Email, Phone and Time validate one value each; ingest calls them before a
// change reaches the store. The JSON converters (Object, Text, Integer,
// Decimal, Tags, Date, ID) are for sources: each reads one raw JSON value of
// a webhook payload and returns the canonical JSON for a CustomerChange
// field, or an EINVALID *synclayer.Error naming the field it was given.
// None of them goes through float64, so money and 64-bit IDs stay exact.
package normalize
