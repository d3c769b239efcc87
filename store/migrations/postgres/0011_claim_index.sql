-- +goose Up
-- The claim reads pending jobs of one skill in run_at order and stops
-- after a few. This index holds exactly those, in that order, so the claim
-- reads as many entries as it takes and no more, however long the backlog
-- (jobs_due also holds the done and running jobs, and sorts by run_at only).
CREATE INDEX jobs_pending_due ON jobs (skill, run_at, id) WHERE state = 'pending';

-- Every job row is updated two or three times in a minute (pending,
-- running, done), leaving dead versions that the claim's index scans step
-- over until vacuum removes them. Vacuum the table after 1% of it changed
-- rather than PostgreSQL's default 20%, as job queues on PostgreSQL do.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 500);
