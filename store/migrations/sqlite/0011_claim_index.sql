-- +goose Up
-- The claim reads pending jobs of one skill in run_at order and stops
-- after a few. This index holds exactly those, in that order, so the claim
-- reads as many entries as it takes and no more, however long the backlog
-- (jobs_due also holds the done and running jobs, and sorts by run_at only).
CREATE INDEX jobs_pending_due ON jobs (skill, run_at, id) WHERE state = 'pending';
