package synclayer

import (
	"encoding/json"
	"strings"
	"time"
)

// JobState is where a delivery job stands.
type JobState string

const (
	JobPending JobState = "pending" // waiting for RunAt
	JobRunning JobState = "running" // claimed by a worker until LeaseUntil
	JobDone    JobState = "done"
	JobDead    JobState = "dead" // gave up; kept with its history for replay
)

// Job asks a skill to bring one record up to date in one destination. It
// holds no payload: the worker reads the record's state when it runs, so
// jobs for the same record coalesce into one pending job.
type Job struct {
	ID int64 `json:"id"`
	// Queue is the queue the job waits in: Queue(skill, destination), or
	// BatchQueue of it. Its skill is QueueParts(Queue).
	Queue       string    `json:"queue"`
	Destination string    `json:"destination"`
	RecordKey   string    `json:"recordKey"` // e.g. the contact ID
	State       JobState  `json:"state"`
	Attempts    int       `json:"attempts"`
	RunAt       time.Time `json:"runAt"`
	LeaseUntil  time.Time `json:"leaseUntil,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	FirstSeenAt time.Time `json:"firstSeenAt"` // when the oldest change it carries was received
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// TraceParents are the W3C traceparents of the requests whose changes
	// the job carries (several when changes coalesced; at most
	// MaxJobTraceParents), for the delivery's span to continue or link.
	TraceParents []string `json:"-"`
}

// SkillName is the skill the job runs: customer-sync for the queue
// customer-sync@klaviyo:batch.
func (j *Job) SkillName() string {
	skill, _, _ := QueueParts(j.Queue)
	return skill
}

// MarshalJSON adds the skill's name ("skill") beside the queue, for the
// admin API's readers, who filter by skill more often than by queue.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	return json.Marshal(struct {
		plain
		Skill string `json:"skill"`
	}{plain(j), j.SkillName()})
}

// MaxJobTraceParents caps the traceparents one job keeps: a burst of
// changes to one record coalesces into one job, and its delivery span links
// to the first few requests, not to every one.
const MaxJobTraceParents = 8

// Queue is the queue of a skill's jobs for one destination. Each
// destination has its own, so an outage of one never delays another. The
// destination named brevo keeps the bare skill name: the queue every job
// was in before destinations were named, so an upgrade finds its jobs.
func Queue(skill, destination string) string {
	if destination == "brevo" || destination == "" {
		return skill
	}
	return skill + "@" + destination
}

// QueueParts reads a queue name back: its skill, the destination it
// delivers to (brevo for a bare skill name) and whether it is the skill's
// batch queue (BatchQueue).
func QueueParts(queue string) (skill, destination string, batch bool) {
	queue, batch = strings.CutSuffix(queue, ":batch")
	skill, destination, ok := strings.Cut(queue, "@")
	if !ok {
		destination = "brevo"
	}
	return skill, destination, batch
}

// JobFilter selects jobs for listing.
type JobFilter struct {
	State JobState
	Queue string // one queue: customer-sync@klaviyo
	Skill string // every queue of one skill, on every destination, batch or not
	Limit int
}

// TraceEntry is one line of a record's history: an event and the decisions
// it caused, or a delivery and what the destination answered.
type TraceEntry struct {
	ID        int64           `json:"id"`
	ContactID string          `json:"contactId"`
	At        time.Time       `json:"at"`
	Kind      string          `json:"kind"` // "event" or "delivery"
	EventID   string          `json:"eventId,omitempty"`
	Summary   string          `json:"summary"`
	Detail    json.RawMessage `json:"detail,omitempty"`
}

// Trace entry kinds.
const (
	TraceEvent    = "event"
	TraceDelivery = "delivery"
)

// SyncState is what a destination is known to hold for a record, as of the
// last successful delivery. It lets a skill skip no-op updates and decide
// whether a consent flag must be sent.
type SyncState struct {
	RecordKey   string          `json:"recordKey"`
	Destination string          `json:"destination"`
	RemoteID    string          `json:"remoteId,omitempty"`
	State       json.RawMessage `json:"state"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// Completion is one delivered job for Store.CompleteJobs: what the
// destination now holds (nil: unchanged) and the delivery's trace entry.
type Completion struct {
	Job   *Job
	State *SyncState
	Trace *TraceEntry
}
