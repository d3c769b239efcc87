package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"synclayer"
)

// Config configures a Notifier.
type Config struct {
	Store synclayer.NotificationStore
	// Events are the types sent to the webhook; none sends no webhook.
	Events []synclayer.NotificationType
	// Webhook is set when a webhook is configured: health reports go to it
	// whatever Events says.
	Webhook bool
	// Slack sends sync_failed and error-rate alerts, once per incident,
	// and a recovered message when the incident closes.
	Slack bool
	// ErrorRateThreshold is the share of failed attempts, over
	// ErrorRateWindow, that opens an error_rate incident; 0 turns it off.
	ErrorRateThreshold float64
	ErrorRateWindow    time.Duration // default 15 min
	// MinAttempts is how many attempts the window needs before its rate
	// counts, so one failure out of one is not a 100% error rate; default 10.
	MinAttempts int
	// QuietPeriod without a failure closes a sync_failed incident; default 15 min.
	QuietPeriod time.Duration
	// Owner names who answers for a skill in Slack alerts; may be nil.
	Owner func(skill string) string
	// IngestSkill names the skill (and its destination) an event of source
	// failed at ingest counts against: its incident and its sync_failed.
	// Nil or "" counts it against skill "ingest".
	IngestSkill func(source string) (skill, destination string)
	// Reports are the health reports sent (report.go); Figures computes
	// them, over the traffic of Sources.
	Reports []synclayer.ReportPeriod
	Figures synclayer.ReportStore
	Sources []string
	// SilenceAfter without a webhook from a source that used to send
	// them opens a source_silent incident (source.go); 0 is off.
	SilenceAfter time.Duration
	// Changes, if set, asks a source's own API how many of its records
	// changed since a time (its customers and orders updated at or after
	// it), so a store that is merely quiet (a night, a holiday) raises
	// no source_silent: only one whose API shows changes that sent no
	// webhook does. known is false for a source without API access,
	// which is then silent on silence alone. It is asked outside any
	// transaction, at most every ChangesEvery (default 15 min) a source.
	Changes      func(ctx context.Context, source string, since time.Time) (changed int, known bool, err error)
	ChangesEvery time.Duration
	// RefusedThreshold 401s from one source within RefusedWindow open a
	// source_rejected incident; 0 is off. RefusedWindow defaults to 15 min.
	RefusedThreshold int
	RefusedWindow    time.Duration
	Poll             time.Duration // how often to look when not woken; default 2 s
	Now              func() time.Time
	Logger           *slog.Logger
}

// Notifier turns marked delivery attempts into notifications and incidents.
type Notifier struct {
	cfg  Config
	wake chan struct{}
	sent map[string]bool // report keys this notifier saw made; Run's goroutine only
	// sourcesAt is when source health was last read; Run's goroutine only.
	sourcesAt time.Time
	// changes are the sources' APIs' last answers (Config.Changes); Run's
	// goroutine only.
	changes map[string]apiChanges
}

// apiChanges is what a source's API said about changes since lastEvent.
type apiChanges struct {
	at        time.Time // when it was asked
	lastEvent time.Time // the last webhook then; a newer one asks again
	changed   int
	known     bool
}

// New returns a Notifier with defaults filled in.
func New(cfg Config) *Notifier {
	if cfg.ErrorRateWindow <= 0 {
		cfg.ErrorRateWindow = 15 * time.Minute
	}
	if cfg.MinAttempts <= 0 {
		cfg.MinAttempts = 10
	}
	if cfg.QuietPeriod <= 0 {
		cfg.QuietPeriod = 15 * time.Minute
	}
	if cfg.RefusedWindow <= 0 {
		cfg.RefusedWindow = 15 * time.Minute
	}
	if cfg.Owner == nil {
		cfg.Owner = func(string) string { return "" }
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IngestSkill == nil {
		cfg.IngestSkill = func(string) (string, string) { return "", "" }
	}
	return &Notifier{cfg: cfg, wake: make(chan struct{}, 1), sent: map[string]bool{}}
}

// Wake makes the notifier look now, as after a delivery outcome.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run takes outcomes and evaluates incidents until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
		if err := n.Drain(ctx); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("make notifications; will retry", "err", err)
		}
		if err := n.DrainFailedEvents(ctx); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("make ingest notifications; will retry", "err", err)
		}
		if err := n.Evaluate(ctx); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("evaluate incidents; will retry", "err", err)
		}
		if err := n.SendReports(ctx); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("make health reports; will retry", "err", err)
		}
		t.Reset(n.cfg.Poll)
	}
}

