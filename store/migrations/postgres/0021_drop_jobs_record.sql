-- +goose Up
-- jobs_record (skill, record_key, state) serves no query since the
-- partial indexes jobs_one_pending and jobs_running answer every lookup
-- of a record's pending or running job (decision 0018). Each job's state
-- change rewrote its entry: one index write fewer per enqueue, claim and
-- completion.
DROP INDEX IF EXISTS jobs_record;

