-- +goose Up
-- Credentials a destination obtains while it runs (an OAuth app's
-- refresh and access tokens), one row per destination. value is sealed
-- by the program (secretbox: AES-256-GCM, key ID prefix) before it gets
-- here; the store never sees a token in plaintext.
CREATE TABLE oauth_tokens (
  destination TEXT PRIMARY KEY,
  value       BLOB NOT NULL,
  updated_at  INTEGER NOT NULL
);
