package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/destination/slack"
	"synclayer/destination/webhook"
	"synclayer/notify"
	"synclayer/queue"
	"synclayer/skill"
)

// startNotifications wires notifications: the store marks customer-sync's
// delivery outcomes, the notifier turns them into notifications and
// incidents, and a queue worker of skill notify delivers them. It runs
// before the skills start, so no outcome goes unmarked.
// channels are the senders workflow rules' slack and webhook actions post
// through: the same clients as the notifications'.
var channels = synclayer.Channels{
	Slack: func(url string) synclayer.NotificationSender { return &slack.Client{URL: url} },
	Webhook: func(url, secret string) (synclayer.NotificationSender, error) {
		return webhook.New(webhook.Config{URL: url, Secret: secret})
	},
}

func (m *Main) startNotifications() error {
	m.startRollUps()
	n := m.Config.Notifications
	if !n.enabled() {
		return nil
	}
	senders := map[synclayer.NotificationChannel]synclayer.NotificationSender{}
	var events []synclayer.NotificationType
	if n.WebhookURL != "" {
		c, err := webhook.New(webhook.Config{URL: n.WebhookURL, Secret: n.Secret})
		if err != nil {
			return fmt.Errorf("notifications.secret: %w", err)
		}
		senders[synclayer.ChannelWebhook] = c
		for _, e := range n.Events {
			events = append(events, synclayer.NotificationType(e))
		}
	}
	if n.SlackWebhookURL != "" {
		senders[synclayer.ChannelSlack] = &slack.Client{URL: n.SlackWebhookURL}
	}
	var reports []synclayer.ReportPeriod
	for _, r := range n.Reports {
		reports = append(reports, reportPeriods[r])
	}
	m.DB.MarkDeliveries(m.contactQueues()...)
	m.DB.MarkFailedEvents()
	m.notifier = notify.New(notify.Config{
		Store: m.DB, Events: events, Webhook: n.WebhookURL != "", Slack: n.SlackWebhookURL != "",
		ErrorRateThreshold: n.ErrorRateThreshold, ErrorRateWindow: n.ErrorRateWindow, QuietPeriod: n.QuietPeriod,
		Owner: m.skills.owner, IngestSkill: m.ingestSkill, Reports: reports, Figures: m.DB, Sources: m.sourceNames(),
		SilenceAfter: cmp.Or(n.SilenceAfter, 6*time.Hour), RefusedThreshold: refusedThreshold(n.RefusedThreshold),
		Changes: m.sourceChanges, Poll: m.NotifyPoll, Logger: m.Logger.With("component", "notify"),
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.notifier.Run(ctx) }()
	m.startWorker(synclayer.NotifySkill, &notify.Handler{Store: m.DB, Senders: senders}, func(c *queue.Config) { c.NoTrace = true })
	return nil
}

// sourceChanges counts, for a source that lists through its API, the
// records changed since since (notify.Config.Changes): each kind it lists
// is asked in turn, a few pages at most, until one shows a change. The
// count is a floor (the first pages), enough to tell a quiet store from
// one whose webhooks stopped. known is false for a source without API
// access.
func (m *Main) sourceChanges(ctx context.Context, name string, since time.Time) (changed int, known bool, err error) {
	l, ok := m.sources[name].(synclayer.Lister)
	if !ok || len(l.ListKinds()) == 0 {
		return 0, false, nil
	}
	for _, kind := range l.ListKinds() {
		if kind == synclayer.ListCarts {
			// No platform sends a cart webhook that a listing stands in
			// for (Magento's carts are only polled), so a changed cart says
			// nothing about lost webhooks; and an integration without the
			// Carts resource would make the question fail.
			continue
		}
		req := synclayer.ListRequest{Kind: kind, Since: since}
		// A few pages: a platform that filters one kind on its side
		// lists only changes; one that cannot (WooCommerce's customers)
		// may return empty pages before a changed record.
		for range 3 {
			page, err := l.List(ctx, req)
			if err != nil {
				return 0, false, err
			}
			if n := len(page.Events); n > 0 {
				if page.Total > n {
					n = page.Total
				}
				return n, true, nil
			}
			if !page.More {
				break
			}
			req = synclayer.ListRequest{Kind: kind, Cursor: page.Next}
		}
	}
	return 0, true, nil
}

// owner is the owner named for a skill in alerts.
func (r *skillRuntime) owner(name string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if q, _, _ := strings.Cut(name, "@"); q == skill.CustomerSyncName && r.cfg != nil {
		return r.cfg.Owner
	}
	return ""
}

// contactQueues are customer-sync's queues on every destination it runs on.
func (m *Main) contactQueues() []string {
	return slices.Sorted(maps.Keys(m.contactQueueDestinations()))
}

// ingestSkill is the customer-sync queue an event of source failed at
// ingest counts against: the first, by name, that takes source's contacts.
func (m *Main) ingestSkill(source string) (string, string) {
	cs := m.Config.Skills.CustomerSync
	if cs == nil || !cs.Enabled || len(cs.Source) > 0 && !slices.Contains(cs.Source, source) {
		return "", ""
	}
	qs := m.contactQueueDestinations()
	for _, q := range slices.Sorted(maps.Keys(qs)) {
		return q, qs[q]
	}
	return "", ""
}

// sourceNames are the configured sources, whose silence the health report shows.
func (m *Main) sourceNames() []string { return slices.Sorted(maps.Keys(m.Config.Sources)) }

// healthReport is the dashboard's report: the period of p holding now, or
// the one before it when prev.
func (m *Main) healthReport(ctx context.Context, p synclayer.ReportPeriod, prev bool) (*synclayer.HealthReport, error) {
	now := time.Now()
	start := notify.PeriodStart(p, now)
	if prev {
		start = notify.PeriodStart(p, start.Add(-time.Nanosecond))
	}
	return notify.BuildReport(ctx, m.DB, p, start, now, m.sourceNames())
}

// startRollUps rolls up each closed day's delivery attempts hourly, so a
// monthly health report outlives the 8 days attempts are kept.
func (m *Main) startRollUps() {
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if err := m.DB.RollUpDeliveries(ctx, time.Now()); err != nil && ctx.Err() == nil {
				m.Logger.Warn("roll up delivery figures; will retry", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// refusedThreshold is notifications.refused_threshold: 0 is the default 5,
// -1 off.
func refusedThreshold(n int) int {
	switch {
	case n == 0:
		return 5
	case n < 0:
		return 0
	}
	return n
}
