-- +goose Up
CREATE TABLE orders (
  id         TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL DEFAULT '',
  data       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX orders_contact ON orders (contact_id, updated_at) WHERE contact_id <> '';

-- A refund may arrive before its order, so it is keyed by the order's ID
-- without a foreign key.
CREATE TABLE order_refunds (
  order_id   TEXT NOT NULL,
  id         TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (order_id, id)
);

CREATE TABLE products (
  id         TEXT PRIMARY KEY,
  parent_id  TEXT NOT NULL DEFAULT '',
  data       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX products_parent ON products (parent_id) WHERE parent_id <> '';

CREATE TABLE categories (
  id         TEXT PRIMARY KEY,
  data       TEXT NOT NULL,
  version    BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