// Drain takes every marked attempt, in batches of 100.
func (n *Notifier) Drain(ctx context.Context) error {
	for {
		taken, err := n.cfg.Store.TakeDeliveries(ctx, 100, func(tx synclayer.NotificationTx, ds []*synclayer.Delivery) error {
			open, err := openIncidents(ctx, tx)
			if err != nil {
				return err
			}
			for _, d := range ds {
				if err := n.take(ctx, tx, open, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || taken < 100 {
			return err
		}
	}
}

type incidentKey struct {
	skill string
	kind  synclayer.NotificationType
}

func openIncidents(ctx context.Context, tx synclayer.NotificationTx) (map[incidentKey]*synclayer.Incident, error) {
	list, err := tx.FindOpenIncidents(ctx)
	if err != nil {
		return nil, err
	}
	open := map[incidentKey]*synclayer.Incident{}
	for _, i := range list {
		open[incidentKey{i.Skill, i.Kind}] = i
	}
	return open, nil
}

func (n *Notifier) take(ctx context.Context, tx synclayer.NotificationTx, open map[incidentKey]*synclayer.Incident, d *synclayer.Delivery) error {
	switch d.Outcome {
	case synclayer.DeliveryDelivered:
		return n.event(ctx, tx, synclayer.NotifySyncCompleted, d)
	case synclayer.DeliveryDead:
		if err := n.event(ctx, tx, synclayer.NotifySyncFailed, d); err != nil {
			return err
		}
		return n.failure(ctx, tx, open, d)
	}
	return nil
}

// event adds the webhook notification of type typ for d, if typ is sent.
// Its ID is derived from the type, the job and the attempt, so taking d
// again makes the same notification, which is stored once.
func (n *Notifier) event(ctx context.Context, tx synclayer.NotificationTx, typ synclayer.NotificationType, d *synclayer.Delivery) error {
	if !slices.Contains(n.cfg.Events, typ) {
		return nil
	}
	data := EventData{Skill: d.Skill, Destination: d.Destination, Stage: StageDelivery, ContactID: d.RecordKey, JobID: d.JobID, Reason: d.Reason}
	body, err := json.Marshal(Event{Type: typ, Timestamp: d.At.UTC(), Data: data})
	if err != nil {
		return err
	}
	_, err = tx.AddNotification(ctx, &synclayer.Notification{
		ID: fmt.Sprintf("msg_%s_j%d_d%d", typ, d.JobID, d.ID), Channel: synclayer.ChannelWebhook, Type: typ, Body: body, CreatedAt: d.At,
	})
	return err
}

// failure counts a dead-lettered delivery in its skill's sync_failed
// incident, and alerts Slack when that opened one.
func (n *Notifier) failure(ctx context.Context, tx synclayer.NotificationTx, open map[incidentKey]*synclayer.Incident, d *synclayer.Delivery) error {
	inc, opened, err := n.incident(ctx, tx, open, d.Skill, d.At)
	if err != nil {
		return err
	}
	inc.Failures++
	if err := tx.SaveIncident(ctx, inc); err != nil {
		return err
	}
	if opened && n.cfg.Slack {
		return n.alert(ctx, tx, inc, failureText(d, n.cfg.Owner(d.Skill), n.cfg.QuietPeriod))
	}
	return nil
}

// incident returns skill's open sync_failed incident with the failure at
// at counted in its LastAt, not in Failures. When none is open, or the
// open one has been quiet for QuietPeriod (it is closed then), it opens
// one and reports opened.
func (n *Notifier) incident(ctx context.Context, tx synclayer.NotificationTx, open map[incidentKey]*synclayer.Incident, skill string, at time.Time) (inc *synclayer.Incident, opened bool, err error) {
	key := incidentKey{skill, synclayer.NotifySyncFailed}
	if inc := open[key]; inc != nil {
		if at.Sub(inc.LastAt) <= n.cfg.QuietPeriod {
			inc.LastAt = maxTime(inc.LastAt, at)
			return inc, false, nil
		}
		if err := n.close(ctx, tx, inc, inc.LastAt.Add(n.cfg.QuietPeriod)); err != nil {
			return nil, false, err
		}
	}
	inc = &synclayer.Incident{Skill: skill, Kind: synclayer.NotifySyncFailed, OpenedAt: at, LastAt: at}
	if err := tx.SaveIncident(ctx, inc); err != nil {
		return nil, false, err
	}
	open[key] = inc
	return inc, true, nil
}

// close closes inc at at, and adds its recovered notifications: Slack's,
// and the webhook's when events includes recovered. Their IDs are the
// incident's, so closing it twice sends them once.
func (n *Notifier) close(ctx context.Context, tx synclayer.NotificationTx, inc *synclayer.Incident, at time.Time) error {
	inc.ClosedAt = at
	if err := tx.SaveIncident(ctx, inc); err != nil {
		return err
	}
	if n.cfg.Slack {
		if _, err := tx.AddNotification(ctx, &synclayer.Notification{ID: fmt.Sprintf("slack_recovered_%d", inc.ID), Channel: synclayer.ChannelSlack,
			Type: synclayer.NotifyRecovered, Body: recoveredText(inc, n.cfg.Owner(inc.Skill)), CreatedAt: at}); err != nil {
			return err
		}
	}
	if !slices.Contains(n.cfg.Events, synclayer.NotifyRecovered) {
		return nil
	}
	body, err := json.Marshal(struct {
		Type      synclayer.NotificationType `json:"type"`
		Timestamp time.Time                  `json:"timestamp"`
		Data      RecoveredData              `json:"data"`
	}{synclayer.NotifyRecovered, at.UTC(), RecoveredData{Skill: inc.Skill, Incident: inc.Kind, IncidentID: inc.ID,
		OpenedAt: inc.OpenedAt.UTC(), LastFailureAt: inc.LastAt.UTC(), ClosedAt: at.UTC(),
		DurationSeconds: int64(lasted(inc) / time.Second), Failures: inc.Failures}})
	if err != nil {
		return err
	}
	_, err = tx.AddNotification(ctx, &synclayer.Notification{ID: fmt.Sprintf("msg_recovered_i%d", inc.ID), Channel: synclayer.ChannelWebhook,
		Type: synclayer.NotifyRecovered, Body: body, CreatedAt: at})
	return err
}

// alert adds the incident's one Slack message; its ID is the incident's.
func (n *Notifier) alert(ctx context.Context, tx synclayer.NotificationTx, inc *synclayer.Incident, body json.RawMessage) error {
	_, err := tx.AddNotification(ctx, &synclayer.Notification{
		ID: fmt.Sprintf("slack_%s_%d", inc.Kind, inc.ID), Channel: synclayer.ChannelSlack, Type: inc.Kind, Body: body, CreatedAt: inc.OpenedAt,
	})
	return err
}

// Evaluate closes sync_failed incidents that have been quiet for
// QuietPeriod, and opens or closes error_rate incidents from the current
// window's counts.
func (n *Notifier) Evaluate(ctx context.Context) error {
	now := n.cfg.Now()
	var counts map[string]map[synclayer.DeliveryOutcome]int
	if n.cfg.ErrorRateThreshold > 0 {
		var err error
		if counts, err = n.cfg.Store.CountDeliveries(ctx, now.Add(-n.cfg.ErrorRateWindow)); err != nil {
			return err
		}
		delete(counts, synclayer.NotifySkill) // notifications are not what the alert is about
	}
	// Source health moves in minutes: it is read at most once a minute,
	// not on every poll.
	var act map[string]synclayer.SourceActivity
	if (n.cfg.SilenceAfter > 0 || n.cfg.RefusedThreshold > 0) && len(n.cfg.Sources) > 0 &&
		(n.sourcesAt.IsZero() || now.Sub(n.sourcesAt) >= time.Minute) {
		n.sourcesAt = now
		var err error
		if act, err = n.cfg.Store.SourceActivity(ctx, n.cfg.Sources, now.Add(-n.cfg.RefusedWindow)); err != nil {
			return err
		}
		n.askChanges(ctx, act, now)
	}
	return n.cfg.Store.NotificationTx(ctx, func(tx synclayer.NotificationTx) error {
		open, err := openIncidents(ctx, tx)
		if err != nil {
			return err
		}
		if act != nil {
			if err := n.evaluateSources(ctx, tx, open, act, now); err != nil {
				return err
			}
		}
		for key, inc := range open {
			if key.kind == synclayer.NotifySyncFailed && now.Sub(inc.LastAt) > n.cfg.QuietPeriod {
				if err := n.close(ctx, tx, inc, inc.LastAt.Add(n.cfg.QuietPeriod)); err != nil {
					return err
				}
			}
		}
		if n.cfg.ErrorRateThreshold <= 0 {
			return nil
		}
		skills := map[string]bool{}
		for sk := range counts {
			skills[sk] = true
		}
		for key := range open {
			if key.kind == synclayer.NotifyErrorRate {
				skills[key.skill] = true
			}
		}
		for sk := range skills {
			if err := n.rate(ctx, tx, open[incidentKey{sk, synclayer.NotifyErrorRate}], sk, counts[sk], now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (n *Notifier) rate(ctx context.Context, tx synclayer.NotificationTx, inc *synclayer.Incident, skill string, c map[synclayer.DeliveryOutcome]int, now time.Time) error {
	failed := c[synclayer.DeliveryRetried] + c[synclayer.DeliveryDead]
	attempts := failed + c[synclayer.DeliveryDelivered]
	over := attempts >= n.cfg.MinAttempts && float64(failed)/float64(attempts) >= n.cfg.ErrorRateThreshold
	switch {
	case over && inc == nil:
		inc = &synclayer.Incident{Skill: skill, Kind: synclayer.NotifyErrorRate, OpenedAt: now, LastAt: now, Failures: failed}
		if err := tx.SaveIncident(ctx, inc); err != nil {
			return err
		}
		return n.alert(ctx, tx, inc, rateText(skill, n.cfg.Owner(skill), failed, attempts, n.cfg.ErrorRateThreshold, n.cfg.ErrorRateWindow))
	case over:
		inc.LastAt, inc.Failures = now, max(inc.Failures, failed)
		return tx.SaveIncident(ctx, inc)
	case inc != nil:
		return n.close(ctx, tx, inc, now)
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
