-- +goose Up
-- One row per workflow action per trigger occurrence. The unique key is
-- what makes an action fire once however often its trigger is delivered;
-- the row's delivery is a job of skill workflows whose record key is id.
CREATE TABLE workflow_actions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  rule         TEXT NOT NULL,
  action       INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  trigger_type TEXT NOT NULL,
  trigger_key  TEXT NOT NULL,
  event_id     TEXT NOT NULL DEFAULT '',
  contact_id   TEXT NOT NULL DEFAULT '',
  snapshot     TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX workflow_actions_once ON workflow_actions (rule, action, trigger_key);
CREATE INDEX workflow_actions_contact ON workflow_actions (contact_id, id);
