-- +goose Up
-- The W3C traceparents of the requests whose changes a job carries, space
-- separated, at most 8: written at enqueue, read at claim, so a delivery's
-- span continues (or links to) the webhook's trace. NULL without tracing.
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
