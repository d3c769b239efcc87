-- +goose Up
-- Values the instances sharing the store make once (synclayer.SharedKeys):
-- a destination claims a key before it creates a record its platform
-- cannot find at once (a Pipedrive organization by name), then puts the
-- record's ID under it. expires_at is when the claim (value '') may be
-- taken over, or the value is forgotten, in microseconds since the
-- epoch; 0 keeps a value for good.
CREATE TABLE shared_keys (
  name          TEXT PRIMARY KEY,
  value         TEXT NOT NULL DEFAULT '',
  expires_at    BIGINT NOT NULL DEFAULT 0,
  updated_at    BIGINT NOT NULL
);
