-- +goose Up
-- The servers sharing this database, each refreshed on its config poll. A
-- server started with a config file that differs from the fleet's reads
-- this to learn whether others run, and then leaves their config alone.
CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  addr TEXT NOT NULL,
  config_version INTEGER NOT NULL,
  started_at BIGINT NOT NULL,
  seen_at BIGINT NOT NULL
);
