-- +goose Up
-- A source's recent refusals, for its health (source_rejected).
CREATE INDEX rejections_source ON rejections (source, received_at);
