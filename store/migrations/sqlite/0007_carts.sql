-- +goose Up
-- Carts wait for an order or for cart-events to call them abandoned.
-- converted is 0 until an order converts the cart, so a contact's order finds
-- the carts it may convert without reading the converted ones.
CREATE TABLE carts (
  id         TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL DEFAULT '',
  converted  INTEGER NOT NULL,
  data       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX carts_open_contact ON carts (contact_id, updated_at) WHERE contact_id <> '' AND converted = 0;
