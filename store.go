package synclayer

import (
	"context"
	"time"
)

// Store is the canonical store and the durable queue in one database, so a
// record and the delivery work it causes commit in one transaction.
type Store interface {
	// Tx runs fn in one transaction and commits when fn returns nil.
	Tx(ctx context.Context, fn func(Tx) error) error

	FindContactByID(ctx context.Context, id string) (*Contact, error)
	FindContacts(ctx context.Context, f ContactFilter) ([]*Contact, error)
	// SearchContacts finds contacts whose email, first name or last name
	// (or "first last") holds query, case-insensitively, most recently
	// changed first: at most limit (1 to 200; 50 otherwise) from offset.
	SearchContacts(ctx context.Context, query string, limit, offset int) ([]*Contact, error)
	FindEventByID(ctx context.Context, id string) (*Event, error)
	FindEvents(ctx context.Context, f EventFilter) ([]*Event, error)
	// CountEvents counts the events matching f, ignoring its Limit.
	CountEvents(ctx context.Context, f EventFilter) (int, error)
	// LastEventsReceived returns when each of sources last had an event
	// received; a source with none is left out.
	LastEventsReceived(ctx context.Context, sources ...string) (map[string]time.Time, error)
	Trace(ctx context.Context, contactID string) ([]*TraceEntry, error)

	// ClaimJobs leases up to n due jobs to a worker for lease. It never
	// hands out a job whose record another live lease holds.
	ClaimJobs(ctx context.Context, skill string, n int, lease time.Duration, now time.Time) ([]*Job, error)
	// ExtendLease keeps a claimed job's lease alive while it runs, so a
	// short lease recovers a dead worker's jobs quickly without a slow
	// delivery being taken over. ECONFLICT when the job is no longer held.
	ExtendLease(ctx context.Context, job *Job, until time.Time) error
	// CompleteJob finishes a claimed job, records its sync state and trace
	// entry in the same transaction.
	CompleteJob(ctx context.Context, job *Job, st *SyncState, trace *TraceEntry, now time.Time) error
	// CompleteJobs finishes several claimed jobs in one transaction, as
	// CompleteJob does each: deliveries that end together share one
	// commit. Either all of them are recorded or none is.
	CompleteJobs(ctx context.Context, done []Completion, now time.Time) error
	// RetryJob puts a claimed job back to run at runAt with its error.
	RetryJob(ctx context.Context, job *Job, runAt time.Time, reason string, trace *TraceEntry, now time.Time) error
	// DeadJob moves a claimed job to the dead-letter state with its reason.
	DeadJob(ctx context.Context, job *Job, reason string, trace *TraceEntry, now time.Time) error
	// RequeueDeadJob puts a dead job back to run now; ENOTFOUND if it is not dead.
	RequeueDeadJob(ctx context.Context, id int64, now time.Time) error
	// RequeueDeadJobs requeues every dead job of skill ("" for all), as
	// RequeueDeadJob does each, and returns how many.
	RequeueDeadJobs(ctx context.Context, skill string, now time.Time) (int, error)
	// DeleteDeadJob discards a dead job; ENOTFOUND if it is not dead.
	DeleteDeadJob(ctx context.Context, id int64) error
	FindJobs(ctx context.Context, f JobFilter) ([]*Job, error)
	// CountJobs returns the number of jobs per state.
	CountJobs(ctx context.Context) (map[JobState]int, error)
	// OldestPendingJobs returns, for each skill's queue with a pending job,
	// when the oldest change a pending job carries was received
	// (Job.FirstSeenAt): how long the queue has kept someone waiting.
	OldestPendingJobs(ctx context.Context) (map[string]time.Time, error)
	FindSyncState(ctx context.Context, recordKey, destination string) (*SyncState, error)
	// FindContactForDelivery is FindContactByID and FindSyncState of the
	// contact at destination in one read, as every delivery needs both
	// (one round trip fewer per delivery on PostgreSQL). The state is nil
	// when nothing was delivered there yet; a missing contact is
	// ENOTFOUND.
	FindContactForDelivery(ctx context.Context, id, destination string) (*Contact, *SyncState, error)
	// SaveSyncState records what a destination holds, or is about to hold:
	// a skill writes its intent before a call whose answer could be lost.
	SaveSyncState(ctx context.Context, st *SyncState, now time.Time) error
	// ExpediteRetries makes a skill's backed-off jobs due now, once a
	// delivery succeeds again, so a backlog drains at full speed instead of
	// waiting out each job's backoff.
	ExpediteRetries(ctx context.Context, skill string, now time.Time) error

	OrderStore
	ProductStore
	CartStore
	WorkflowStore
	BatchStore
	CompanyStore

	Close() error
}

// Tx is the part of the store used inside an ingest transaction.
type Tx interface {
	// Lock serializes concurrent transactions that use the same keys (an
	// email, a source ID) until commit, so two events for one new person
	// create one contact.
	Lock(ctx context.Context, keys ...string) error
	// InsertEvent stores e, assigning its ID. It returns ECONFLICT when an
	// event with the same source and dedupe key was already stored.
	InsertEvent(ctx context.Context, e *Event) error
	// UpdateEvent records an event's status, reason and contact.
	UpdateEvent(ctx context.Context, e *Event) error
	FindContactBySourceID(ctx context.Context, source, id string) (*Contact, error)
	FindContactByEmail(ctx context.Context, email string) (*Contact, error)
	FindContactByPhone(ctx context.Context, phone string) (*Contact, error)
	// FindContactsByIdentity is the three finds above in one read (one
	// round trip on PostgreSQL, where ingest resolves every new contact
	// through all three): the contact the source knows by sourceID, and the
	// ones FindContactByEmail and FindContactByPhone return, each nil when
	// nothing matches or its key is "".
	FindContactsByIdentity(ctx context.Context, source, sourceID, email, phone string) (bySource, byEmail, byPhone *Contact, err error)
	// SaveContact inserts a contact without an ID (assigning one) or
	// updates an existing one, with its source IDs.
	SaveContact(ctx context.Context, c *Contact) error
	AppendTrace(ctx context.Context, t *TraceEntry) error
	// EnqueueJob asks for a record to be brought up to date. It coalesces
	// with a pending job for the same skill and record.
	EnqueueJob(ctx context.Context, skill, destination, recordKey string, now time.Time) error
	// AddTally counts one happening (TallyMerge, TallyOptIn, TallyOptOut)
	// from source on at's UTC day, for the health report.
	AddTally(ctx context.Context, kind Tally, source string, at time.Time) error

	OrderTx
	ProductTx
	CartTx
	TicketTx
	BillingTx
	CompanyTx
	WorkflowTx
}

// ContactFilter selects contacts.
type ContactFilter struct {
	Email string
	Phone string
	Limit int
}

// EventFilter selects events.
type EventFilter struct {
	Status EventStatus
	Since  time.Time // received at or after; zero for any time
	Limit  int
}
