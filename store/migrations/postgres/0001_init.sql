-- +goose Up
CREATE TABLE contacts (
  id         TEXT PRIMARY KEY,
  email      TEXT NOT NULL DEFAULT '',
  phone      TEXT NOT NULL DEFAULT '',
  deleted    BIGINT NOT NULL DEFAULT 0,
  data       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX contacts_email ON contacts (email) WHERE email <> '';
CREATE INDEX contacts_phone ON contacts (phone) WHERE phone <> '';

CREATE TABLE contact_source_ids (
  source     TEXT NOT NULL,
  source_id  TEXT NOT NULL,
  contact_id TEXT NOT NULL REFERENCES contacts (id),
  PRIMARY KEY (source, source_id)
);
CREATE INDEX contact_source_ids_contact ON contact_source_ids (contact_id);

CREATE TABLE events (
  id          TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  dedupe_key  TEXT NOT NULL,
  topic       TEXT NOT NULL,
  type        TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  status      TEXT NOT NULL DEFAULT '',
  reason      TEXT NOT NULL DEFAULT '',
  contact_id  TEXT NOT NULL DEFAULT '',
  customer    TEXT NOT NULL DEFAULT '',
  payload     BYTEA,
  UNIQUE (source, dedupe_key)
);
CREATE INDEX events_status ON events (status, received_at);

CREATE TABLE trace (
  id         BIGSERIAL PRIMARY KEY,
  contact_id TEXT NOT NULL,
  at         BIGINT NOT NULL,
  kind       TEXT NOT NULL,
  event_id   TEXT NOT NULL DEFAULT '',
  summary    TEXT NOT NULL,
  detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX trace_contact ON trace (contact_id, id);

CREATE TABLE jobs (
  id            BIGSERIAL PRIMARY KEY,
  skill         TEXT NOT NULL,
  destination   TEXT NOT NULL,
  record_key    TEXT NOT NULL,
  state         TEXT NOT NULL,
  attempts      BIGINT NOT NULL DEFAULT 0,
  run_at        BIGINT NOT NULL,
  lease_until   BIGINT NOT NULL DEFAULT 0,
  last_error    TEXT NOT NULL DEFAULT '',
  first_seen_at BIGINT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_one_pending ON jobs (skill, record_key) WHERE state = 'pending';
CREATE INDEX jobs_due ON jobs (skill, state, run_at);
CREATE INDEX jobs_record ON jobs (skill, record_key, state);
-- The claim's "no running job for this record" check reads only this.
CREATE INDEX jobs_running ON jobs (skill, record_key) WHERE state = 'running';

CREATE TABLE sync_state (
  record_key  TEXT NOT NULL,
  destination TEXT NOT NULL,
  remote_id   TEXT NOT NULL DEFAULT '',
  state       TEXT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (record_key, destination)
);

CREATE TABLE rejections (
  id          BIGSERIAL PRIMARY KEY,
  source      TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  status      BIGINT NOT NULL,
  code        TEXT NOT NULL,
  message     TEXT NOT NULL,
  headers     TEXT NOT NULL,
  body        BYTEA
);
