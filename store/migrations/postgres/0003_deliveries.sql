-- +goose Up
CREATE TABLE deliveries (
  id          BIGSERIAL PRIMARY KEY,
  job_id      BIGINT NOT NULL,
  skill       TEXT NOT NULL,
  destination TEXT NOT NULL,
  record_key  TEXT NOT NULL,
  outcome     TEXT NOT NULL,
  at          BIGINT NOT NULL,
  latency_us  BIGINT NOT NULL,
  reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_window ON deliveries (at, skill, outcome, latency_us);
CREATE INDEX deliveries_skill ON deliveries (skill, outcome, at, latency_us);
