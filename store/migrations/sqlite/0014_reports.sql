-- +goose Up
-- Events stored with status failed are marked, in their ingest
-- transaction, for the notifier's sync_failed: the same outbox as
-- deliveries.notify (0005).
ALTER TABLE events ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_notify ON events (received_at) WHERE notify = 1;
-- A source's newest event, for the health report's source silence.
CREATE INDEX events_source_received ON events (source, received_at);

-- Things done once across instances: a record's sync_failed in an
-- incident (fail:...), a health report per period (report:...).
CREATE TABLE notification_keys (
  key        TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE INDEX notification_keys_created ON notification_keys (created_at);

-- Daily figures for the health report: tallies counted at ingest (merge,
-- opt_in, opt_out per source), and each closed day's delivery attempts
-- rolled up once (kind rolled marks the day), since attempts are kept
-- 8 days and a monthly report needs 31.
CREATE TABLE report_days (
  day    INTEGER NOT NULL,
  kind   TEXT NOT NULL,
  name   TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  n      INTEGER NOT NULL,
  PRIMARY KEY (day, kind, name, detail)
);
