// Package notify tells people what deliveries did: a signed webhook per
// completed or failed sync, and a Slack alert once per incident.
//
// It reads the outcomes from the store's outbox: the store marks every
// delivery attempt of a watched skill in the transaction that records it,
// and Notifier takes the marked attempts, makes their notifications and
// updates incidents, and unmarks them, in one transaction. A notification
// is stored with an ID derived from what it reports and queued as a job of
// skill synclayer.NotifySkill, which Handler delivers with the queue's
// retries, backoff and dead letters. So a crash loses no notification, and
// one made twice is stored, and sent, once.
//
// It also reads events stored as failed at ingest (DrainFailedEvents):
// each record (source, record ID, masked reason) gets one sync_failed per
// incident, however often it fails again inside it.
//
// Incidents. A sync_failed incident opens with a skill's first
// dead-lettered delivery, or first record failed at ingest, and alerts
// Slack once; later failures are counted in it without alerting, until
// QuietPeriod passes without a failure, which closes it. Closing an
// incident sends a recovered message to Slack, and to the webhook when
// its events include recovered. Incidents are tracked with or without
// Slack, since they also bound the ingest deduplication. An error_rate incident opens when the skill's share of
// failed attempts (retried or dead) over ErrorRateWindow reaches
// ErrorRateThreshold, with at least MinAttempts attempts, and closes at the
// first evaluation under the threshold. Incidents are kept in the store, so
// a restart neither forgets an open one nor alerts it again.
//
// Health reports (report.go) are made at 08:00 UTC on Mondays (weekly)
// and the 1st (monthly), once per period across instances: a key
// report:<weekly|monthly>:<period> is added with them.
package notify
