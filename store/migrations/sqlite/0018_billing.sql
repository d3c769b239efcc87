-- +goose Up
-- Subscriptions and payments are a payment provider's records, newer-wins
-- by the provider's time of the change (updated_at). contact_id is ''
-- while no contact has the provider's customer.
CREATE TABLE subscriptions (
  id         TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL DEFAULT '',
  data       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX subscriptions_contact ON subscriptions (contact_id, id) WHERE contact_id <> '';
CREATE TABLE payments (
  id         TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL DEFAULT '',
  data       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX payments_contact ON payments (contact_id, id) WHERE contact_id <> '';
