// Package secretbox seals small secrets for storage with AES-256-GCM
// (standard library only): a random 96-bit nonce per value, the value's
// name as additional data so a sealed value cannot be moved to another
// name, and a version and key ID prefix, so a value names the key it was
// sealed with and a later key can take over while the old one still
// opens what it sealed (decision 0020).
//
// The key is 32 bytes, given base64-encoded in SYNCLAYER_ENCRYPTION_KEY or
// in the file SYNCLAYER_ENCRYPTION_KEY_FILE names; create one with
//
//	openssl rand -base64 32
//
// Keys in SYNCLAYER_ENCRYPTION_KEY_PREVIOUS (comma-separated) still open
// what they sealed; each value is resealed with the current key at its
// next write.
//
// Tokens wraps a synclayer.TokenStore so what it stores is sealed.
package secretbox
