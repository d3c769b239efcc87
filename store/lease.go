package store

import (
	"context"
	"fmt"
	"time"

	"synclayer"
)

// ExtendLease moves a running job's lease to until, if this claim still
// holds it: the lease it was claimed with has not been taken over.
func (s *DB) ExtendLease(ctx context.Context, job *synclayer.Job, until time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_until = ?"),
		micros(until), job.ID, micros(job.LeaseUntil))
	if err != nil {
		return fmt.Errorf("extend lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return synclayer.Errorf(synclayer.ECONFLICT, "job %d is no longer held by this worker", job.ID)
	}
	job.LeaseUntil = until
	return nil
}
