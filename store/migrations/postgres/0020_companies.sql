-- +goose Up
-- Companies are the organizations contacts buy for, one per CompanyKey
-- (the name folded), so every source's spelling of a company is one
-- record. company_contacts links each contact to its one company; the
-- index lists a company's contacts.
CREATE TABLE companies (
  id         TEXT PRIMARY KEY,
  name_key   TEXT NOT NULL UNIQUE,
  data       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE company_contacts (
  contact_id TEXT PRIMARY KEY,
  company_id TEXT NOT NULL,
  linked_at  BIGINT NOT NULL
);
CREATE INDEX company_contacts_company ON company_contacts (company_id, linked_at);
