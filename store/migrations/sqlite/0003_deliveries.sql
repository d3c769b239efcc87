-- +goose Up
CREATE TABLE deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id      INTEGER NOT NULL,
  skill       TEXT NOT NULL,
  destination TEXT NOT NULL,
  record_key  TEXT NOT NULL,
  outcome     TEXT NOT NULL,
  at          INTEGER NOT NULL,
  latency_us  INTEGER NOT NULL,
  reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_window ON deliveries (at, skill, outcome, latency_us);
CREATE INDEX deliveries_skill ON deliveries (skill, outcome, at, latency_us);
