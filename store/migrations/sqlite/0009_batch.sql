-- +goose Up
-- Where an interrupted backfill or resync resumes.
CREATE TABLE batch_checkpoints (
  name       TEXT PRIMARY KEY,
  position   INTEGER NOT NULL,
  detail     TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);

-- Batch calls a destination accepted whose outcome is not recorded yet
-- (a contact import's process runs in the background), with the jobs they
-- carry: the jobs stay running until the import completes or fails.
CREATE TABLE batch_imports (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  skill      TEXT NOT NULL,
  queue      TEXT NOT NULL,
  process_id TEXT NOT NULL,
  summary    TEXT NOT NULL,
  items      INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  check_at   INTEGER NOT NULL,
  checks     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX batch_imports_skill ON batch_imports (skill, id);

CREATE TABLE batch_import_items (
  import_id  INTEGER NOT NULL,
  job_id     INTEGER NOT NULL,
  state_key  TEXT NOT NULL DEFAULT '',
  remote_id  TEXT NOT NULL DEFAULT '',
  state      TEXT NOT NULL DEFAULT '',
  trace_key  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (import_id, job_id)
);
