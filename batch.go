package synclayer

import (
	"context"
	"encoding/json"
	"time"
)

// BatchQueue is the queue name of a skill's batch path: jobs enqueued
// under it are claimed by the skill's batch flusher (and by the backfill
// and resync commands), never by its realtime worker, so a backfill of
// 100,000 contacts does not become 100,000 single calls on a running
// server.
func BatchQueue(skill string) string { return skill + ":batch" }

// Checkpoint is how far a backfill or resync got, so an interrupted run
// resumes where its last committed chunk ended. Detail holds the run's
// counters so far, for the summary.
type Checkpoint struct {
	Name      string          `json:"name"`     // e.g. backfill:customer-sync:<file identity>
	Position  int64           `json:"position"` // lines (or records) committed
	Detail    json.RawMessage `json:"detail,omitempty"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// Import is a batch call a destination accepted, with the jobs it
// carries: a contact import whose process is not finished yet, or a batch
// done at once. Its jobs stay claimed until the import is completed or
// failed, so nothing else sends those records meanwhile.
type Import struct {
	ID        int64     `json:"id"`
	Skill     string    `json:"skill"`
	Queue     string    `json:"queue"`     // the jobs' queue
	ProcessID string    `json:"processId"` // the destination's process (or batch) ID
	Summary   string    `json:"summary"`   // the trace line each record gets on completion
	Items     int       `json:"items"`
	CreatedAt time.Time `json:"createdAt"`
	CheckAt   time.Time `json:"checkAt"` // when to ask the destination again
	Checks    int       `json:"checks"`
}

// ImportItem is one job of an Import and what the destination holds for
// its record once the import is applied. It is kept small, since tens of
// thousands wait for one call: the job by its ID, the sync state as its
// key and encoded state.
type ImportItem struct {
	JobID    int64
	StateKey string          // the sync state's record key; "" writes none
	RemoteID string          // the record's ID at the destination
	State    json.RawMessage // what the destination holds afterwards
	TraceKey string          // whose trace gets the delivery line (a contact ID, or the record key)
}

// NewImportItem is the item of job j whose destination will hold st (nil:
// nothing to record), traced under traceKey.
func NewImportItem(j *Job, st *SyncState, traceKey string) ImportItem {
	it := ImportItem{JobID: j.ID, TraceKey: traceKey}
	if st != nil {
		it.StateKey, it.RemoteID, it.State = st.RecordKey, st.RemoteID, st.State
	}
	return it
}

// BatchStore keeps the batch path's state: checkpoints and the imports in
// flight.
type BatchStore interface {
	// SaveCheckpoint inserts or replaces a checkpoint.
	SaveCheckpoint(ctx context.Context, c *Checkpoint) error
	// FindCheckpoint returns a checkpoint, or ENOTFOUND.
	FindCheckpoint(ctx context.Context, name string) (*Checkpoint, error)
	// DeleteCheckpoint removes a checkpoint; a missing one is no error.
	DeleteCheckpoint(ctx context.Context, name string) error

	// AddImport records an accepted import and its items, and holds the
	// items' jobs (still running) until holdUntil, in one transaction. It
	// assigns imp.ID.
	AddImport(ctx context.Context, imp *Import, items []ImportItem, holdUntil time.Time) error
	// FindImports lists a skill's imports not yet completed or failed,
	// oldest first.
	FindImports(ctx context.Context, skill string) ([]*Import, error)
	// DelayImport records one more check and when to check again.
	DelayImport(ctx context.Context, id int64, checkAt time.Time) error
	// CompleteImport marks the import's jobs done, writes their sync
	// states, delivery rows and trace lines, and forgets the import, in one
	// transaction. ENOTFOUND when it is not pending.
	CompleteImport(ctx context.Context, id int64, now time.Time) error
	// CompleteImportWithoutState completes the import as CompleteImport
	// does but writes no sync state, for an import Brevo completed while
	// skipping rows it does not name. ENOTFOUND when it is not pending.
	CompleteImportWithoutState(ctx context.Context, id int64, now time.Time) error
	// FailImport puts the import's jobs back in their queue to run at
	// runAt with reason (merging into a newer pending job of the same
	// record), records the retried attempts, and forgets the import.
	// ENOTFOUND when it is not pending.
	FailImport(ctx context.Context, id int64, reason string, runAt, now time.Time) error

	// DetachImport moves the items of jobIDs out of import id into a new
	// import, and returns its ID: the rows a destination refused within
	// an import it otherwise applied, settled apart. ENOTFOUND when id is
	// not pending.
	DetachImport(ctx context.Context, id int64, jobIDs []int64, summary string, now time.Time) (int64, error)

	// ImportJobs returns the job IDs of an import, in ascending order.
	ImportJobs(ctx context.Context, id int64) ([]int64, error)

	// DeadImport dead-letters the import's jobs with reason (a batch call
	// refused as a whole, which retrying cannot fix), records the dead
	// attempts and trace lines, and forgets the import. ENOTFOUND when it
	// is not pending.
	DeadImport(ctx context.Context, id int64, reason string, now time.Time) error

	// EnqueueAll enqueues a job on queue for every record of kind
	// ("contacts", "orders" or "products"; deleted ones too, since a
	// delete is a state to sync), coalescing with pending jobs, and
	// returns how many records it covered.
	EnqueueAll(ctx context.Context, kind, queue, destination string, now time.Time) (int, error)
	// CountPending counts the pending and running jobs of a queue.
	CountPending(ctx context.Context, queue string) (int, error)
}
