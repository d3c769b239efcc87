package synclayer

import (
	"context"
	"encoding/json"
	"time"
)

// NotificationType names what a notification reports.
type NotificationType string

const (
	NotifySyncCompleted  NotificationType = "sync_completed"  // one per delivered job
	NotifySyncFailed     NotificationType = "sync_failed"     // one per dead-lettered job, and per record failed at ingest (deduplicated per incident)
	NotifyBatchCompleted NotificationType = "batch_completed" // reserved for batch and backfill runs, which do not exist yet
	NotifyErrorRate      NotificationType = "error_rate"      // Slack only: a skill's error rate crossed its threshold
	NotifyRecovered      NotificationType = "recovered"       // an incident closed
	NotifyHealthReport   NotificationType = "health_report"   // the weekly or monthly health report (report.go)
	// NotifySourceSilent: a source that used to send webhooks has sent
	// none for notifications.silence_after; once per incident, with a
	// recovered when it sends again.
	NotifySourceSilent NotificationType = "source_silent"
	// NotifySourceRejected: a source's deliveries are refused as
	// unauthorized (a rotated secret), once per incident, with the count.
	NotifySourceRejected NotificationType = "source_rejected"
)

// SourceIncident is the Incident.Skill of a source's incidents: the
// source's name, marked apart from the skills'.
func SourceIncident(source string) string { return "source:" + source }

// SourceActivity is what a source sent lately, for its health.
type SourceActivity struct {
	LastEvent    time.Time // its newest stored event; zero when it never sent one
	Unauthorized int       // deliveries refused with 401 since the time asked about
	LastRefused  time.Time // the newest of those
}

// NotificationChannel is where a notification goes.
type NotificationChannel string

const (
	ChannelWebhook NotificationChannel = "webhook" // notifications.webhook_url, signed the Standard Webhooks way
	ChannelSlack   NotificationChannel = "slack"   // notifications.slack_webhook_url, an incoming webhook
)

// NotifySkill is the queue's skill name for notification deliveries: they
// reuse the jobs table, its leases, retries and dead letters.
const NotifySkill = "notify"

// Notification is one message to send. ID is derived from what it reports
// (its type, the job and the delivery attempt, or the incident), so a
// notification made twice, after a crash or by two instances, is stored
// once, and every retry of it carries the same ID: the webhook-id a
// receiver deduplicates on. Body is exactly what is sent, fixed when the
// notification is made.
type Notification struct {
	ID        string              `json:"id"`
	Channel   NotificationChannel `json:"channel"`
	Type      NotificationType    `json:"type"`
	Body      json.RawMessage     `json:"body"`
	CreatedAt time.Time           `json:"createdAt"`
}

// Incident is a run of failures of one skill that Slack is told about
// once: it opens with the first failure (or the error rate crossing its
// threshold) and closes after a quiet period (or the rate falling back),
// as notify decides.
type Incident struct {
	ID       int64            `json:"id"`
	Skill    string           `json:"skill"`
	Kind     NotificationType `json:"kind"` // sync_failed or error_rate
	OpenedAt time.Time        `json:"openedAt"`
	LastAt   time.Time        `json:"lastAt"` // the latest failure counted in it
	Failures int              `json:"failures"`
	ClosedAt time.Time        `json:"closedAt,omitzero"`
}

// Open reports whether the incident has not been closed.
func (i *Incident) Open() bool { return i.ClosedAt.IsZero() }

// NotificationStore is the notifier's view of the store. Delivery attempts
// of the skills the store was told to mark are marked in the transaction
// that records them, so no outcome is lost between its commit and its
// notification.
type NotificationStore interface {
	// TakeDeliveries passes up to limit marked delivery attempts, oldest
	// first, to fn inside one transaction, and unmarks them if fn returns
	// nil. After a crash they are passed again; notification IDs make that
	// harmless. It returns how many were passed.
	TakeDeliveries(ctx context.Context, limit int, fn func(NotificationTx, []*Delivery) error) (int, error)
	// NotificationTx runs fn in one transaction.
	NotificationTx(ctx context.Context, fn func(NotificationTx) error) error
	// FindNotification returns a stored notification, or ENOTFOUND.
	FindNotification(ctx context.Context, id string) (*Notification, error)
	// CountDeliveries counts attempts since since, per skill and outcome.
	CountDeliveries(ctx context.Context, since time.Time) (map[string]map[DeliveryOutcome]int, error)
	// FindIncidents lists incidents, newest first.
	FindIncidents(ctx context.Context, limit int) ([]*Incident, error)
	// SourceActivity reads each of sources' newest event and its 401
	// refusals since since.
	SourceActivity(ctx context.Context, sources []string, since time.Time) (map[string]SourceActivity, error)
	// TakeFailedEvents passes up to limit marked events that were stored
	// with status failed, oldest first, to fn inside one transaction, and
	// unmarks them if fn returns nil, as TakeDeliveries does. Events are
	// marked in their ingest transaction once MarkFailedEvents is called.
	TakeFailedEvents(ctx context.Context, limit int, fn func(NotificationTx, []*FailedEvent) error) (int, error)
}

// FailedEvent is an event stored with status failed, as the notifier
// reads it: what it was and why, and no personal data.
type FailedEvent struct {
	ID             string
	Source         string
	Topic          string
	Type           EventType
	ReceivedAt     time.Time
	Reason         string
	SourceRecordID string // the platform's ID of the record, when the event carried one
}

// NotificationTx is used inside the notifier's transaction.
type NotificationTx interface {
	// AddNotification stores n and queues its delivery as a NotifySkill job
	// whose destination is the channel. It reports false, and queues
	// nothing, when a notification with n.ID is already stored.
	AddNotification(ctx context.Context, n *Notification) (added bool, err error)
	// FindOpenIncidents returns the incidents not yet closed.
	FindOpenIncidents(ctx context.Context) ([]*Incident, error)
	// SaveIncident inserts an incident without an ID (assigning one) or
	// updates it.
	SaveIncident(ctx context.Context, i *Incident) error
	// AddKey records key once: it reports false when key is already held.
	// Keys make "once" hold across instances: a record's sync_failed per
	// incident, a report per period, a reconciliation window. Keys of
	// incidents' records ("fail:...") and of reconciliation windows
	// ("reconcile:...") are pruned after 8 days; others are kept.
	AddKey(ctx context.Context, key string, at time.Time) (added bool, err error)
}

// Channels builds the senders of the channels a workflow rule's slack
// and webhook actions post to, so the workflow package names no channel's
// package; the program supplies them.
type Channels struct {
	// Slack is a sender to the Slack incoming webhook at url.
	Slack func(url string) NotificationSender
	// Webhook is a sender of Standard Webhooks signed with secret
	// (whsec_ and base64) to url; the error says what is wrong with the
	// secret.
	Webhook func(url, secret string) (NotificationSender, error)
}

// NotificationSender delivers notifications to one channel. Its errors
// follow the queue's rules: a Permanent error dead-letters the delivery, a
// RetryAfter error waits, any other error retries with backoff.
type NotificationSender interface {
	Send(ctx context.Context, n *Notification) error
}
