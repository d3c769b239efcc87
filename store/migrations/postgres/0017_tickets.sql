-- +goose Up
-- Tickets are the help desks' tickets, newer-wins by the platform's own
-- update time (updated_at). contact_id is '' while nobody matches the
-- requester; the index finds a contact's tickets when its ticket fields
-- are recomputed.
CREATE TABLE tickets (
  id         TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL DEFAULT '',
  data       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX tickets_contact ON tickets (contact_id, id) WHERE contact_id <> '';
