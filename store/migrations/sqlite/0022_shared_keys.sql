-- +goose Up
-- Values the instances sharing the store make once (synclayer.SharedKeys):
-- a destination claims a key before it creates a record its platform
-- cannot find at once (a Pipedrive organization by name), then puts the
-- record's ID under it. claimed_until is when an unfinished claim
-- (value '') may be taken over, in microseconds since the epoch.
CREATE TABLE shared_keys (
  name          TEXT PRIMARY KEY,
  value         TEXT NOT NULL DEFAULT '',
  claimed_until INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL
);
