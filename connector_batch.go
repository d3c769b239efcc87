package synclayer

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// BatchDestination is a destination whose package runs whole batch
// queues itself, because its platform's batch calls do not fit the shared
// ContactBatcher flow: Brevo imports contacts into two lists, does not
// name the rows an import skipped, and has batch calls for orders and
// products too. For every other destination the program runs the shared
// flusher over its ContactBatcher.
type BatchDestination interface {
	Destination
	// BatchFlusher builds the flusher of cfg.Skill's batch queue on this
	// destination, or returns nil when it has no batch path for the
	// skill (the skill then runs realtime there).
	BatchFlusher(cfg BatchConfig) (BatchFlusher, error)
}

// BatchConfig is what a batch flusher of one skill on one destination
// runs with.
type BatchConfig struct {
	Skill string // customer-sync, order-events, product-catalog
	Store Store
	// Contacts is customer-sync's side on this destination as configured
	// now, read at each flush so that a running server follows config
	// changes; nil, or a nil result, while the skill is disabled.
	Contacts   func() ContactSync
	Historical bool          // the records are past data (a backfill or resync): no automation runs for them
	Interval   time.Duration // how often Run flushes
	MaxSize    int           // jobs per flush; negative: no limit
	// PollMin and PollMax space the checks of a batch call the platform
	// accepted but has not applied yet.
	PollMin, PollMax time.Duration
	Logger           *slog.Logger
}

// BatchFlusher runs one skill's batch queue on one destination.
type BatchFlusher interface {
	// Queue is the batch queue it claims from.
	Queue() string
	// Run flushes every interval, and checks the calls in flight as they
	// come due, until ctx ends.
	Run(ctx context.Context)
	// Drain flushes and checks until the queue is empty and every call is
	// settled, for backfill and resync; progress, when set, hears the
	// totals so far and the calls still in flight.
	Drain(ctx context.Context, progress func(st BatchStats, inFlight int)) (BatchStats, error)
}

// BatchStats counts what batch flushes did.
type BatchStats struct {
	Claimed   int      `json:"claimed"`
	Batched   int      `json:"batched"`   // records in accepted batch calls
	Realtime  int      `json:"realtime"`  // records sent one by one (consent changes among them)
	Unchanged int      `json:"unchanged"` // records the destination already held as they are
	Failed    int      `json:"failed"`    // records retried or dead-lettered
	Calls     int      `json:"calls"`     // batch calls accepted
	Reasons   []string `json:"reasons,omitempty"`
}

// maxBatchReasons caps the failure reasons BatchStats keeps.
const maxBatchReasons = 20

// Add adds o's counts to s.
func (s *BatchStats) Add(o BatchStats) {
	s.Claimed += o.Claimed
	s.Batched += o.Batched
	s.Realtime += o.Realtime
	s.Unchanged += o.Unchanged
	s.Failed += o.Failed
	s.Calls += o.Calls
	for _, r := range o.Reasons {
		s.Reason(r)
	}
}

// Reason keeps r among the failure reasons, up to a cap.
func (s *BatchStats) Reason(r string) {
	if len(s.Reasons) < maxBatchReasons {
		s.Reasons = append(s.Reasons, r)
	}
}

// ContactBatcher is a ContactSync that also sends many contacts in one
// call, for batch mode, backfill and resync. The shared flusher claims a
// batch queue's jobs, asks PlanBatch where each contact goes, sends the
// rows of each group in as few SendBatch calls as BatchLimits allow, and
// completes the jobs once CheckBatch reports the platform applied them,
// recording each row's next state; a row the platform refused is retried
// one by one through the realtime path, where its error is its own.
type ContactBatcher interface {
	ContactSync
	// BatchLimits are the most rows, and bytes of rows, one call takes.
	BatchLimits() (maxRows, maxBytes int)
	// PlanBatch decides how contact c travels, from prev, the state the
	// destination holds (nil: never delivered). A contact whose state is
	// already what it would send returns Unchanged. Anything a batch
	// cannot carry safely (an opt-out, a consent to lift, a delete, a
	// field to clear, an email change) returns a Realtime reason, and the
	// contact goes through Plan and Apply at once. Otherwise it returns
	// the row, its group (rows of one group share a call: Brevo imports
	// consenting contacts into one list and the others into another) and
	// Next, the state once the row is applied.
	PlanBatch(c *Contact, prev json.RawMessage) (BatchRow, error)
	// SendBatch sends rows of one group in one call and returns the
	// platform's job ID, to check with CheckBatch; "" when the platform
	// applied them before answering. A Permanent error (the call refused
	// as a whole) sends each of its contacts realtime; any other is
	// retried as a batch.
	SendBatch(ctx context.Context, group string, rows []json.RawMessage) (jobID string, err error)
	// CheckBatch reports whether job jobID is finished and, when it is,
	// the rows it refused, by their index in the call, with the reason.
	// A Permanent error says the platform failed or cancelled the job as a
	// whole: its contacts are sent again. Any other error means the check
	// itself failed (the network, a 5xx) and is tried again later.
	CheckBatch(ctx context.Context, jobID string) (done bool, refused map[int]string, err error)
}

// BatchRow is how one contact travels in a batch.
type BatchRow struct {
	Unchanged bool            // the destination holds it as it is: no call
	Realtime  string          // why it goes through Plan and Apply instead
	Group     string          // rows of one group share a call
	Row       json.RawMessage // the row as the platform takes it
	Next      json.RawMessage // the state once the row is applied
}
