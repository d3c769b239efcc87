-- +goose Up
-- The admin API and dashboard list the newest events and contacts; without
-- these indexes each listing read the whole table.
CREATE INDEX events_received ON events (received_at, id);
CREATE INDEX contacts_updated ON contacts (updated_at);
