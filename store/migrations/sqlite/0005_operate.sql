-- +goose Up
-- Delivery attempts of the skills that notifications watch are marked in
-- the transaction that records them, and unmarked by the notifier in the
-- transaction that makes their notifications: an outbox without a gap.
ALTER TABLE deliveries ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_notify ON deliveries (id) WHERE notify = 1;

-- One row per notification; the id is the webhook-id, so making the same
-- notification twice stores it once. Its delivery is a job of skill notify.
CREATE TABLE notifications (
  id         TEXT PRIMARY KEY,
  channel    TEXT NOT NULL,
  type       TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX notifications_created ON notifications (created_at);

CREATE TABLE incidents (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  skill     TEXT NOT NULL,
  kind      TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  last_at   INTEGER NOT NULL,
  failures  INTEGER NOT NULL,
  closed_at INTEGER NOT NULL DEFAULT 0
);
-- Two instances cannot both open an incident, and so both alert.
CREATE UNIQUE INDEX incidents_one_open ON incidents (skill, kind) WHERE closed_at = 0;

CREATE TABLE config_versions (
  version    INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  origin     TEXT NOT NULL,
  note       TEXT NOT NULL DEFAULT '',
  yaml       TEXT NOT NULL
);
CREATE INDEX config_versions_origin ON config_versions (origin, version);
