package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

var _ synclayer.NotificationStore = (*DB)(nil)

// MarkDeliveries makes every delivery attempt of these skills recorded
// from now on marked for the notifier, in the transaction that records it.
// Without a call nothing is marked, so turning notifications on later does
// not replay old outcomes.
func (s *DB) MarkDeliveries(skills ...string) {
	m := map[string]bool{}
	for _, sk := range skills {
		m[sk] = true
	}
	s.marked.Store(&m)
}

func (s *DB) marks(skill string) bool {
	m := s.marked.Load()
	return m != nil && (*m)[skill]
}

// TakeDeliveries passes up to limit marked attempts to fn, oldest first,
// and unmarks them in the same transaction. On PostgreSQL the rows are
// locked with SKIP LOCKED, so two instances take different attempts.
func (s *DB) TakeDeliveries(ctx context.Context, limit int, fn func(synclayer.NotificationTx, []*synclayer.Delivery) error) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, job_id, skill, destination, record_key, outcome, at, latency_us, reason
			FROM deliveries WHERE notify = 1 ORDER BY id LIMIT ?`+s.dialect.skipLocked()), limit)
		if err != nil {
			return fmt.Errorf("take deliveries: %w", err)
		}
		var ds []*synclayer.Delivery
		for rows.Next() {
			var d synclayer.Delivery
			var outcome string
			var at, latency int64
			if err := rows.Scan(&d.ID, &d.JobID, &d.Skill, &d.Destination, &d.RecordKey, &outcome, &at, &latency, &d.Reason); err != nil {
				rows.Close()
				return fmt.Errorf("take deliveries: %w", err)
			}
			d.Outcome, d.At, d.Latency = synclayer.DeliveryOutcome(outcome), fromMicros(at), time.Duration(latency)*time.Microsecond
			ds = append(ds, &d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("take deliveries: %w", err)
		}
		if len(ds) == 0 {
			return nil
		}
		if err := fn(&notifyTx{s: s, tx: tx}, ds); err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE deliveries SET notify = 0 WHERE id = ?"), d.ID); err != nil {
				return fmt.Errorf("unmark delivery: %w", err)
			}
		}
		n = len(ds)
		return nil
	})
	return n, err
}

// NotificationTx runs fn in one transaction.
func (s *DB) NotificationTx(ctx context.Context, fn func(synclayer.NotificationTx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(&notifyTx{s: s, tx: tx}) })
}

type notifyTx struct {
	s  *DB
	tx *sql.Tx
}

// AddNotification stores n and enqueues its delivery. One insert in
// pruneEvery also deletes notifications older than DeliveryRetention:
// their deliveries finished or were dead-lettered long ago.
func (t *notifyTx) AddNotification(ctx context.Context, n *synclayer.Notification) (bool, error) {
	res, err := t.tx.ExecContext(ctx, t.s.q(`INSERT INTO notifications (id, channel, type, body, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`), n.ID, string(n.Channel), string(n.Type), string(n.Body), micros(n.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add notification: %w", err)
	}
	if added, _ := res.RowsAffected(); added == 0 {
		return false, nil
	}
	if _, err := (&Tx{s: t.s, tx: t.tx}).exec(ctx, `INSERT INTO jobs (skill, destination, record_key, state, run_at, first_seen_at, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)`, synclayer.NotifySkill, string(n.Channel), n.ID,
		micros(n.CreatedAt), micros(n.CreatedAt), micros(n.CreatedAt), micros(n.CreatedAt)); err != nil {
		return false, fmt.Errorf("enqueue notification: %w", err)
	}
	if n.CreatedAt.UnixMicro()%pruneEvery == 0 {
		if _, err := t.tx.ExecContext(ctx, t.s.q("DELETE FROM notifications WHERE created_at < ?"), micros(n.CreatedAt.Add(-DeliveryRetention))); err != nil {
			return false, fmt.Errorf("prune notifications: %w", err)
		}
	}
	return true, nil
}

const incidentColumns = "id, skill, kind, opened_at, last_at, failures, closed_at"

func scanIncidents(rows *sql.Rows, err error) ([]*synclayer.Incident, error) {
	if err != nil {
		return nil, fmt.Errorf("find incidents: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Incident
	for rows.Next() {
		var i synclayer.Incident
		var kind string
		var opened, last, closed int64
		if err := rows.Scan(&i.ID, &i.Skill, &kind, &opened, &last, &i.Failures, &closed); err != nil {
			return nil, fmt.Errorf("find incidents: %w", err)
		}
		i.Kind, i.OpenedAt, i.LastAt, i.ClosedAt = synclayer.NotificationType(kind), fromMicros(opened), fromMicros(last), fromMicros(closed)
		out = append(out, &i)
	}
	return out, rows.Err()
}

func (t *notifyTx) FindOpenIncidents(ctx context.Context) ([]*synclayer.Incident, error) {
	return scanIncidents(t.tx.QueryContext(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE closed_at = 0 ORDER BY id"))
}

// SaveIncident inserts or updates i. A second open incident for the same
// skill and kind violates incidents_one_open, so when two instances race
// to open one, the loser's transaction fails and nothing is sent twice.
func (t *notifyTx) SaveIncident(ctx context.Context, i *synclayer.Incident) error {
	if i.ID == 0 {
		err := t.tx.QueryRowContext(ctx, t.s.q(`INSERT INTO incidents (skill, kind, opened_at, last_at, failures, closed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			i.Skill, string(i.Kind), micros(i.OpenedAt), micros(i.LastAt), i.Failures, micros(i.ClosedAt)).Scan(&i.ID)
		if t.s.dialect.isUniqueViolation(err) {
			return synclayer.Errorf(synclayer.ECONFLICT, "an incident of %s for %s is already open", i.Kind, i.Skill)
		}
		if err != nil {
			return fmt.Errorf("open incident: %w", err)
		}
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, t.s.q("UPDATE incidents SET last_at = ?, failures = ?, closed_at = ? WHERE id = ?"),
		micros(i.LastAt), i.Failures, micros(i.ClosedAt), i.ID); err != nil {
		return fmt.Errorf("save incident: %w", err)
	}
	return nil
}

