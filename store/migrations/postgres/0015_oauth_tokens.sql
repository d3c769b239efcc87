-- +goose Up
-- Credentials a destination obtains while it runs (an OAuth app's
-- refresh and access tokens), one row per destination. value is sealed
-- by the program (secretbox: AES-256-GCM, key ID prefix) before it gets
-- here; the store never sees a token in plaintext.
CREATE TABLE oauth_tokens (
  destination TEXT PRIMARY KEY,
  value       BYTEA NOT NULL,
  updated_at  BIGINT NOT NULL
);
