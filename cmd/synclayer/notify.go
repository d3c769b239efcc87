package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

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
func (m *Main) startNotifications() error {
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
	m.DB.MarkDeliveries(m.contactQueues()...)
	m.notifier = notify.New(notify.Config{
		Store: m.DB, Events: events, Slack: n.SlackWebhookURL != "",
		ErrorRateThreshold: n.ErrorRateThreshold, ErrorRateWindow: n.ErrorRateWindow, QuietPeriod: n.QuietPeriod,
		Owner: m.skills.owner, Poll: m.NotifyPoll, Logger: m.Logger.With("component", "notify"),
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.notifier.Run(ctx) }()
	m.startWorker(synclayer.NotifySkill, &notify.Handler{Store: m.DB, Senders: senders}, func(c *queue.Config) { c.NoTrace = true })
	return nil
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
