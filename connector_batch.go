package synclayer

import (
	"context"
	"encoding/json"
)

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