// FindIncidents lists incidents, newest first.
func (s *DB) FindIncidents(ctx context.Context, limit int) ([]*synclayer.Incident, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return scanIncidents(s.db.QueryContext(ctx, s.q("SELECT "+incidentColumns+" FROM incidents ORDER BY id DESC LIMIT ?"), limit))
}

// FindNotification returns a stored notification, or ENOTFOUND.
func (s *DB) FindNotification(ctx context.Context, id string) (*synclayer.Notification, error) {
	var n synclayer.Notification
	var channel, typ, body string
	var created int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT id, channel, type, body, created_at FROM notifications WHERE id = ?"), id).
		Scan(&n.ID, &channel, &typ, &body, &created)
	if isNoRows(err) {
		return nil, notFound("notification " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("find notification: %w", err)
	}
	n.Channel, n.Type, n.Body, n.CreatedAt = synclayer.NotificationChannel(channel), synclayer.NotificationType(typ), []byte(body), fromMicros(created)
	return &n, nil
}

// CountDeliveries counts attempts since since per skill and outcome, for
// error-rate alerts; unlike SkillStats it reads no latencies.
func (s *DB) CountDeliveries(ctx context.Context, since time.Time) (map[string]map[synclayer.DeliveryOutcome]int, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT skill, outcome, COUNT(*) FROM deliveries WHERE at >= ? GROUP BY skill, outcome"), micros(since))
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]map[synclayer.DeliveryOutcome]int{}
	for rows.Next() {
		var skill, outcome string
		var n int
		if err := rows.Scan(&skill, &outcome, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		if out[skill] == nil {
			out[skill] = map[synclayer.DeliveryOutcome]int{}
		}
		out[skill][synclayer.DeliveryOutcome(outcome)] = n
	}
	return out, rows.Err()
}

// MarkFailedEvents makes every event stored with status failed from now on
// marked for the notifier, in its ingest transaction (UpdateEvent).
func (s *DB) MarkFailedEvents() { s.markFailed.Store(true) }

// TakeFailedEvents passes up to limit marked failed events to fn, oldest
// first, and unmarks them in the same transaction; SKIP LOCKED on
// PostgreSQL, as TakeDeliveries.
func (s *DB) TakeFailedEvents(ctx context.Context, limit int, fn func(synclayer.NotificationTx, []*synclayer.FailedEvent) error) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, source, topic, type, received_at, reason, customer
			FROM events WHERE notify = 1 ORDER BY received_at, id LIMIT ?`+s.dialect.skipLocked()), limit)
		if err != nil {
			return fmt.Errorf("take failed events: %w", err)
		}
		var evs []*synclayer.FailedEvent
		for rows.Next() {
			var e synclayer.FailedEvent
			var typ, customer string
			var received int64
			if err := rows.Scan(&e.ID, &e.Source, &e.Topic, &typ, &received, &e.Reason, &customer); err != nil {
				rows.Close()
				return fmt.Errorf("take failed events: %w", err)
			}
			e.Type, e.ReceivedAt = synclayer.EventType(typ), fromMicros(received)
			if customer != "" {
				var ch struct {
					SourceID string `json:"sourceId"`
				}
				_ = json.Unmarshal([]byte(customer), &ch)
				e.SourceRecordID = ch.SourceID
			}
			evs = append(evs, &e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("take failed events: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		if err := fn(&notifyTx{s: s, tx: tx}, evs); err != nil {
			return err
		}
		for _, e := range evs {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE events SET notify = 0 WHERE id = ?"), e.ID); err != nil {
				return fmt.Errorf("unmark event: %w", err)
			}
		}
		n = len(evs)
		return nil
	})
	return n, err
}

// AddKey inserts key, doing nothing when it is held. One insert in
// pruneEvery also deletes the "fail:" keys and the window keys
// ("reconcile:", "reconcile-source:", "poll:", "prune:") older than
// DeliveryRetention: a poll every minute takes 1,440 a day.
func (t *notifyTx) AddKey(ctx context.Context, key string, at time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, t.s.q("INSERT INTO notification_keys (key, created_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"), key, micros(at))
	if err != nil {
		return false, fmt.Errorf("add notification key: %w", err)
	}
	if added, _ := res.RowsAffected(); added == 0 {
		return false, nil
	}
	if at.UnixMicro()%pruneEvery == 0 {
		if _, err := t.tx.ExecContext(ctx, t.s.q("DELETE FROM notification_keys WHERE (key LIKE 'fail:%' OR key LIKE 'reconcile:%' OR key LIKE 'reconcile-source:%' OR key LIKE 'poll:%' OR key LIKE 'prune:%') AND created_at < ?"), micros(at.Add(-DeliveryRetention))); err != nil {
			return false, fmt.Errorf("prune notification keys: %w", err)
		}
	}
	return true, nil
}
